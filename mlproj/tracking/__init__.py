"""The tracking store: experiments, runs, params, metrics and tags in a local SQLite database.

This package stores strings, numbers and enums; it knows nothing of projects or environments.
Start with :meth:`mlproj.tracking.store.Store.open`.
"""

from mlproj.tracking.models import Experiment, Metric, NewRun, PastRun, Run, RunStatus
from mlproj.tracking.store import RunnerLock, Store

__all__ = ["Experiment", "Metric", "NewRun", "PastRun", "Run", "RunStatus", "RunnerLock", "Store"]
