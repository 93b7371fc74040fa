#!/usr/bin/env bash
# The core tests on the oldest and the newest Python mlproj supports (pyproject.toml says
# >= 3.10), each in a virtualenv of its own beside the main run's 3.11: the CLI, the MLproject
# model, sources, the tracking store and runs of the local environment manager. Docker,
# conda/virtualenv builds and the cluster backends run once, in the main run (tests/run.sh).
# Python 3.12 and later changed what dataclasses reads and how deep recursion goes: both were
# caught here. The machine image has pyenv's 3.10 and 3.13 (see tests/setup/pythons.sh); where
# one is missing this says so and, in CI (CI=true), fails.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

venvs="${XDG_CACHE_HOME:-$HOME/.cache}/mlproj-tests"
status=0
for minor in 3.10 3.13; do
    python=$(python3 - "$minor" <<'PY'
import sys

from mlproj.envs.interpreters import find_interpreter
from mlproj.envs.tools import find_uv
from mlproj.envs.versions import parse_python_request
from mlproj.errors import EnvError

minor = sys.argv[1]
try:
    print(find_interpreter(parse_python_request(minor), where=minor, uv=find_uv()).path)
except EnvError:
    pass
PY
)
    if [ -z "$python" ]; then
        echo "tests/compat.sh: WARNING: no Python $minor here (pyenv versions, python$minor on PATH, uv's Pythons); its tests did not run" >&2
        if [ "${CI:-}" = true ]; then status=1; fi
        continue
    fi
    venv="$venvs/venv-$minor"
    echo "== pytest on Python $minor ($python), core tests"
    # uv makes the virtualenv in ~1 s and installs from its cache; an up-to-date one is reused.
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m uv venv --quiet --python "$python" "$venv"
    fi
    python3 -m uv pip install --quiet --python "$venv/bin/python" -e . pytest pytest-xdist jsonschema
    PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -n 2 -p no:cacheprovider \
        --ignore=tests/docker --ignore=tests/envs --ignore=tests/backends "$@" tests || status=1
done
exit "$status"
