"""The records of the tracking store: experiments, runs, metrics.

Plain frozen dataclasses of strings, numbers and enums. Nothing here knows about projects,
environments or SQL; :mod:`mlproj.tracking.store` turns them into rows and back. The criteria of
``--reuse`` are in :mod:`mlproj.tracking.matching`, loaded only by it. :class:`Experiment`,
:class:`Metric` and :class:`PastRun` are in :mod:`mlproj.tracking.history`: a run that logs
nothing never builds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlproj.status import RunStatus

# RunStatus is re-exported: the store's callers name it from here.
__all__ = ["NewRun", "Run", "RunStatus"]


@dataclass(frozen=True, slots=True)
class NewRun:
    """What the runner knows when it creates a run (the store adds id, times and artifact path)."""

    experiment_name: str
    run_name: str | None
    entry_point: str
    command: str
    source_uri: str
    source_version: str | None
    source_commit: str | None
    source_dirty: bool | None
    source_subdir: str | None
    env_manager: str
    env_key: str | None
    user: str
    host: str
    mlproj_version: str
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    status: RunStatus = RunStatus.RUNNING

    def __post_init__(self) -> None:
        # Copy the mappings so a caller mutating its dict later cannot change a "frozen" record.
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "tags", dict(self.tags))


@dataclass(frozen=True, slots=True)
class Run:
    """A run as recorded. ``metrics`` holds the latest value per key (see ``Store.log_metrics``)."""

    run_id: str
    experiment_id: str
    experiment_name: str
    run_name: str
    status: RunStatus
    exit_code: int | None
    start_time: int
    end_time: int | None
    entry_point: str
    command: str
    source_uri: str
    source_version: str | None
    source_commit: str | None
    source_dirty: bool | None
    source_subdir: str | None
    env_manager: str
    env_key: str | None
    user: str
    host: str
    mlproj_version: str
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
