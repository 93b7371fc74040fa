"""`mlproj run -b slurm` against the real one-node cluster: runs, exit codes, detach, cancel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import mlproj_env

pytestmark = pytest.mark.usefixtures("slurm")


def show(mlproj, run_id: str) -> dict:
    done = mlproj("runs", "show", run_id, "--json")
    assert done.returncode == 0, done.stderr
    return done.json()


def wait_for(mlproj, run_id: str, statuses: set[str], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = show(mlproj, run_id)
        if run["status"] in statuses:
            return run
        assert time.monotonic() < deadline, f"run stayed {run['status']}"
        time.sleep(0.2)


def settled_state(mlproj, run_id: str, timeout: float = 30) -> dict:
    """The run once the scheduler's final word is recorded (a poll after the job left)."""
    deadline = time.monotonic() + timeout
    while True:
        run = show(mlproj, run_id)
        if "mlproj.backend.watch" not in run["tags"]:
            return run
        assert time.monotonic() < deadline, run["tags"]
        time.sleep(0.3)


def test_run_on_slurm_records_output_params_metrics_and_job(mlproj, slurm_project):
    done = mlproj("run", str(slurm_project), "-b", "slurm", "--env-manager", "local")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "working\ndone\n"  # followed live from the run's log
    assert "submitted to slurm as job" in done.stderr
    runs = mlproj("runs", "list", "--json").json()
    run = settled_state(mlproj, runs[0]["run_id"])
    assert run["status"] == "FINISHED"
    assert run["exit_code"] == 0
    assert run["params"]["where"] == "node"
    assert run["metrics"]["loss"] == 0.25
    tags = run["tags"]
    assert tags["mlproj.backend"] == "slurm"
    assert tags["mlproj.backend.job_id"].isdigit()
    assert tags["mlproj.backend.state"] == "COMPLETED"
    run_dir = Path(run["artifact_uri"]).parent
    assert (run_dir / "job.sbatch").is_file()
    assert (run_dir / f"slurm-{tags['mlproj.backend.job_id']}.out").is_file()
    assert (run_dir / "exit_code").read_text() == "0\n"
    assert mlproj("runs", "logs", run["run_id"]).stdout == "working\ndone\n"


def test_failing_entry_point_exit_code_comes_back(mlproj, slurm_project):
    args = ("run", str(slurm_project), "-b", "slurm", "--env-manager", "local")
    done = mlproj(*args, "-P", "code=3")
    assert done.returncode == 3
    run = mlproj("runs", "list", "--json").json()[0]
    assert (run["status"], run["exit_code"]) == ("FAILED", 3)


def test_detach_prints_the_run_id_and_runs_wait_follows_it(mlproj, slurm_project):
    args = ("run", str(slurm_project), "-b", "slurm", "--env-manager", "local")
    detached = mlproj(*args, "-P", "sleep=1", "--detach")
    assert detached.returncode == 0, detached.stderr
    run_id = detached.stdout.strip()
    assert len(run_id) == 32
    assert show(mlproj, run_id)["status"] in ("SCHEDULED", "RUNNING", "FINISHED")
    waited = mlproj("runs", "wait", run_id[:10])
    assert waited.returncode == 0, waited.stderr
    assert show(mlproj, run_id)["status"] == "FINISHED"
    failing = mlproj(*args, "-P", "code=5", "--detach").stdout.strip()
    assert mlproj("runs", "wait", failing).returncode == 5


def test_cancel_a_running_job_kills_the_entry_point_and_marks_killed(mlproj, slurm_project):
    args = ("run", str(slurm_project), "-b", "slurm", "--env-manager", "local", "-P", "sleep=120")
    run_id = mlproj(*args, "--detach").stdout.strip()
    wait_for(mlproj, run_id, {"RUNNING"})
    cancelled = mlproj("runs", "cancel", run_id)
    assert cancelled.returncode == 0, cancelled.stderr
    run = settled_state(mlproj, run_id)
    assert run["status"] == "KILLED"
    assert run["exit_code"] == 143  # mlproj on the node got SIGTERM and stopped the entry point
    assert run["tags"]["mlproj.backend.state"] == "CANCELLED"
    job = run["tags"]["mlproj.backend.job_id"]
    queue = subprocess.run(
        ["squeue", "-h", "-j", job, "-t", "RUNNING"], capture_output=True, text=True, check=False
    )
    assert queue.stdout.strip() == ""


def test_cancel_a_queued_job_marks_killed_without_running_it(mlproj, slurm_project):
    later = json.dumps({"sbatch-args": ["--begin=now+600"]})
    args = ("run", str(slurm_project), "-b", "slurm", "--env-manager", "local", "-c", later)
    run_id = mlproj(*args, "--detach").stdout.strip()
    run = show(mlproj, run_id)
    assert run["status"] == "SCHEDULED"
    assert run["tags"]["mlproj.backend.state"] == "PENDING"
    assert mlproj("runs", "cancel", run_id).returncode == 0
    run = show(mlproj, run_id)
    assert (run["status"], run["exit_code"]) == ("KILLED", None)
    assert "CANCELLED" in run["tags"]["mlproj.failure"]
    assert not (Path(run["artifact_uri"]).parent / "stdout.log").exists()  # never started


def test_ctrl_c_on_an_attached_run_cancels_the_job(store_dir, slurm_project, tmp_path, mlproj):
    argv = [sys.executable, "-m", "mlproj", "run", str(slurm_project), "-b", "slurm"]
    argv += ["--env-manager", "local", "-P", "sleep=120"]
    child = subprocess.Popen(
        argv, cwd=tmp_path, env=mlproj_env(store_dir), stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "working\n"  # the job runs, its output is followed
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=60) == 130
    run = mlproj("runs", "list", "--json").json()[0]
    assert run["status"] == "KILLED"


@pytest.mark.slow
def test_preempted_job_is_recorded_as_preempted(mlproj, slurm_project):
    """Partition "high" preempts "low" (tests/setup/slurm.sh); both ask for the whole node."""

    def config(partition: str) -> str:
        return json.dumps({"partition": partition, "sbatch-args": ["--exclusive"]})

    base = ("run", str(slurm_project), "-b", "slurm", "--env-manager", "local", "--detach")
    low = mlproj(*base, "-P", "sleep=120", "-c", config("low")).stdout.strip()
    wait_for(mlproj, low, {"RUNNING"})
    high = mlproj(*base, "-c", config("high")).stdout.strip()
    assert mlproj("runs", "wait", high).returncode == 0
    run = settled_state(mlproj, low)
    assert run["status"] == "KILLED"
    assert run["tags"]["mlproj.backend.state"] == "PREEMPTED"


def test_waiting_on_many_runs_costs_one_squeue_per_poll(mlproj, slurm_project, tmp_path):
    """A squeue on PATH that counts its calls, then runs the real one."""
    shims = tmp_path / "shims"
    shims.mkdir()
    calls = tmp_path / "squeue-calls"
    real = subprocess.run(
        ["sh", "-c", "command -v squeue"], capture_output=True, text=True, check=True
    )
    shim = shims / "squeue"
    shim.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {real.stdout.strip()} "$@"\n')
    shim.chmod(0o755)
    args = ("run", str(slurm_project), "-b", "slurm", "--env-manager", "local", "--detach")
    ids = [mlproj(*args, "-P", "sleep=1", "-q").stdout.strip() for _ in range(6)]
    path = f"{shims}{os.pathsep}{os.environ['PATH']}"
    calls.unlink(missing_ok=True)
    started = time.monotonic()
    waited = mlproj("runs", "wait", *ids, PATH=path, MLPROJ_POLL_INTERVAL="0.5")
    elapsed = time.monotonic() - started
    assert waited.returncode == 0, waited.stderr
    lines = calls.read_text().splitlines()
    # One call per poll for all six jobs (never one per run): polls <= elapsed / interval + 1.
    assert len(lines) <= elapsed / 0.5 + 2
    assert all(len(line.split("--jobs=")[1].split(",")) >= 1 for line in lines)
    assert max(len(line.split("--jobs=")[1].split(",")) for line in lines) == 6


def test_store_folder_with_spaces(mlproj, slurm_project, tmp_path):
    store = str(tmp_path / "my store")
    args = ("run", str(slurm_project), "-b", "slurm", "--env-manager", "local")
    done = mlproj(*args, MLPROJ_TRACKING_URI=store)
    assert done.returncode == 0, done.stderr
    run = mlproj("runs", "list", "--json", MLPROJ_TRACKING_URI=store).json()[0]
    assert run["status"] == "FINISHED"


@pytest.mark.slow
def test_environment_is_built_on_the_node_once_for_concurrent_jobs(
    mlproj, write_project, slurm, tmp_path
):
    """Two jobs of a new python_env project: one builds under the cache lock, one reuses."""
    project = write_project(
        {
            "MLproject": (
                "name: node-env\npython_env: python_env.yaml\nentry_points:\n  main:\n"
                "    command: \"python -c 'import six, sys; print(six.__version__, sys.prefix)'\"\n"
            ),
            "python_env.yaml": "dependencies:\n  - six\n",
        }
    )
    cache = str(tmp_path / "shared-cache")
    args = ("run", str(project), "-b", "slurm", "--detach", "-q")
    ids = [mlproj(*args, MLPROJ_CACHE_DIR=cache).stdout.strip() for _ in range(2)]
    assert mlproj("runs", "wait", *ids, timeout=300).returncode == 0
    runs = [show(mlproj, run_id) for run_id in ids]
    assert {run["env"]["manager"] for run in runs} == {"virtualenv"}
    assert len({run["env"]["key"] for run in runs}) == 1
    prefixes = {mlproj("runs", "logs", run_id).stdout.split()[1] for run_id in ids}
    assert len(prefixes) == 1  # the same environment, from the cache both nodes share
    assert next(iter(prefixes)).startswith(cache)
    installed = [(Path(r["artifact_uri"]).parent / "installed.txt").read_text() for r in runs]
    assert all("six==" in text for text in installed)
    # Built by one job, reused by the other (which waited on the cache lock if it had to).
    assert sorted(run["tags"]["mlproj.env.created"] for run in runs) == ["false", "true"]
