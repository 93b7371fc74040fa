#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): on a fresh Debian machine it installs what the
# whole suite needs, checks lint and types, then runs every test, slow ones included, and the
# core tests again on Python 3.10 and 3.13 (tests/compat.sh).
# Extra arguments go to pytest (e.g. `bash tests/run.sh -k store`).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'
bash tests/setup/git.sh
bash tests/setup/pythons.sh

# Docker tests: Podman serving the Docker API, and the base images (built once, then cached).
if [ "$(id -u)" = 0 ]; then
    bash tests/setup/podman.sh
    bash tests/setup/registry.sh  # the kubernetes backend's image push test
    # Slurm tests: a one-node cluster; daemons this run starts are stopped by PID at the end.
    if ! bash tests/setup/slurm.sh status; then
        trap 'bash tests/setup/slurm.sh stop' EXIT
    fi
    bash tests/setup/slurm.sh
fi
export DOCKER_HOST="${DOCKER_HOST:-unix:///run/mlproj-podman.sock}"

echo "== ruff"
python3 -m ruff check mlproj tests benchmarks example_projects
echo "== mypy --strict"
python3 -m mypy
echo "== pytest"
python3 -m pytest -n 2 "$@"
# The core tests again on Python 3.10 and 3.13, the oldest and newest supported.
bash tests/compat.sh "$@"
