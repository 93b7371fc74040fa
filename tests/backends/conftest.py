"""Slurm tests run against the real one-node cluster of tests/setup/slurm.sh (CI starts it).

Without a controller answering they are skipped, except in CI (CI=true), where they fail:
CI must run them for real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

STEP = """\
import sys, time
import mlproj
code, pause = int(sys.argv[1]), float(sys.argv[2])
mlproj.log_param("where", "node")
mlproj.log_metric("loss", 0.5, step=1)
mlproj.log_metric("loss", 0.25, step=2)
print("working", flush=True)
time.sleep(pause)
print("done", flush=True)
sys.exit(code)
"""

MLPROJECT = """\
name: slurm-step
entry_points:
  main:
    parameters:
      code: {type: int, default: 0}
      sleep: {type: float, default: 0}
    command: "python step.py {code} {sleep}"
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _slurm_answers() -> str | None:
    if shutil.which("sinfo") is None:
        return "Slurm is not installed (run tests/setup/slurm.sh as root)"
    done = subprocess.run(
        ["sinfo", "-h", "-o", "%a"], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0 or "up" not in done.stdout:
        return f"no Slurm controller answers: {done.stderr.strip()[:200]}"
    return None


@pytest.fixture(scope="session")
def slurm() -> None:
    """Require the real cluster."""
    problem = _slurm_answers()
    if problem is not None:
        if _in_ci():
            pytest.fail(f"slurm tests must run in CI: {problem}")
        pytest.skip(problem)


@pytest.fixture
def slurm_project(write_project: Callable[..., Path], slurm: None) -> Path:
    """A project whose entry point logs, sleeps and exits with the code it is given."""
    return write_project({"MLproject": MLPROJECT, "step.py": STEP})


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPROJ_POLL_INTERVAL", "0.2")
