"""Ctrl-C and SIGTERM stop the container, remove it and record the run as KILLED."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import mlproj_env
from tests.docker.conftest import PYTHON

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leftovers")]

SLEEPER = """
import signal, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(300)
"""


@pytest.fixture
def sleeper(write_project):
    return write_project(
        {
            "MLproject": f"docker_env:\n  image: {PYTHON}\nentry_points:\n  main:\n"
            "    parameters: {mode: {type: string, default: normal}}\n"
            "    command: python sleeper.py {mode}\n",
            "sleeper.py": SLEEPER,
        }
    )


def start(project, store_dir, mode="normal", **env):
    full_env = mlproj_env(store_dir)
    full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlproj", "run", str(project), "-P", f"mode={mode}"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(p.read_text() == "ready\n" for p in store_dir.glob("runs/*/stdout.log")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the container never printed ready"
        time.sleep(0.1)
    return proc


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_stops_and_removes_the_container(mlproj, sleeper, store_dir, sig, code):
    proc = start(sleeper, store_dir)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback (most recent call last)" not in err.split("KeyboardInterrupt")[-1]
    run = mlproj("runs", "list", "--json").json()[0]
    assert (run["status"], run["exit_code"]) == ("KILLED", code)
    # no_leftovers checks that the container is gone


def test_stubborn_container_is_escalated_to_sigkill(mlproj, sleeper, store_dir):
    proc = start(sleeper, store_dir, "stubborn", MLPROJ_KILL_GRACE="0.5")
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert time.monotonic() - began < 20  # INT, 0.5 s, TERM, 0.5 s, KILL, then removal
    assert mlproj("runs", "list", "--json").json()[0]["status"] == "KILLED"


def test_container_of_a_sigkilled_mlproj_is_removed_by_the_next_docker_run(
    mlproj, sleeper, store_dir, docker_client, write_project
):
    proc = start(sleeper, store_dir)
    killed = mlproj("runs", "list", "--json").json()[0]["run_id"]
    proc.kill()  # SIGKILL: mlproj cannot stop its container
    proc.communicate(timeout=30)

    def running() -> list[str]:
        found = docker_client.api.containers(filters={"label": f"mlproj.run_id={killed}"})
        return [c["Id"] for c in found]

    assert running()  # still there: nobody was left to stop it
    quick = write_project(
        {
            "MLproject": f"docker_env:\n  image: {PYTHON}\nentry_points:\n  main:\n"
            "    command: python -c pass\n"
        }
    )
    assert mlproj("run", str(quick)).returncode == 0
    assert running() == []  # removed before the next container started
    run = mlproj("runs", "show", killed, "--json").json()
    assert run["status"] == "FAILED"  # reaped: its runner died
    assert "mlproj.env.container_removed" in run["tags"]
