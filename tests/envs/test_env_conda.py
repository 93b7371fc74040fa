"""conda environments for real, with py-rattler and local channels the tests build."""

from __future__ import annotations

import filecmp
import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.envs.condachannel import build_channel, example_packages
from tests.envs.conftest import cache_entries

GREETING = EXAMPLES / "conda_greeting"
pytestmark = pytest.mark.slow


def newest(mlproj) -> dict:
    return mlproj("runs", "list", "--json").json()[0]


def test_conda_example_runs_with_py_rattler(mlproj, cache, store_dir):
    result = mlproj("run", str(GREETING), "-P", "name=CI")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, CI! (mlproj-greeting 1.0)\n"  # conda's pin, not 2.0
    assert "with py-rattler" in result.stderr
    run = newest(mlproj)
    assert run["env"]["manager"] == "conda"  # the default for a conda_env project
    assert run["env"]["details"]["tool"] == "py-rattler"
    assert run["env"]["details"]["installed"] == "2"
    installed = (store_dir / "runs" / run["run_id"] / "installed.txt").read_text().splitlines()
    assert installed[0] == "@EXPLICIT"
    assert any("mlproj-greeting-1.0-0.tar.bz2#" in line for line in installed)
    assert "mlproj-words-1.0-0.tar.bz2" in mlproj("runs", "show", run["run_id"]).stdout
    again = mlproj("run", str(GREETING))
    assert again.returncode == 0, again.stderr
    assert newest(mlproj)["env"]["details"]["created"] == "false"
    assert len(cache_entries(cache)) == 1


def test_the_shipped_example_channel_is_what_the_builder_makes(tmp_path):
    rebuilt = build_channel(tmp_path / "channel", example_packages())
    for sub in ("noarch", "linux-64"):
        names = sorted(p.name for p in (GREETING / "channel" / sub).iterdir())
        assert names == sorted(p.name for p in (rebuilt / sub).iterdir())
        for name in names:
            assert filecmp.cmp(GREETING / "channel" / sub / name, rebuilt / sub / name, False)


CONDA_PROBE = (
    "import json, os, sys, six; print(json.dumps({'prefix': sys.prefix, "
    "'conda': os.environ['CONDA_PREFIX'], 'six': six.__version__}))"
)


def test_pip_section_installs_into_the_conda_prefix(
    mlproj, write_project, channel, cache, store_dir
):
    project = write_project(
        {
            "conda.yaml": (
                f"channels: ['{channel.as_uri()}']\ndependencies:\n  - python\n"
                "  - mlproj-greeting\n  - pip:\n    - six\n"
            ),
            "probe.py": CONDA_PROBE.replace("; ", "\n"),
        }
    )
    result = mlproj("run", str(project), "-e", "probe.py", timeout=300)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    prefix = str(cache_entries(cache)[0] / "env")
    assert seen["prefix"] == seen["conda"] == prefix
    assert seen["six"].startswith("1.")
    run = newest(mlproj)
    installed = (store_dir / "runs" / run["run_id"] / "installed.txt").read_text()
    assert "mlproj-greeting-2.0-0.tar.bz2" in installed  # the newest without a pin
    assert "# pip\n" in installed
    assert "six==" in installed

    # Without uv, the environment's own pip installs the section, as conda does: it needs pip.
    conda_yaml = (project / "conda.yaml").read_text().replace("- six", "- six>=1.0")
    (project / "conda.yaml").write_text(conda_yaml)
    no_uv = mlproj("run", str(project), "-e", "probe.py", MLPROJ_NO_UV="1")
    assert no_uv.returncode == 115
    assert "the pip: section needs pip in the environment" in no_uv.stderr
    assert len(cache_entries(cache)) == 1  # the uv-built one; the failed build left nothing


def assert_env_failure(mlproj, cache, result, *needles) -> None:
    assert result.returncode == 115, result.stderr
    assert len([x for x in result.stderr.splitlines() if "mlproj: error:" in x]) == 1
    for needle in needles:
        assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert cache_entries(cache) == []


@pytest.mark.parametrize(
    ("channels", "needles"),
    [
        ("['file:///nonexistent/mlproj-channel']", ["no such folder /nonexistent/mlproj-channel"]),
        ("[./missing-channel]", ["'./missing-channel'", "no such folder"]),
        ("[mlproj-no-such-channel]", ["conda solve failed", "mlproj-no-such-channel"]),
    ],
)
def test_unreachable_channels(mlproj, write_project, cache, channels, needles):
    project = write_project({"conda.yaml": f"channels: {channels}\ndependencies: [x]\n"})
    (project / "main.sh").write_text("echo hi\n")
    result = mlproj("run", str(project), "-e", "main.sh", timeout=300)
    assert_env_failure(mlproj, cache, result, "error: conda.yaml: ", *needles)


def test_unsolvable_spec_names_the_package(mlproj, write_project, cache, channel):
    project = write_project(
        {"conda.yaml": f"channels: ['{channel.as_uri()}']\ndependencies: [mlproj-greeting=9]\n"}
    )
    (project / "main.sh").write_text("echo hi\n")
    result = mlproj("run", str(project), "-e", "main.sh")
    assert_env_failure(mlproj, cache, result, "conda.yaml: conda solve failed", "mlproj-greeting")
    run = newest(mlproj)
    assert (run["status"], run["exit_code"]) == ("FAILED", 115)


def test_missing_conda_tooling_and_no_py_rattler(mlproj, tmp_path):
    # Hide py-rattler the way a missing install does: find_spec() answers None.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['rattler'] = None\n")
    pythonpath = os.pathsep.join([str(hide), os.environ["PYTHONPATH"]])
    result = mlproj("run", str(GREETING), PYTHONPATH=pythonpath, PATH=_path_without_conda())
    assert result.returncode == 115
    assert "pip install 'mlproj[conda]'" in result.stderr
    assert mlproj("runs", "list", "--json").json() == []  # found out before the run was created


def _path_without_conda() -> str:
    keep = [p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "conda").exists()]
    return os.pathsep.join(keep)


def test_conda_exe_that_does_not_exist(mlproj):
    result = mlproj("run", str(GREETING), MLPROJ_CONDA_EXE="/nonexistent/micromamba")
    assert result.returncode == 115
    assert "MLPROJ_CONDA_EXE=/nonexistent/micromamba" in result.stderr


def test_conda_manager_needs_a_conda_file(mlproj):
    result = mlproj("run", str(EXAMPLES / "local_package"), "--env-manager", "conda")
    assert result.returncode == 115
    assert "needs a conda YAML" in result.stderr
    assert "declares python_env (use --env-manager virtualenv or uv)" in result.stderr


def test_conda_python_comes_from_the_channel(mlproj, write_project, channel, cache):
    project = write_project(
        {"conda.yaml": f"channels: ['{channel.as_uri()}']\ndependencies: [python]\n"}
    )
    (project / "where.py").write_text("import sys\nprint(sys.prefix)\n")
    result = mlproj("run", str(project), "-e", "where.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(cache_entries(cache)[0] / "env")
    version = ".".join(map(str, sys.version_info[:3]))
    assert newest(mlproj)["env"]["details"]["python"] == version
