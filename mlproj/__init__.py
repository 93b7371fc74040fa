"""mlproj: run MLproject projects reproducibly and record every run to a local tracking store.

The logging API, usable from any Python code::

    import mlproj

    mlproj.log_param("alpha", 0.5)
    for step in range(10):
        mlproj.log_metric("loss", 1 / (step + 1), step=step)
    mlproj.log_artifact("model.pkl")

Inside `mlproj run` the calls go into the run being recorded; elsewhere the first call starts a
run in the tracking store (``with mlproj.start_run(): ...`` to name and end it yourself).
Importing mlproj stays cheap: the machinery loads on the first call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from mlproj.fluent import ActiveRun
    from mlproj.tracking.models import RunStatus

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "active_run",
    "end_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "start_run",
]


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Record one value of metric ``key`` at ``step`` (default 0) in the current run."""
    from mlproj.fluent import target

    target().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Record several metrics at the same ``step``."""
    from mlproj.fluent import target

    sink = target()
    for key, value in metrics.items():
        sink.log_metric(key, value, step)


def log_param(key: str, value: object) -> None:
    """Record a parameter (as text). A key cannot change value within a run."""
    from mlproj.fluent import target

    target().log_param(key, value)


def log_params(params: Mapping[str, object]) -> None:
    """Record several parameters."""
    from mlproj.fluent import target

    sink = target()
    for key, value in params.items():
        sink.log_param(key, value)


def set_tag(key: str, value: object) -> None:
    """Set a tag (as text), replacing an earlier value."""
    from mlproj.fluent import target

    target().set_tag(key, value)


def set_tags(tags: Mapping[str, object]) -> None:
    """Set several tags."""
    from mlproj.fluent import target

    sink = target()
    for key, value in tags.items():
        sink.set_tag(key, value)


def log_artifact(path: str | Path, artifact_path: str | None = None) -> str:
    """Copy a file or folder into the run's artifacts (under ``artifact_path``); returns where.

    The copy is made at once, so the file may be deleted right after.
    """
    from mlproj.fluent import target

    return target().log_artifact(path, artifact_path)


def start_run(
    run_name: str | None = None,
    *,
    experiment_name: str | None = None,
    tags: Mapping[str, object] | None = None,
    tracking_uri: str | None = None,
) -> ActiveRun:
    """Start a run in the tracking store and make it the active run (``with`` ends it).

    Inside `mlproj run` this joins the run being recorded instead (its runner ends it).
    ``tracking_uri`` defaults to ``$MLPROJ_TRACKING_URI``, else ``./mlruns``.
    """
    from mlproj.fluent import start_run as start

    return start(run_name, experiment_name=experiment_name, tags=tags, tracking_uri=tracking_uri)


def end_run(status: str | RunStatus = "FINISHED") -> None:
    """End the active run with ``status`` (FINISHED, FAILED or KILLED)."""
    from mlproj.fluent import end_run as end

    end(status)


def active_run() -> ActiveRun | None:
    """The run logging calls go to, when one was started or joined."""
    from mlproj.fluent import active_run as active

    return active()
