"""Finding earlier runs of the same work (``mlproj run --reuse``): the criteria and their query.

Apart from :mod:`mlproj.tracking.models` and :mod:`mlproj.tracking.queries` because only
``--reuse`` needs them: a plain run never loads this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlproj.tracking.models import RunStatus


@dataclass(frozen=True, slots=True)
class RunMatch:
    """Exact criteria for finding earlier runs of the same work (``mlproj run --reuse``).

    A ``None`` field matches only ``None``; ``params`` must be equal as a whole.
    """

    source_uri: str
    source_commit: str
    source_subdir: str | None
    entry_point: str
    env_manager: str
    env_key: str | None
    params: Mapping[str, str]
    source_dirty: bool = False
    status: RunStatus = RunStatus.FINISHED


#: Candidates for :meth:`Store.find_runs` (params are compared by the caller), newest first.
#: ``(x = ? OR (x IS NULL AND ? IS NULL))`` is null-safe equality in portable SQL.
MATCH_RUNS = (
    "SELECT run_key FROM runs WHERE status = ? AND source_uri = ? AND source_commit = ? "
    "AND entry_point = ? AND env_manager = ? AND source_dirty = ? "
    "AND (source_subdir = ? OR (source_subdir IS NULL AND ? IS NULL)) "
    "AND (env_key = ? OR (env_key IS NULL AND ? IS NULL)) "
    "ORDER BY start_time DESC, run_key DESC LIMIT 200"
)


def match_values(match: RunMatch) -> tuple[object, ...]:
    """The values bound to :data:`MATCH_RUNS`."""
    return (
        match.status.value,
        match.source_uri,
        match.source_commit,
        match.entry_point,
        match.env_manager,
        match.source_dirty,
        match.source_subdir,
        match.source_subdir,
        match.env_key,
        match.env_key,
    )
