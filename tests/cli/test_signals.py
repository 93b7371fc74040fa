"""Ctrl-C, SIGTERM and SIGKILL: the whole child group stops and every run gets a final status."""

from __future__ import annotations

import os
import pty
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import mlproj_env

SLEEPER = """
import os, signal, subprocess, sys, time
if sys.argv[2] == "stubborn":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen(["sleep", "300"])
try:
    # "ready" is printed before the pid file appears: the test signals once it exists.
    print("ready", flush=True)
    with open(sys.argv[1] + ".tmp", "w") as handle:
        handle.write(f"{os.getpid()} {grandchild.pid}")
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(300)
except KeyboardInterrupt:
    sys.exit(130)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def sleeper(write_project):
    return write_project(
        {
            "MLproject": "entry_points:\n  main:\n    parameters:\n      pidfile: string\n"
            "      mode: {type: string, default: normal}\n"
            "    command: python sleeper.py {pidfile} {mode}\n",
            "sleeper.py": SLEEPER,
        }
    )


def start(project: Path, store: Path, tmp_path: Path, mode: str = "normal", **env: str):
    pidfile = tmp_path / f"pids-{mode}"
    full_env = mlproj_env(store)
    full_env.update(env)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlproj",
            "run",
            str(project),
            "-P",
            f"pidfile={pidfile}",
            "-P",
            f"mode={mode}",
        ],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(pidfile.exists)
    child, grandchild = (int(p) for p in pidfile.read_text().split())
    return proc, child, grandchild


def only_run(mlproj) -> dict:
    runs = mlproj("runs", "list", "--json").json()
    assert len(runs) == 1
    return runs[0]


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_interrupt_stops_the_group_and_marks_killed(
    mlproj, sleeper, store_dir, tmp_path, sig, code
):
    proc, child, grandchild = start(sleeper, store_dir, tmp_path)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    wait_for(lambda: not alive(child) and not alive(grandchild), timeout=5)
    run = only_run(mlproj)
    assert run["status"] == "KILLED"
    assert run["exit_code"] == code
    assert "ready" in mlproj("runs", "logs", run["run_id"]).stdout


def test_sighup_ignored_as_by_nohup_leaves_the_run_going(mlproj, write_project, store_dir):
    """`nohup mlproj run ...`: a closed terminal must not stop the run."""
    command = "python -c 'import time; time.sleep(2)'"
    project = write_project({"MLproject": f"entry_points:\n  main:\n    command: {command}\n"})
    proc = subprocess.Popen(
        ["nohup", sys.executable, "-m", "mlproj", "run", str(project)],
        env=mlproj_env(store_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: mlproj("runs", "list", "--json").json() != [])
    time.sleep(0.5)  # the entry point is running: mlproj supervises it
    proc.send_signal(signal.SIGHUP)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert only_run(mlproj)["status"] == "FINISHED"


def test_a_terminal_that_went_away_does_not_stop_the_log(mlproj, write_project, store_dir):
    """Under nohup the terminal may close: writes to it fail (EIO), the log and the run go on.

    If mlproj stopped reading the entry point's output, the entry point would block on its next
    write once the pipe is full (64 kB), forever.
    """
    script = (
        "import sys, time\nprint('ready', flush=True)\ntime.sleep(1)\n"
        "for i in range(20000):\n    print(f'line {i:05d} ' + 'x' * 40)\n"
    )
    project = write_project(
        {"MLproject": "entry_points:\n  main:\n    command: python talk.py\n", "talk.py": script}
    )
    primary, secondary = pty.openpty()  # a terminal that is not mlproj's controlling one
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlproj", "run", str(project)],
        env=mlproj_env(store_dir),
        stdout=secondary,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(secondary)
    seen = b""
    while b"ready" not in seen:
        seen += os.read(primary, 1024)
    os.close(primary)  # the terminal goes away: mlproj's writes to it now fail with EIO
    _out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    run = only_run(mlproj)
    assert run["status"] == "FINISHED"
    logged = mlproj("runs", "logs", run["run_id"]).stdout.splitlines()
    assert logged[-1].startswith("line 19999 ")
    assert len(logged) == 20001


def test_stubborn_child_is_escalated_to_sigkill(mlproj, sleeper, store_dir, tmp_path):
    proc, child, grandchild = start(
        sleeper, store_dir, tmp_path, "stubborn", MLPROJ_KILL_GRACE="0.5"
    )
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - began < 10  # INT, 0.5 s, TERM, 0.5 s, KILL
    wait_for(lambda: not alive(child) and not alive(grandchild), timeout=5)
    assert only_run(mlproj)["status"] == "KILLED"


def test_second_ctrl_c_escalates_at_once(mlproj, sleeper, store_dir, tmp_path):
    proc, child, _grandchild = start(sleeper, store_dir, tmp_path, "stubborn")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)  # -> SIGTERM (ignored too)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)  # -> SIGKILL
    proc.communicate(timeout=5)  # default grace is 10 s: only escalation can end it this fast
    assert proc.returncode == 130
    wait_for(lambda: not alive(child), timeout=5)


@pytest.mark.parametrize("no_setpriv", ["", "1"], ids=["setpriv", "ctypes-hook"])
def test_runner_killed_with_sigkill_is_not_left_running(
    mlproj, sleeper, store_dir, tmp_path, no_setpriv
):
    # Both ways of setting the parent-death signal (mlproj/parentdeath.py).
    proc, child, _grandchild = start(sleeper, store_dir, tmp_path, MLPROJ_NO_SETPRIV=no_setpriv)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    # The entry point does not outlive its runner (parent-death signal).
    wait_for(lambda: not alive(child), timeout=5)
    run = only_run(mlproj)
    assert run["status"] == "FAILED"
    assert run["end_time"] is not None
    assert "runner died" in run["tags"].get("mlproj.failure", "")


@pytest.mark.parametrize("journal", ["", "delete"], ids=["wal", "rollback-journal"])
def test_eight_concurrent_runs_are_all_recorded(mlproj, store_dir, tmp_path, journal):
    """With WAL (a local disk) and with the rollback journal of a shared filesystem."""
    from tests.conftest import EXAMPLES

    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlproj",
                "run",
                str(EXAMPLES / "linear_regression"),
                "-q",
                "-P",
                f"epochs={10 + i}",
                "-P",
                f"label=run{i}",
            ],
            env={**mlproj_env(store_dir), "MLPROJ_STORE_JOURNAL": journal},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    runs = mlproj("runs", "list", "--json").json()
    assert len(runs) == 8
    assert {r["params"]["label"] for r in runs} == {f"run{i}" for i in range(8)}
    assert {r["status"] for r in runs} == {"FINISHED"}
    assert len({r["run_id"] for r in runs}) == 8
    database = sqlite3.connect(store_dir / "mlproj.db")
    assert database.execute("PRAGMA journal_mode").fetchone()[0] == (journal or "wal")
    database.close()
    assert os.environ.get("MLPROJ_TRACKING_URI") != str(store_dir)
