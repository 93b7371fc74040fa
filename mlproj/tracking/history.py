"""Experiments, metric values and complete past runs: records a run that logs nothing never builds.

`mlproj run` of an entry point that logs nothing creates one run and reads it back
(:class:`~mlproj.tracking.models.NewRun` and :class:`~mlproj.tracking.models.Run`). These records
load with the first experiment listed or created, metric logged or read back, or run inserted in
bulk, so that run does not pay about 1 ms of start-up for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlproj.status import RunStatus
    from mlproj.tracking.models import NewRun


@dataclass(frozen=True, slots=True)
class Experiment:
    """A named group of runs. ``creation_time`` is in milliseconds since the epoch."""

    experiment_id: str
    name: str
    creation_time: int


@dataclass(frozen=True, slots=True)
class Metric:
    """One logged metric value; ``timestamp`` is in milliseconds since the epoch."""

    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class PastRun:
    """A complete run to insert in bulk (synthetic data, imports): a :class:`NewRun` and its end.

    ``run_id`` None means "generate one".
    """

    new: NewRun
    start_time: int
    end_time: int | None
    status: RunStatus
    exit_code: int | None
    metrics: Sequence[Metric] = ()
    run_id: str | None = None
