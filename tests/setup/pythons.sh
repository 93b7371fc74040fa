#!/usr/bin/env bash
# tests/envs/test_env_pythons.py builds an environment with a second Python version (3.12, else
# 3.13, else 3.10), one already on the machine: the project's machine image has pyenv's 3.10.13,
# 3.12.1 and 3.13.0 beside 3.11.7. Nothing can provide one here: CI reaches only PyPI, Debian
# (bookworm packages Python 3.11 alone) and npm, and `pyenv install` / `uv python install`
# download from elsewhere. So this only checks (in well under a second) and says what is missing; the tests
# then fail in CI (CI=true) with the same message.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import sys

from mlproj.envs.interpreters import find_interpreter
from mlproj.envs.tools import find_uv
from mlproj.envs.versions import parse_python_request
from mlproj.errors import EnvError

own = f"{sys.version_info[0]}.{sys.version_info[1]}"
for minor in ("3.12", "3.13", "3.10"):
    if minor == own:
        continue
    try:
        found = find_interpreter(parse_python_request(minor), where=minor, uv=find_uv())
    except EnvError:
        continue
    print(f"tests/setup/pythons.sh: second Python for the tests: {found.version_text} ({found.path})")
    break
else:
    print(
        "tests/setup/pythons.sh: WARNING: no Python 3.12, 3.13 or 3.10 besides " + own
        + " (pyenv versions, pythonX.Y on PATH, uv's Pythons); tests/envs/test_env_pythons.py "
        "will fail in CI: install one (e.g. `pyenv install 3.12`) where downloads are possible",
        file=sys.stderr,
    )
PY
