"""Shared fixtures: run the real `mlproj` command in a subprocess against a store in a temp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "example_projects"

# Every `python -m mlproj` the tests start must run this checkout's code, whatever copy of mlproj
# is installed (git worktrees, a stale editable install).
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
# Environments and clones built by tests go to a cache of this test session, never the user's.
os.environ["MLPROJ_CACHE_DIR"] = tempfile.mkdtemp(prefix="mlproj-test-cache-")


@dataclass(frozen=True)
class Result:
    """A finished `mlproj` invocation."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def mlproj_env(store: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MLPROJ_TRACKING_URI"] = str(store)
    env.pop("MLPROJ_DEBUG", None)
    return env


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def mlproj(tmp_path: Path, store_dir: Path) -> Callable[..., Result]:
    """Call the real CLI: ``mlproj("run", str(project), "-P", "a=1")``; cwd is a temp folder."""
    workdir = tmp_path / "work"
    workdir.mkdir()

    def call(*args: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> Result:
        full_env = mlproj_env(store_dir)
        full_env.update(env)
        done = subprocess.run(
            [sys.executable, "-m", "mlproj", *args],
            cwd=cwd or workdir,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(tuple(args), done.returncode, done.stdout, done.stderr)

    return call


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project folder from {relative path: text} and return it."""
    counter = iter(range(1000))

    def write(files: dict[str, str], name: str | None = None) -> Path:
        root = tmp_path / (name or f"project{next(counter)}")
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return root

    return write
