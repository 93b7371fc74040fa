"""Writing rows: experiments, runs with their params, tags and metrics.

Every function runs inside a write transaction the caller opened (:meth:`Database.write`), so a
run and its params and tags appear together or not at all. Batches go through ``executemany``:
one statement prepared once, whatever the number of rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from mlproj.errors import UsageError
from mlproj.tracking.db import Tx, now_ms

if TYPE_CHECKING:  # a run that logs nothing builds neither (see mlproj.tracking.history)
    from mlproj.tracking.history import Experiment, Metric
    from mlproj.tracking.models import NewRun, RunStatus

#: (run_key, key, value or None for NaN, step, timestamp): one row of metrics and latest_metrics.
_MetricValues = tuple[int, str, float | None, int, int]
_INSERT_RUN = (
    "INSERT INTO runs (run_key, run_id, experiment_id, run_name, status, exit_code, start_time, "
    "end_time, entry_point, command, source_uri, source_version, source_commit, source_dirty, "
    "source_subdir, env_manager, env_key, user_name, host, mlproj_version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_PARAM = "INSERT INTO params (run_key, key, value, num_value) VALUES (?, ?, ?, ?)"
_UPSERT_TAG = (
    "INSERT INTO tags (run_key, key, value, num_value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (run_key, key) "
    "DO UPDATE SET value = excluded.value, num_value = excluded.num_value"
)
_INSERT_METRIC = "INSERT INTO metrics (run_key, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?)"
# MLflow's rule for the latest value: the highest step wins, then the highest timestamp; on a
# full tie the value logged last wins (executemany applies rows in order).
_UPSERT_LATEST = (
    "INSERT INTO latest_metrics (run_key, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (run_key, key) DO UPDATE SET value = excluded.value, step = excluded.step, "
    "timestamp = excluded.timestamp WHERE excluded.step > latest_metrics.step "
    "OR (excluded.step = latest_metrics.step AND excluded.timestamp >= latest_metrics.timestamp)"
)


class RunRow(NamedTuple):
    """A run ready to insert: the key, id and name the store chose, and what its row holds.

    A named tuple rather than a frozen dataclass: built and consumed inside one store call, not a
    record of its own; creating a dataclass would add about 1 ms to every `mlproj run`.
    """

    run_key: int
    run_id: str
    experiment_id: str
    run_name: str
    new: NewRun
    start_time: int
    end_time: int | None
    status: RunStatus
    exit_code: int | None
    metrics: Sequence[Metric] = ()


def experiment_id(tx: Tx, name: str) -> str:
    """The id of the experiment called ``name``, created when missing (all a new run needs)."""
    row = tx.one("SELECT experiment_id FROM experiments WHERE name = ?", (name,))
    return str(row[0]) if row is not None else insert_experiment(tx, name).experiment_id


def find_experiment(tx: Tx, name: str) -> Experiment | None:
    """The experiment called ``name``, or None."""
    from mlproj.tracking.history import Experiment

    row = tx.one(
        "SELECT experiment_id, name, creation_time FROM experiments WHERE name = ?", (name,)
    )
    return None if row is None else Experiment(str(row[0]), str(row[1]), int(row[2]))


def insert_experiment(tx: Tx, name: str) -> Experiment:
    """Create an experiment with the next free numeric id (writers are serialized, so no race)."""
    from mlproj.tracking.history import Experiment

    if not name.strip():
        raise UsageError("experiment name is empty; give a name such as 'baseline'")
    row = tx.one("SELECT MAX(CAST(experiment_id AS BIGINT)) FROM experiments")
    next_id = str(int(row[0]) + 1) if row and row[0] is not None else "1"
    experiment = Experiment(next_id, name, now_ms())
    tx.execute(
        "INSERT INTO experiments (experiment_id, name, creation_time) VALUES (?, ?, ?)",
        (experiment.experiment_id, experiment.name, experiment.creation_time),
    )
    return experiment


def ensure_experiment(tx: Tx, name: str) -> Experiment:
    """The experiment called ``name``, created when missing."""
    return find_experiment(tx, name) or insert_experiment(tx, name)


def next_run_key(tx: Tx) -> int:
    """The first free run key. Writers hold the write lock, so no other process can take it."""
    row = tx.one("SELECT MAX(run_key) FROM runs")
    return int(row[0]) + 1 if row and row[0] is not None else 1


def insert_runs(tx: Tx, rows: Sequence[RunRow]) -> None:
    """Insert runs with their params, tags and metrics (one statement per table)."""
    tx.executemany(_INSERT_RUN, (_run_values(row) for row in rows))
    tx.executemany(
        _INSERT_PARAM,
        (_keyed(row.run_key, key, val) for row in rows for key, val in row.new.params.items()),
    )
    tx.executemany(
        _UPSERT_TAG,
        (_keyed(row.run_key, key, val) for row in rows for key, val in row.new.tags.items()),
    )
    _insert_metric_values(
        tx, [_metric_values(row.run_key, metric) for row in rows for metric in row.metrics]
    )


def insert_params(tx: Tx, run_key: int, params: Mapping[str, str]) -> None:
    """Add params to a run; a key already logged must keep its value (as in MLflow)."""
    existing = {str(key): str(value) for key, value in tx.rows(
        "SELECT key, value FROM params WHERE run_key = ?", (run_key,)
    )}  # fmt: skip
    for key, value in params.items():
        if key in existing and existing[key] != value:
            raise UsageError(
                f"param '{key}' already logged with value '{existing[key]}' (new value "
                f"'{value}'); params cannot change within a run, log a tag or a new run instead"
            )
    tx.executemany(
        _INSERT_PARAM,
        (_keyed(run_key, key, value) for key, value in params.items() if key not in existing),
    )


def upsert_tags(tx: Tx, run_key: int, tags: Mapping[str, str]) -> None:
    """Set tags on a run, replacing the values of keys already set."""
    tx.executemany(_UPSERT_TAG, (_keyed(run_key, key, value) for key, value in tags.items()))


def insert_metrics(tx: Tx, run_key: int, metrics: Iterable[Metric]) -> None:
    """Append metric values to a run's history and move each key's latest value forward."""
    _insert_metric_values(tx, [_metric_values(run_key, metric) for metric in metrics])


def _insert_metric_values(tx: Tx, values: list[_MetricValues]) -> None:
    tx.executemany(_INSERT_METRIC, values)
    tx.executemany(_UPSERT_LATEST, _latest_of(values))


def _latest_of(values: list[_MetricValues]) -> list[_MetricValues]:
    """The one row per (run, key) that :data:`_UPSERT_LATEST` would end with, in batch order.

    Upserting only these leaves the same ``latest_metrics`` as upserting every row (highest step,
    then highest timestamp, then the last logged) and spares one statement per point: a batch of
    10,000 points of one metric costs one upsert, not 10,000.
    """
    best: dict[tuple[int, str], _MetricValues] = {}
    for row in values:
        current = best.get((row[0], row[1]))
        if current is None or (row[3], row[4]) >= (current[3], current[4]):
            best[(row[0], row[1])] = row
    return list(best.values())


def _run_values(row: RunRow) -> tuple[object, ...]:
    new = row.new
    return (
        row.run_key, row.run_id, row.experiment_id, row.run_name, row.status.value, row.exit_code,
        row.start_time, row.end_time, new.entry_point, new.command, new.source_uri,
        new.source_version, new.source_commit, new.source_dirty, new.source_subdir,
        new.env_manager, new.env_key, new.user, new.host, new.mlproj_version,
    )  # fmt: skip


def _keyed(run_key: int, key: str, value: str) -> tuple[int, str, str, float | None]:
    if not key:
        raise UsageError(f"an empty key cannot be logged (value '{value}')")
    return (run_key, key, str(value), numeric_value(str(value)))


def numeric_value(text: str) -> float | None:
    """``text`` as a finite number when it is one (what numeric filters on params compare)."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _metric_values(run_key: int, metric: Metric) -> _MetricValues:
    if not metric.key:
        raise UsageError("a metric with an empty key cannot be logged")
    try:
        value = float(metric.value)
        step, timestamp = int(metric.step), int(metric.timestamp)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"metric '{metric.key}' has a non-numeric value, step or time") from exc
    # NULL stands for NaN: SQLite cannot store NaN (see migrations.py).
    return (run_key, metric.key, None if math.isnan(value) else value, step, timestamp)
