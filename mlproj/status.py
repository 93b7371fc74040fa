"""The life cycle of a run, shared by the store (runs) and the backends (jobs): a leaf module."""

from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    """Lifecycle state of a run (the names MLflow uses)."""

    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        """True once the run has ended (FINISHED, FAILED or KILLED)."""
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)
