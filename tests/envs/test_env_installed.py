"""The installed set read from metadata is what `uv pip freeze` prints, for each kind of line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from mlproj.envs.installed import installed_set
from mlproj.envs.tools import find_uv
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.slow


def git(*args: str, cwd) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_installed_set_matches_uv_pip_freeze(tmp_path):
    uv = find_uv()
    assert uv is not None
    # A VCS package: a committed copy of the example's local package, renamed.
    repo = tmp_path / "gitpkg"
    shutil.copytree(EXAMPLES / "local_package" / "greetlib", repo)
    toml = repo / "pyproject.toml"
    toml.write_text(toml.read_text().replace('name = "greetlib"', 'name = "Git_Pkg"'))
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pkg", cwd=repo)
    # An editable package with a non-normalised name.
    editable = tmp_path / "ed"
    (editable / "ed_pkg").mkdir(parents=True)
    (editable / "ed_pkg" / "__init__.py").write_text("")
    (editable / "pyproject.toml").write_text(
        '[project]\nname = "Ed.Pkg"\nversion = "0.1"\n'
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    prefix = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(prefix)], check=True, env=env)
    python = str(prefix / "bin" / "python")
    packages = [
        "pip",
        "six",
        str(EXAMPLES / "local_package" / "greetlib"),  # a local folder: `name @ file://...`
        f"git+{repo.as_uri()}",
        "-e",
        str(editable),
    ]
    install = [uv, "pip", "install", "-q", "--python", python, *packages]
    subprocess.run(install, check=True, env=env, timeout=300)
    frozen = subprocess.run(
        [uv, "pip", "freeze", "--python", python], check=True, env=env, capture_output=True
    ).stdout.decode()

    lines = installed_set(prefix)

    assert lines == tuple(frozen.splitlines())
    assert any(line.startswith("git-pkg @ git+file://") for line in lines)
    assert any(line.startswith("-e file://") for line in lines)
    assert any(line.startswith("greetlib @ file://") for line in lines)
    assert any(line.startswith("pip==") for line in lines)


def test_installed_set_of_a_folder_without_site_packages(tmp_path):
    assert installed_set(tmp_path) == ()
