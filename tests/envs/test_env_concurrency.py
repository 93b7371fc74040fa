"""The cache under concurrency and crashes: one build for N parallel runs, SIGKILL mid-build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import mlproj_env
from tests.envs.conftest import cache_entries, counting_project

pytestmark = pytest.mark.slow
PARALLEL = 8


def start_run(project: Path, store: Path, **env: str) -> subprocess.Popen[str]:
    full = mlproj_env(store)
    full.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "mlproj", "run", str(project), "--env-manager", "uv"],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_parallel_runs_of_a_new_environment_build_it_once(tmp_path, mlproj, store_dir, cache):
    counter = tmp_path / "builds.txt"
    project = counting_project(tmp_path / "project", counter, tmp_path / "no-flag")
    uv_cache = str(tmp_path / "uv-cache")  # no wheel of countpkg cached from elsewhere
    runs = [start_run(project, store_dir, UV_CACHE_DIR=uv_cache) for _ in range(PARALLEL)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
        assert stdout == "42\n"
    assert len(counter.read_text().splitlines()) == 1  # the package was built exactly once
    recorded = mlproj("runs", "list", "--json").json()
    assert len(recorded) == PARALLEL
    assert {r["status"] for r in recorded} == {"FINISHED"}
    created = [r["env"]["details"]["created"] for r in recorded]
    assert created.count("true") == 1
    assert len({r["env"]["key"] for r in recorded}) == 1
    assert len({r["env"]["details"]["installed_sha256"] for r in recorded}) == 1
    assert len(cache_entries(cache)) == 1
    assert sum("mlproj: building" in stderr for _, stderr in outputs) == 1
    assert any("waiting for another mlproj" in stderr for _, stderr in outputs)


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_sigkill_during_build_leaves_nothing_reusable_then_rebuilds(
    tmp_path, mlproj, store_dir, cache
):
    counter = tmp_path / "builds.txt"
    flag = tmp_path / "hold-the-build"
    flag.touch()
    project = counting_project(tmp_path / "project", counter, flag)
    uv_cache = str(tmp_path / "uv-cache")
    runner = start_run(project, store_dir, UV_CACHE_DIR=uv_cache)
    wait_for(counter.exists)  # the build is under way, inside the installer
    entry = cache_entries(cache)[0]
    assert (entry / "env" / "bin" / "python").exists()
    os.kill(runner.pid, signal.SIGKILL)
    runner.communicate(timeout=60)
    flag.unlink()  # let the orphaned build backend (if the installer left one) finish

    assert not (entry / "mlproj-env.json").exists()
    listed = mlproj("envs", "list", "--json").json()
    assert [e["state"] for e in listed] == ["incomplete"]
    killed = mlproj("runs", "list", "--json").json()[0]
    assert killed["status"] == "FAILED"  # reaped: its runner is dead

    again = mlproj("run", str(project), "--env-manager", "uv", UV_CACHE_DIR=uv_cache, timeout=600)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "42\n"
    assert "mlproj: building" in again.stderr  # rebuilt from scratch, not reused
    newest = mlproj("runs", "list", "--json").json()[0]
    assert newest["env"]["details"]["created"] == "true"
    assert (entry / "mlproj-env.json").exists()
    assert [e["state"] for e in mlproj("envs", "list", "--json").json()] == ["ready"]


def test_ctrl_c_during_build_records_killed_and_cleans_up(tmp_path, mlproj, store_dir, cache):
    counter = tmp_path / "builds.txt"
    flag = tmp_path / "hold-the-build"
    flag.touch()
    project = counting_project(tmp_path / "project", counter, flag)
    runner = start_run(project, store_dir, UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    wait_for(counter.exists)
    runner.send_signal(signal.SIGINT)
    _, stderr = runner.communicate(timeout=120)
    flag.unlink()
    assert runner.returncode == 130, stderr
    run = mlproj("runs", "list", "--json").json()[0]
    assert run["status"] == "KILLED"
    assert cache_entries(cache) == []  # the half-built environment was removed at once


def test_runs_waiting_on_a_build_that_fails_fail_at_once_without_retrying(
    tmp_path, mlproj, store_dir, cache
):
    counter = tmp_path / "builds.txt"
    flag = tmp_path / "hold-the-build"
    flag.touch()
    project = counting_project(tmp_path / "project", counter, flag)
    backend = project / "countpkg" / "backend.py"
    text = backend.read_text()
    backend.write_text(
        text.replace("    files = {", "    raise SystemExit('no wheel')\n    files = {", 1)
    )
    uv_cache = str(tmp_path / "uv-cache")
    first = start_run(project, store_dir, UV_CACHE_DIR=uv_cache)
    wait_for(counter.exists)  # the first run builds, holding the key's lock
    waiting = [start_run(project, store_dir, UV_CACHE_DIR=uv_cache) for _ in range(3)]

    def blocked() -> int:  # runs that said they wait for the lock (in their saved build output)
        logs = (store_dir / "runs").glob("*/env-build.log")
        return sum("waiting for another mlproj" in log.read_text() for log in logs)

    wait_for(lambda: blocked() == 3)
    flag.unlink()
    assert first.wait(timeout=120) == 115
    outputs = [run.communicate(timeout=120) for run in waiting]
    assert [run.returncode for run in waiting] == [115, 115, 115]
    for _, stderr in outputs:
        assert "not retried" in stderr
    assert len(counter.read_text().splitlines()) == 1  # built (and failed) once, not four times
    assert cache_entries(cache) == []  # nothing half-built
    assert {r["status"] for r in mlproj("runs", "list", "--json").json()} == {"FAILED"}
    # A later run (it did not wait for that build) tries again, and can succeed.
    backend.write_text(text)
    counter.unlink()
    again = mlproj("run", str(project), "--env-manager", "uv", UV_CACHE_DIR=uv_cache)
    assert again.returncode == 0, again.stderr
