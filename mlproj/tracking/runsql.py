"""The SQL that reads whole runs, shared by reading runs by key and by searching.

Apart from :mod:`mlproj.tracking.sqlgen` so that creating and reading a run (every `mlproj run`)
does not load the filter language, its parser and its SQL generator (nor its ``Sql`` record).
"""

from __future__ import annotations

from mlproj.tracking.db import placeholders

#: Run columns in the order :func:`mlproj.tracking.queries.run_from_row` reads them.
RUN_COLUMNS = (
    "r.run_key, r.run_id, r.experiment_id, e.name, r.run_name, r.status, r.exit_code, "
    "r.start_time, r.end_time, r.entry_point, r.command, r.source_uri, r.source_version, "
    "r.source_commit, r.source_dirty, r.source_subdir, r.env_manager, r.env_key, r.user_name, "
    "r.host, r.mlproj_version"
)
RUNS_FROM = "FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id"


def select_runs_by_key(count: int) -> str:
    """``SELECT`` of :data:`RUN_COLUMNS` for ``count`` run keys, bound in order (rows unordered)."""
    return f"SELECT {RUN_COLUMNS} {RUNS_FROM} WHERE r.run_key IN ({placeholders(count)})"
