"""Reading runs and experiments: row mapping, page hydration, run id prefixes.

A page of runs costs four queries whatever its size: the runs, then their params, latest metrics
and tags, each fetched with one ``IN (...)`` list (chunked below SQLite's variable limit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.errors import NotFoundError
from mlproj.tracking.db import Row, Tx, placeholders
from mlproj.tracking.models import Run, RunStatus
from mlproj.tracking.runsql import select_runs_by_key

if TYPE_CHECKING:  # searches and listings load them; reading a run by key (`mlproj run`) does not
    from mlproj.tracking.filters import SortKey
    from mlproj.tracking.history import Experiment
    from mlproj.tracking.sqlgen import RunQuery, Sql

#: Longest IN list sent at once (SQLite's default limit is 32766 variables; stay far below).
CHUNK = 500
#: How many candidates an "ambiguous prefix" message lists.
MAX_CANDIDATES = 5
ARTIFACTS_DIRNAME = "artifacts"
#: How many of the newest runs a filtered search tests one by one before searching the whole
#: store (see :func:`search_keys`): enough for a page of a filter matching 1 run in 50.
NEWEST_WINDOW = 5_000
_HEX = frozenset("0123456789abcdef")


def run_from_row(
    row: Row,
    runs_dir: Path,
    params: dict[str, str],
    metrics: dict[str, float],
    tags: dict[str, str],
) -> Run:
    """Build a :class:`Run` from a row of :data:`mlproj.tracking.runsql.RUN_COLUMNS`."""
    run_id = str(row[1])
    dirty = row[14]
    return Run(
        run_id=run_id,
        experiment_id=row[2],
        experiment_name=row[3],
        run_name=row[4],
        status=RunStatus(row[5]),
        exit_code=row[6],
        start_time=row[7],
        end_time=row[8],
        entry_point=row[9],
        command=row[10],
        source_uri=row[11],
        source_version=row[12],
        source_commit=row[13],
        source_dirty=None if dirty is None else bool(dirty),
        source_subdir=row[15],
        env_manager=row[16],
        env_key=row[17],
        user=row[18],
        host=row[19],
        mlproj_version=row[20],
        artifact_uri=str(runs_dir / run_id / ARTIFACTS_DIRNAME),
        params=params,
        metrics=metrics,
        tags=tags,
    )


def load_runs(tx: Tx, keys: Sequence[int], runs_dir: Path) -> list[Run]:
    """The runs with these keys, in this order, with params, latest metrics and tags attached."""
    rows: dict[int, Row] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        rows.update((int(row[0]), row) for row in tx.rows(select_runs_by_key(len(chunk)), chunk))
    params = _keyed(tx, "SELECT run_key, key, value FROM params", keys)
    tags = _keyed(tx, "SELECT run_key, key, value FROM tags", keys)
    metrics: dict[int, dict[str, float]] = {}
    for run_key, key, value in _chunked_rows(
        tx, "SELECT run_key, key, value FROM latest_metrics", keys
    ):
        metrics.setdefault(run_key, {})[key] = math.nan if value is None else float(value)
    return [
        run_from_row(
            rows[key], runs_dir, params.get(key, {}), metrics.get(key, {}), tags.get(key, {})
        )
        for key in keys
    ]


def search_keys(
    tx: Tx, query: RunQuery, sort: SortKey | None, limit: int | None, offset: int
) -> list[int]:
    """The keys of one page of runs matching ``query``, in ``sort`` order.

    A filtered search in the default order (newest first) first looks only at the newest
    :data:`NEWEST_WINDOW` runs, testing the filter run by run; when they hold a full page, that
    page is the answer (every older run ranks after all of them). Otherwise, or for other sorts,
    the filter runs over the whole store as set operations. On 100,000 runs the window answers
    a typical filter in a few milliseconds, and costs under 10 ms when it cannot.
    """
    from mlproj.tracking import sqlgen

    if sort is None and query.filter is not None and limit:
        row = tx.one(
            "SELECT start_time FROM runs ORDER BY start_time DESC LIMIT 1 OFFSET ?",
            (NEWEST_WINDOW - 1,),
        )
        if row is not None:  # a smaller store is searched whole at once
            windowed = replace(query, since=int(row[0]))
            keys = _keys(tx, sqlgen.select_run_keys(windowed, None, limit, offset))
            if len(keys) == limit:
                return keys
    return _keys(tx, sqlgen.select_run_keys(query, sort, limit, offset))


def _keys(tx: Tx, select: Sql) -> list[int]:
    return [int(row[0]) for row in tx.rows(select.text, select.params)]


def _keyed(tx: Tx, select: str, keys: Sequence[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for run_key, key, value in _chunked_rows(tx, select, keys):
        found.setdefault(run_key, {})[key] = value
    return found


def _chunked_rows(tx: Tx, select: str, keys: Sequence[int]) -> list[Row]:
    rows: list[Row] = []
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        rows.extend(tx.rows(f"{select} WHERE run_key IN ({placeholders(len(chunk))})", chunk))
    return rows


def resolve_run(tx: Tx, prefix: str) -> tuple[int, str]:
    """The key and full id of the one run whose id starts with ``prefix``.

    Raises:
        NotFoundError: No run, or several runs, start with it.
    """
    wanted = prefix.strip().lower()
    if not wanted or len(wanted) > 32 or not set(wanted) <= _HEX:
        raise NotFoundError(f"no run matches '{prefix}' (run ids are 32 hexadecimal characters)")
    # A range on the primary key finds prefixes through the index; "g" sorts after every hex digit.
    rows = tx.rows(
        "SELECT run_key, run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id LIMIT ?",
        (wanted, wanted + "g", MAX_CANDIDATES + 1),
    )
    if not rows:
        raise NotFoundError(f"no run matches '{prefix}'; check the id and the tracking URI")
    if len(rows) > 1:
        shown = ", ".join(str(row[1]) for row in rows[:MAX_CANDIDATES])
        more = ", ..." if len(rows) > MAX_CANDIDATES else ""
        raise NotFoundError(
            f"run id prefix '{prefix}' is ambiguous: it matches {shown}{more}; give more characters"
        )
    return int(rows[0][0]), str(rows[0][1])


def run_key(tx: Tx, run_id: str) -> int:
    """The key of the run with exactly this id (writes take full ids only).

    Raises:
        NotFoundError: There is no such run.
    """
    row = tx.one("SELECT run_key FROM runs WHERE run_id = ?", (run_id,))
    if row is None:
        raise NotFoundError(f"no run with id '{run_id}'; check the id and the tracking URI")
    return int(row[0])


def experiments(tx: Tx) -> list[Experiment]:
    """Every experiment, oldest first."""
    from mlproj.tracking.history import Experiment

    rows = tx.rows(
        "SELECT experiment_id, name, creation_time FROM experiments "
        "ORDER BY creation_time, experiment_id"
    )
    return [Experiment(str(row[0]), str(row[1]), int(row[2])) for row in rows]


def experiment_id_by_name(tx: Tx, name: str) -> str:
    """The id of the experiment called ``name``.

    Raises:
        NotFoundError: There is none (the message lists the known names).
    """
    row = tx.one("SELECT experiment_id FROM experiments WHERE name = ?", (name,))
    if row is None:
        raise unknown_experiment(name, [experiment.name for experiment in experiments(tx)])
    return str(row[0])


def unknown_experiment(name: str, known: Sequence[str]) -> NotFoundError:
    """The error for an experiment name that does not exist."""
    listed = ", ".join(f"'{each}'" for each in known[:10]) or "none yet"
    return NotFoundError(f"no experiment named '{name}' (known: {listed})")
