"""A python_env project that asks for another Python version than mlproj's own, end to end.

The interpreter is one already on the machine (CI's image has pyenv's 3.10, 3.12 and 3.13 beside
3.11: tests/setup/pythons.sh says which one these tests use); nothing is downloaded. Locally, the
tests are skipped when the machine has no second version; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from mlproj.envs.interpreters import Interpreter, find_interpreter
from mlproj.envs.tools import find_uv
from mlproj.envs.versions import parse_python_request
from mlproj.errors import EnvError
from tests.envs.conftest import cache_entries
from tests.envs.test_env_virtualenv import assert_env_failure, newest

pytestmark = pytest.mark.slow

#: Preferred second versions, in order (the first one found on the machine is used).
OTHER_MINORS = ("3.12", "3.13", "3.10")
PROBE = (
    "import json, sys\n"
    "print(json.dumps({'version': list(sys.version_info[:3]), 'exe': sys.executable}))\n"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def other_python() -> tuple[str, Interpreter]:
    """(the request, e.g. "3.12", and the interpreter mlproj finds for it) of another minor."""
    own = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for minor in (m for m in OTHER_MINORS if m != own):
        try:
            return minor, find_interpreter(parse_python_request(minor), where="t", uv=find_uv())
        except EnvError:
            continue
    message = (
        f"no Python {', '.join(OTHER_MINORS)} on this machine besides {own} (pyenv versions, "
        "pythonX.Y on PATH, uv's Pythons); install one, e.g. `pyenv install 3.12`"
    )
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def project_asking_for(write_project, version: str, name: str):
    return write_project(
        {
            "python_env.yaml": f'python: "{version}"\ndependencies: [six]\n',
            "MLproject": (
                "python_env: python_env.yaml\nentry_points:\n  main:\n"
                "    command: python probe.py\n"
            ),
            "probe.py": f"import six\n{PROBE}",
        },
        name=name,
    )


@pytest.mark.parametrize(
    ("manager", "no_uv", "tool"),
    [("virtualenv", "", "uv"), ("virtualenv", "1", "pip"), ("uv", "", "uv")],
)
def test_another_python_version_builds_and_runs_with_it(
    mlproj, write_project, cache, manager, no_uv, tool
):
    minor, interpreter = other_python()
    project = project_asking_for(write_project, minor, "other")
    result = mlproj("run", str(project), "--env-manager", manager, timeout=600, MLPROJ_NO_UV=no_uv)
    assert result.returncode == 0, result.stderr
    probed = json.loads(result.stdout.strip().splitlines()[-1])
    assert probed["version"] == list(interpreter.version)  # the entry point ran under it
    assert probed["exe"].startswith(str(cache))  # inside the cached environment
    assert f"with Python {interpreter.version_text} ({interpreter.path})" in result.stderr
    assert f"installing with {tool}" in result.stderr
    other = newest(mlproj)
    assert other["env"]["details"]["python"] == interpreter.version_text
    if manager == "virtualenv":  # the environment's pip is the other Python's too
        shown = mlproj("runs", "show", other["run_id"]).stdout
        assert "pip==" in shown

    own = f"{sys.version_info[0]}.{sys.version_info[1]}"
    same = project_asking_for(write_project, own, "own")
    again = mlproj("run", str(same), "--env-manager", manager, timeout=600, MLPROJ_NO_UV=no_uv)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["version"][:2] == list(
        sys.version_info[:2]
    )
    mine = newest(mlproj)
    assert mine["env"]["key"] != other["env"]["key"]
    assert len(cache_entries(cache)) == 2


def test_a_version_not_on_the_machine_names_what_was_searched(mlproj, write_project, cache):
    project = project_asking_for(write_project, "3.99", "missing")
    result = mlproj("run", str(project))
    run = assert_env_failure(
        mlproj,
        cache,
        result,
        "python_env.yaml: python: no Python matching '3.99' on this machine",
        "searched: mlproj's own",
        "PATH:",
        "pyenv:",
        "uv:",
        "uv python install 3.99",
    )
    assert "3.99" in run["tags"]["mlproj.failure"]
