"""virtualenv and uv environments for real: PyPI (six), a local package, reuse, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from tests.cli.test_run import RUN_SCHEMA
from tests.conftest import EXAMPLES
from tests.envs.conftest import cache_entries, run_json

LOCAL = EXAMPLES / "local_package"
pytestmark = pytest.mark.slow


def newest(mlproj) -> dict:
    runs = mlproj("runs", "list", "--json").json()
    return runs[0]


@pytest.mark.parametrize(
    ("manager", "no_uv", "tool"),
    [("virtualenv", "", "uv"), ("virtualenv", "1", "pip"), ("uv", "", "uv")],
)
def test_local_package_example_builds_then_reuses(mlproj, cache, manager, no_uv, tool):
    env = {"MLPROJ_NO_UV": no_uv}
    first = mlproj("run", str(LOCAL), "--env-manager", manager, "-P", "name=CI", timeout=600, **env)
    assert first.returncode == 0, first.stderr
    assert "Hello, CI, from greetlib" in first.stdout
    assert "six 1." in first.stdout
    assert str(cache) in first.stdout  # the interpreter is the cached environment's
    assert f"installing with {tool}" in first.stderr
    run = newest(mlproj)
    jsonschema.validate(run, RUN_SCHEMA)
    assert run["env"]["manager"] == manager
    details = run["env"]["details"]
    assert (details["tool"], details["created"]) == (tool, "true")
    assert details["python"] == ".".join(map(str, sys.version_info[:3]))
    shown = mlproj("runs", "show", run["run_id"]).stdout
    assert "greetlib" in shown
    assert "six==" in shown
    assert "pip==" in shown  # build_dependencies; recorded whichever tool installed it

    second = mlproj("run", str(LOCAL), "--env-manager", manager, timeout=300, **env)
    assert second.returncode == 0, second.stderr
    assert "building" not in second.stderr
    again = newest(mlproj)
    assert again["env"]["key"] == run["env"]["key"]
    assert again["env"]["details"]["created"] == "false"
    assert again["env"]["details"]["installed_sha256"] == details["installed_sha256"]
    assert len(cache_entries(cache)) == 1

    listed = mlproj("envs", "list", "--json").json()
    assert [e["key"] for e in listed] == [run["env"]["key"]]
    assert listed[0]["projects"] == [str(LOCAL)]
    assert listed[0]["tool"] == tool


def test_run_folder_keeps_build_log_and_installed_set(mlproj, store_dir):
    result = mlproj("run", str(LOCAL), "--env-manager", "uv", timeout=600)
    assert result.returncode == 0, result.stderr
    run_dir = store_dir / "runs" / newest(mlproj)["run_id"]
    assert "greetlib" in (run_dir / "env-build.log").read_text()
    installed = (run_dir / "installed.txt").read_text().splitlines()
    assert any(line.startswith("six==") for line in installed)


ENV_PROBE = (
    "import json, os, sys; print(json.dumps({'exe': sys.executable, 'prefix': sys.prefix, "
    "'venv': os.environ.get('VIRTUAL_ENV'), 'path0': os.environ['PATH'].split(':')[0], "
    "'artifacts': os.environ.get('MLPROJ_ARTIFACT_DIR')}))"
)


def test_entry_points_run_inside_the_environment(mlproj, write_project, cache):
    project = write_project(
        {
            "python_env.yaml": "dependencies: []\n",
            "probe.py": ENV_PROBE.replace("; ", "\n"),
        }
    )
    result = mlproj("run", str(project), "-e", "probe.py", "--env-manager", "uv")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    prefix = str(cache_entries(cache)[0] / "env")
    assert seen["venv"] == seen["prefix"] == prefix
    assert seen["exe"] == f"{prefix}/bin/python"
    assert seen["path0"] == f"{prefix}/bin"
    assert not (cache_entries(cache)[0] / "env" / "bin" / "pip").exists()  # as `uv venv`
    run = newest(mlproj)
    assert seen["artifacts"] == run["artifact_uri"]


def test_conda_yaml_under_virtualenv_names_what_it_drops(mlproj, write_project):
    version = ".".join(map(str, sys.version_info[:2]))
    project = write_project(
        {
            "conda.yaml": (
                f"channels: [conda-forge]\ndependencies:\n  - python={version}\n  - numpy\n"
                "  - r-base>=4\n  - pip\n  - pip:\n    - six\n"
            ),
            "check.py": "import six\nprint('six', six.__version__)\n",
        }
    )
    result = mlproj("run", str(project), "-e", "check.py", "--env-manager", "virtualenv")
    assert result.returncode == 0, result.stderr
    assert "six 1." in result.stdout
    assert "warning: conda.yaml: conda packages numpy, r-base>=4 are not installed" in result.stderr
    again = mlproj("run", str(project), "-e", "check.py", "--env-manager", "virtualenv")
    assert "numpy, r-base>=4" in again.stderr  # said on every run, not only when building


def assert_env_failure(mlproj, cache, result, *needles) -> dict:
    assert result.returncode == 115, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if "mlproj: error:" in line]
    assert len(error_lines) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr
    assert "Traceback" not in result.stderr
    run = newest(mlproj)
    assert (run["status"], run["exit_code"]) == ("FAILED", 115)
    assert run["tags"]["mlproj.failure"]
    assert cache_entries(cache) == []  # nothing half-built stays in the cache
    return run


def test_unknown_python_version(mlproj, write_project, cache):
    project = write_project({"python_env.yaml": "python: '2.1'\n", "main.py": ""})
    result = mlproj("run", str(project), "-e", "main.py")
    assert_env_failure(mlproj, cache, result, "python_env.yaml: python: no Python matching '2.1'")


def test_unresolvable_requirement_shows_the_tools_output(mlproj, write_project, cache, store_dir):
    project = write_project(
        {"python_env.yaml": "dependencies: [mlproj-no-such-package-xyz==1.0]\n", "main.py": ""}
    )
    for no_uv in ("", "1"):
        result = mlproj("run", str(project), "-e", "main.py", MLPROJ_NO_UV=no_uv, timeout=300)
        run = assert_env_failure(
            mlproj,
            cache,
            result,
            "python_env.yaml: installing dependencies failed",
            "mlproj-no-such-package-xyz",
        )
        log = (store_dir / "runs" / run["run_id"] / "env-build.log").read_text()
        assert "mlproj-no-such-package-xyz" in log


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ({"python_env.yaml": "dependencies: six\n"}, "python_env.yaml"),
        ({"python_env.yaml": "python: [3]\n"}, "python"),
        ({"python_env.yaml": "dependencies: [-r missing.txt]\n"}, "missing.txt"),
        ({"python_env.yaml": "python: 'three'\n"}, "'three' is not a version request"),
        ({"conda.yaml": "dependencies: {a: 1}\n"}, "conda.yaml"),
        ({"conda.yaml": "channels: [x]\ndependencies: [[1]]\n"}, "conda.yaml"),
    ],
)
def test_malformed_env_files_fail_before_any_run(mlproj, write_project, cache, files, needle):
    project = write_project({**files, "main.py": ""})
    result = mlproj("run", str(project), "-e", "main.py", "--env-manager", "virtualenv")
    assert result.returncode == 113, result.stderr
    assert needle in result.stderr
    assert mlproj("runs", "list", "--json").json() == []
    assert cache_entries(cache) == []


def test_docker_project_under_a_python_manager_is_refused(mlproj, write_project):
    project = write_project(
        {"MLproject": "docker_env: {image: busybox}\nentry_points: {main: {command: ls}}\n"}
    )
    result = mlproj("run", str(project), "--env-manager", "uv")
    assert result.returncode == 115
    assert "docker_env" in result.stderr
    assert mlproj("runs", "list", "--json").json() == []


def test_uv_manager_with_uv_disabled_is_refused(mlproj):
    result = mlproj("run", str(LOCAL), "--env-manager", "uv", MLPROJ_NO_UV="1")
    assert result.returncode == 115
    assert "MLPROJ_NO_UV" in result.stderr


def test_editing_requirements_builds_a_new_environment(mlproj, write_project, cache):
    project = write_project({"python_env.yaml": "dependencies: [-r req.txt]\n", "req.txt": "six\n"})
    (project / "main.py").write_text("import six\n")
    assert mlproj("run", str(project), "-e", "main.py", "--env-manager", "uv").returncode == 0
    (project / "req.txt").write_text("six\nmlproj-no-such-package-xyz\n")
    broken = mlproj("run", str(project), "-e", "main.py", "--env-manager", "uv")
    assert broken.returncode == 115
    assert len(cache_entries(cache)) == 1  # the good one is kept, the failed one left nothing
    assert run_json(mlproj, newest(mlproj)["run_id"])["status"] == "FAILED"


def test_project_without_env_file_installs_its_requirements_txt(mlproj, write_project, cache):
    project = write_project(
        {"requirements.txt": "six\n", "t.py": "import six\nprint('six', six.__version__)\n"}
    )
    result = mlproj("run", str(project), "-e", "t.py", "--env-manager", "virtualenv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("six 1.")
    (project / "requirements.txt").write_text("six>=1.0\n")
    assert mlproj("run", str(project), "-e", "t.py", "--env-manager", "virtualenv").returncode == 0
    assert len(cache_entries(cache)) == 2  # the edited requirements.txt decided a new env


def test_installing_into_a_cached_env_is_seen_by_the_next_run(mlproj, write_project, cache):
    from mlproj.envs.tools import find_uv

    project = write_project({"python_env.yaml": "dependencies: [six]\n", "main.py": ""})
    assert mlproj("run", str(project), "-e", "main.py", "--env-manager", "uv").returncode == 0
    before = newest(mlproj)["env"]["details"]
    python = cache_entries(cache)[0] / "env" / "bin" / "python"
    greetlib = str(LOCAL / "greetlib")
    subprocess.run([find_uv(), "pip", "install", "--python", str(python), greetlib], check=True)
    assert mlproj("run", str(project), "-e", "main.py", "--env-manager", "uv").returncode == 0
    after = newest(mlproj)
    assert after["env"]["details"]["created"] == "false"
    assert after["env"]["details"]["installed_sha256"] != before["installed_sha256"]
    assert "greetlib" in mlproj("runs", "show", after["run_id"]).stdout
