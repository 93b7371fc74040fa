#!/usr/bin/env bash
# Summarise the data file with standard tools (a shell entry point with a pipe in its template).
set -euo pipefail
data="$1"
echo "file: $data"
echo "rows: $(($(wc -l < "$data") - 1))"
echo "columns: $(head -n 1 "$data")"
