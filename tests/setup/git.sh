#!/usr/bin/env bash
# The source tests need git with `git daemon` and `git http-backend` (Debian's `git` package has
# both). Idempotent: does nothing when they are already there.
set -euo pipefail
if git --version >/dev/null 2>&1 \
    && [ -x "$(git --exec-path)/git-daemon" ] && [ -x "$(git --exec-path)/git-http-backend" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "tests/setup/git.sh: git (with git-daemon and git-http-backend) is missing; install it" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq git >/dev/null
