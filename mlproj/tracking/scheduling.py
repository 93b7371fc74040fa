"""Store queries for runs that execute elsewhere (a detached process, a cluster job).

Such a run is created SCHEDULED by the submitting mlproj; the mlproj that executes it marks it
RUNNING when it starts, and either that process or the submitter's status poll records its end.
Every transition is guarded by the status it leaves, so the two sides never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlproj.tracking import writes
from mlproj.tracking.db import Tx, now_ms
from mlproj.tracking.models import RunStatus

# The tags index (key, value, run_key) finds the few tagged runs among any number of runs.
_TAGGED = """
    SELECT r.run_id, r.status, t.value FROM tags t
    JOIN runs r ON r.run_key = t.run_key
    WHERE t.key = ?
"""


@dataclass(frozen=True, slots=True)
class TaggedRun:
    """A run carrying the tag asked for, with its status and the tag's value."""

    run_id: str
    status: RunStatus
    tag_value: str


def runs_with_tag(tx: Tx, key: str) -> list[TaggedRun]:
    """Every run that has the tag ``key`` (meant for rare tags, like "still watched")."""
    return [
        TaggedRun(run_id, RunStatus(status), value)
        for run_id, status, value in tx.rows(_TAGGED, (key,))
    ]


def mark_running(tx: Tx, run_id: str) -> bool:
    """SCHEDULED -> RUNNING, the start time reset to now; False when the run is not SCHEDULED."""
    changed = tx.execute(
        "UPDATE runs SET status = ?, start_time = ? WHERE run_id = ? AND status = ?",
        (RunStatus.RUNNING.value, now_ms(), run_id, RunStatus.SCHEDULED.value),
    )
    return bool(changed)


def end_active_run(
    tx: Tx, run_id: str, status: RunStatus, exit_code: int | None, tags: Mapping[str, str]
) -> bool:
    """Record the end of a run still SCHEDULED or RUNNING (with ``tags``); False if it had ended."""
    row = tx.one("SELECT run_key, status FROM runs WHERE run_id = ?", (run_id,))
    if row is None or RunStatus(row[1]).is_terminal:
        return False
    tx.execute(
        "UPDATE runs SET status = ?, exit_code = ?, end_time = ? WHERE run_key = ?",
        (status.value, exit_code, now_ms(), row[0]),
    )
    writes.upsert_tags(tx, row[0], tags)
    return True
