"""Dead-run detection: a runner killed with SIGKILL leaves a run later commands mark FAILED."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlproj.errors import StoreError
from mlproj.tracking import locks
from mlproj.tracking.db import now_ms
from mlproj.tracking.history import PastRun
from mlproj.tracking.models import RunStatus
from mlproj.tracking.store import DEAD_RUNNER_MESSAGE, FAILURE_TAG, UNCLAIMED_GRACE_MS

REPO = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sys, time
    from mlproj.tracking.store import Store
    store = Store.open(sys.argv[1])
    lock = store.hold_runner_lock(sys.argv[2])
    print("locked", flush=True)
    time.sleep(120)
    """
)


@pytest.fixture
def spawn_holder(store) -> Iterator:
    """Start a process that takes a run's runner lock and sleeps; killed at teardown."""
    started: list[subprocess.Popen[str]] = []

    def spawn(run_id: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, store.uri, run_id],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "locked"
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_sigkilled_runner_is_reaped(store, make_run, spawn_holder):
    run = store.create_run(make_run())
    holder = spawn_holder(run.run_id)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert store.reap_dead_runs() == [run.run_id]
    reaped = store.get_run(run.run_id)
    assert reaped.status is RunStatus.FAILED
    assert reaped.end_time is not None
    assert reaped.end_time >= run.start_time
    assert reaped.exit_code is None
    assert reaped.tags == {FAILURE_TAG: DEAD_RUNNER_MESSAGE}
    assert store.reap_dead_runs() == []  # only RUNNING runs are looked at


def test_reads_reap_first(store, make_run, spawn_holder):
    run = store.create_run(make_run())
    holder = spawn_holder(run.run_id)
    holder.kill()
    holder.wait(timeout=10)
    assert store.search_runs()[0].status is RunStatus.FAILED


def test_live_runner_is_left_running(store, make_run, spawn_holder):
    run = store.create_run(make_run())
    spawn_holder(run.run_id)
    assert store.reap_dead_runs() == []
    assert store.get_run(run.run_id).status is RunStatus.RUNNING


def test_lock_held_in_this_process_counts_as_alive(store, make_run):
    run = store.create_run(make_run())
    lock = store.hold_runner_lock(run.run_id)
    assert store.reap_dead_runs() == []
    lock.release()
    lock.release()  # idempotent
    assert store.reap_dead_runs() == [run.run_id]


def test_finished_runs_are_never_reaped(store, make_run):
    run = store.create_run(make_run())
    with store.hold_runner_lock(run.run_id):
        store.finish_run(run.run_id, RunStatus.FINISHED, 0)
    assert store.reap_dead_runs() == []
    assert store.get_run(run.run_id).status is RunStatus.FINISHED


def test_unclaimed_run_gets_a_grace_period(store, make_run):
    young = store.create_run(make_run())  # the runner has not locked it yet
    old_start = now_ms() - UNCLAIMED_GRACE_MS - 1000
    [old] = store.bulk_insert_runs([PastRun(make_run(), old_start, None, RunStatus.RUNNING, None)])
    assert store.reap_dead_runs() == [old]
    assert store.get_run(young.run_id).status is RunStatus.RUNNING


def test_second_lock_on_a_run_is_refused(store, make_run, monkeypatch):
    monkeypatch.setattr(locks, "_ACQUIRE_PATIENCE_S", 0.05)
    run = store.create_run(make_run())
    with store.hold_runner_lock(run.run_id), pytest.raises(StoreError, match="already locked"):
        store.hold_runner_lock(run.run_id)
    with pytest.raises(StoreError, match="cannot create runner lock"):
        store.hold_runner_lock("0" * 32)  # no such run folder
