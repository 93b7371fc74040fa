#!/usr/bin/env bash
# An image registry for the kubernetes backend's push test (tests/backends/test_kubernetes_push.py):
# Debian's docker-registry (the CNCF distribution registry) and openssl for its throw-away TLS
# certificate. The test starts its own registry on 127.0.0.1 and stops it by PID; this script only
# installs the two packages. Idempotent: nothing happens when both are there. Needs root.
set -euo pipefail

missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "registry.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi
