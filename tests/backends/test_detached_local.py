"""`--detach` without a cluster, and `runs cancel` of local runs (detached or attached)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import mlproj_env

SLEEPY = {
    "MLproject": (
        "name: sleepy\nentry_points:\n  main:\n    parameters:\n"
        "      pause: {type: float, default: 0}\n      code: {type: int, default: 0}\n"
        '    command: "python sleepy.py {pause} {code}"\n'
    ),
    "sleepy.py": (
        "import sys, time\nprint('up', flush=True)\ntime.sleep(float(sys.argv[1]))\n"
        "print('down', flush=True)\nsys.exit(int(sys.argv[2]))\n"
    ),
}


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPROJ_POLL_INTERVAL", "0.2")


def status_of(mlproj, run_id: str) -> dict:
    return mlproj("runs", "show", run_id, "--json").json()


def wait_until(mlproj, run_id: str, wanted: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (run := status_of(mlproj, run_id))["status"] != wanted:
        assert time.monotonic() < deadline, run["status"]
        time.sleep(0.1)
    return run


def test_detached_local_run_finishes_and_keeps_its_output(mlproj, write_project):
    project = write_project(SLEEPY)
    done = mlproj("run", str(project), "--detach", "-P", "pause=0.5", "-P", "code=2")
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    assert len(run_id) == 32
    waited = mlproj("runs", "wait", run_id)
    assert waited.returncode == 2
    run = status_of(mlproj, run_id)
    assert (run["status"], run["exit_code"]) == ("FAILED", 2)
    assert run["tags"]["mlproj.backend"] == "local"
    assert mlproj("runs", "logs", run_id).stdout == "up\ndown\n"


def test_cancel_a_detached_local_run(mlproj, write_project):
    project = write_project(SLEEPY)
    run_id = mlproj("run", str(project), "--detach", "-P", "pause=120").stdout.strip()
    wait_until(mlproj, run_id, "RUNNING")
    assert mlproj("runs", "cancel", run_id).returncode == 0
    run = status_of(mlproj, run_id)
    assert (run["status"], run["exit_code"]) == ("KILLED", 143)


def test_cancel_an_attached_run_from_another_shell(mlproj, write_project, store_dir, tmp_path):
    project = write_project(SLEEPY)
    argv = [sys.executable, "-m", "mlproj", "run", str(project), "-P", "pause=120"]
    attached = subprocess.Popen(
        argv, cwd=tmp_path, env=mlproj_env(store_dir), stdout=subprocess.PIPE, text=True
    )
    assert attached.stdout is not None
    assert attached.stdout.readline() == "up\n"
    run_id = mlproj("runs", "list", "--json").json()[0]["run_id"]
    assert mlproj("runs", "cancel", run_id[:8]).returncode == 0
    assert attached.wait(timeout=60) == 143  # it got SIGTERM, stopped its child, recorded KILLED
    assert status_of(mlproj, run_id)["status"] == "KILLED"


def test_cancel_an_ended_run_changes_nothing(mlproj, write_project):
    project = write_project(SLEEPY)
    assert mlproj("run", str(project)).returncode == 0
    run_id = mlproj("runs", "list", "--json").json()[0]["run_id"]
    done = mlproj("runs", "cancel", run_id)
    assert done.returncode == 0
    assert "FINISHED" in done.stderr
    assert status_of(mlproj, run_id)["status"] == "FINISHED"


def test_wait_timeout_and_unknown_run(mlproj, write_project):
    project = write_project(SLEEPY)
    run_id = mlproj("run", str(project), "--detach", "-P", "pause=30").stdout.strip()
    done = mlproj("runs", "wait", run_id, "--timeout", "0.5")
    assert done.returncode == 112
    assert "timed out after 0.5 s" in done.stderr
    assert mlproj("runs", "wait", "ffffffff").returncode == 118
    assert mlproj("runs", "cancel", run_id).returncode == 0


def test_backend_config_without_a_backend_is_a_usage_error(mlproj, write_project):
    project = write_project(SLEEPY)
    done = mlproj("run", str(project), "-c", '{"partition": "x"}')
    assert done.returncode == 112
    assert "--backend-config applies to a backend" in done.stderr
    assert mlproj("runs", "list", "--json").json() == []


def test_logs_follow_prints_until_the_run_ends(mlproj, write_project):
    project = write_project(SLEEPY)
    run_id = mlproj("run", str(project), "--detach", "-P", "pause=1.5").stdout.strip()
    followed = mlproj("runs", "logs", run_id, "--follow")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout == "up\ndown\n"  # including what came after the command started
    assert status_of(mlproj, run_id)["status"] == "FINISHED"
