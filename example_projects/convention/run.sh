#!/usr/bin/env bash
# A shell entry point found by convention: `mlproj run example_projects/convention -e run.sh -P greeting=hi`.
set -euo pipefail
while [ $# -gt 0 ]; do
  case "$1" in
    --greeting) greeting="$2"; shift 2 ;;
    *) shift ;;
  esac
done
echo "${greeting:-hello} from $(basename "$PWD")"
