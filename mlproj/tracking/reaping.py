"""Reaping: a RUNNING run whose runner died (SIGKILL, power loss) is recorded FAILED.

Each runner holds its run's lock (:mod:`mlproj.tracking.locks`) while it runs, so a RUNNING run
whose lock is free belongs to a dead runner. Runs executed on another host (a cluster job, marked
by :data:`~mlproj.tracking.locks.EXTERNAL_RUNNER`) are left to their backend's status instead:
file locks on shared filesystems are not trusted across hosts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlproj.tracking import writes
from mlproj.tracking.db import Database, now_ms
from mlproj.tracking.locks import EXTERNAL_RUNNER, RunnerState, runner_state
from mlproj.tracking.models import RunStatus

#: Tag set on runs that ended without their runner recording why (and on failed runs: the why).
FAILURE_TAG = "mlproj.failure"
DEAD_RUNNER_MESSAGE = "runner died without recording an end (killed or crashed)"
#: A RUNNING run whose lock was never claimed is only declared dead after this long: the runner
#: takes the lock right after create_run, so a younger unclaimed run is probably starting up.
UNCLAIMED_GRACE_MS = 60_000


def reap_dead_runs(db: Database, run_dir: Callable[[str], Path]) -> list[str]:
    """Mark FAILED every RUNNING run of ``db`` whose runner died; returns their ids.

    Only RUNNING runs are inspected (an index lookup plus one lock probe each).
    """
    with db.read() as tx:
        # The literal (not a bound value) lets SQLite use the partial index runs_running.
        running = tx.rows("SELECT run_key, run_id, start_time FROM runs WHERE status = 'RUNNING'")
    now = now_ms()
    dead = [
        (key, run_id) for key, run_id, start in running if _is_dead(run_dir(run_id), start, now)
    ]
    if not dead:
        return []
    reaped: list[str] = []
    with db.write() as tx:
        for key, run_id in dead:
            # The status guard skips a run its runner finished between our read and write.
            if tx.execute(
                "UPDATE runs SET status = ?, end_time = ? WHERE run_key = ? AND status = ?",
                (RunStatus.FAILED.value, now, key, RunStatus.RUNNING.value),
            ):
                writes.upsert_tags(tx, key, {FAILURE_TAG: DEAD_RUNNER_MESSAGE})
                reaped.append(run_id)
    return reaped


def _is_dead(run_dir: Path, start_time: int, now: int) -> bool:
    if (run_dir / EXTERNAL_RUNNER).exists():
        return False  # a cluster job: its backend's status decides, not a lock on a share
    state = runner_state(run_dir)
    if state is RunnerState.UNCLAIMED:
        return now - start_time > UNCLAIMED_GRACE_MS
    return state is RunnerState.DEAD
