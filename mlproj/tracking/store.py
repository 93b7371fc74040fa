"""The tracking store: the API the runner and the CLI use to record and read runs.

A store is a SQLite database plus one folder per run (logs, artifacts, the runner lock); see
:mod:`mlproj.tracking.location` for the layout. Opening a store is free: the database is touched
on first use, and only writes create it, so read commands on a missing store see an empty one.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from mlproj.errors import NotFoundError, StoreError, UsageError
from mlproj.tracking import queries, reaping, writes
from mlproj.tracking.db import Database, Tx, now_ms
from mlproj.tracking.location import resolve_location
from mlproj.tracking.locks import (
    RunnerLock,
    acquire_runner_lock,
    runner_pid,
)
from mlproj.tracking.models import NewRun, Run, RunStatus
from mlproj.tracking.names import generate_run_name, new_run_id

if TYPE_CHECKING:  # loaded by searches, metrics and bulk inserts when they need them, not by a run
    from mlproj.tracking.filters import Expr
    from mlproj.tracking.history import Experiment, Metric, PastRun
    from mlproj.tracking.matching import RunMatch
    from mlproj.tracking.scheduling import TaggedRun
    from mlproj.tracking.sqlgen import RunQuery

# Re-exported: the runner, the CLI and the tests name them from the store.
from mlproj.tracking.reaping import (
    DEAD_RUNNER_MESSAGE,
    FAILURE_TAG,
    UNCLAIMED_GRACE_MS,
)

__all__ = ["DEAD_RUNNER_MESSAGE", "FAILURE_TAG", "UNCLAIMED_GRACE_MS", "RunnerLock", "Store"]

_RUN_ID = r"[0-9a-f]{32}"  # compiled on first use (re's cache): only bulk inserts check ids


class Store:
    """A tracking store (see the module docstring). Use as a context manager or call close()."""

    __slots__ = ("_db", "db_path", "runs_dir", "uri")

    def __init__(self, uri: str, db_path: Path, runs_dir: Path) -> None:
        self.uri = uri
        self.db_path = db_path
        self.runs_dir = runs_dir
        self._db = Database(db_path)

    @classmethod
    def open(cls, uri: str | None = None, *, cwd: Path | None = None) -> Store:
        """The store at ``uri`` (None: ``$MLPROJ_TRACKING_URI``, else ``./mlruns``); no I/O.

        Raises:
            StoreError: The URI has an unsupported scheme.
        """
        location = resolve_location(uri, cwd)
        return cls(location.uri, location.db_path, location.runs_dir)

    def run_dir(self, run_id: str) -> Path:
        """The folder of a run (logs, ``artifacts/``, ``runner.lock``)."""
        return self.runs_dir / run_id

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Experiments ---------------------------------------------------------------------------

    def create_experiment(self, name: str) -> Experiment:
        """Create an experiment.

        Raises:
            UsageError: One with this name already exists.
        """
        with self._db.write() as tx:
            if writes.find_experiment(tx, name) is not None:
                raise UsageError(f"experiment '{name}' already exists; pick another name")
            return writes.insert_experiment(tx, name)

    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment called ``name``, created if needed (safe when processes race)."""
        with self._db.write() as tx:
            return writes.ensure_experiment(tx, name)

    def list_experiments(self) -> list[Experiment]:
        """Every experiment, oldest first ("Default", id "0", exists once anything was written)."""
        if not self._db.exists():
            return []
        with self._db.read() as tx:
            return queries.experiments(tx)

    # Writing runs --------------------------------------------------------------------------

    def create_run(self, new: NewRun) -> Run:
        """Record a new run and create its folder and ``artifacts/``.

        The runner should call :meth:`hold_runner_lock` right after, so the run can be told
        apart from one whose runner died.
        """
        run_id = new_run_id()
        run_dir = self.run_dir(run_id)
        _make_dirs(run_dir / queries.ARTIFACTS_DIRNAME)
        start_time = now_ms()
        run_name = new.run_name or generate_run_name()
        try:
            with self._db.write() as tx:
                experiment_id = writes.experiment_id(tx, new.experiment_name)
                key = writes.next_run_key(tx)
                row = writes.RunRow(
                    key, run_id, experiment_id, run_name, new, start_time,
                    end_time=None, status=new.status, exit_code=None,
                )  # fmt: skip
                writes.insert_runs(tx, [row])
                return queries.load_runs(tx, [key], self.runs_dir)[0]
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)  # no folder without its row
            raise

    def bulk_insert_runs(self, runs: Sequence[PastRun]) -> list[str]:
        """Insert complete runs in one transaction (imports, synthetic data); returns their ids.

        Run folders are not created (nothing was logged to them).
        """
        rows: list[writes.RunRow] = []
        with self._db.write() as tx:
            experiment_ids: dict[str, str] = {}
            first_key = writes.next_run_key(tx)
            for index, past in enumerate(runs):
                name = past.new.experiment_name
                if name not in experiment_ids:
                    experiment_ids[name] = writes.experiment_id(tx, name)
                run_id = past.run_id or new_run_id()
                if not re.fullmatch(_RUN_ID, run_id):
                    raise UsageError(f"run id '{run_id}' is not 32 lowercase hexadecimal digits")
                run_name = past.new.run_name or generate_run_name()
                row = writes.RunRow(
                    first_key + index, run_id, experiment_ids[name], run_name, past.new,
                    past.start_time, past.end_time, past.status, past.exit_code, past.metrics,
                )  # fmt: skip
                rows.append(row)
            writes.insert_runs(tx, rows)
        return [row.run_id for row in rows]

    def finish_run(
        self, run_id: str, status: RunStatus, exit_code: int | None, end_time: int | None = None
    ) -> None:
        """Record how a run ended (``end_time`` defaults to now)."""
        self._require_store(run_id)
        with self._db.write() as tx:
            changed = tx.execute(
                "UPDATE runs SET status = ?, exit_code = ?, end_time = ? WHERE run_id = ?",
                (status.value, exit_code, now_ms() if end_time is None else end_time, run_id),
            )
            if not changed:
                queries.run_key(tx, run_id)  # raises NotFoundError

    def mark_running(self, run_id: str) -> bool:
        """A SCHEDULED run starts (on its node); False when it is no longer SCHEDULED."""
        from mlproj.tracking import scheduling  # runs executed elsewhere only

        with self._db.write() as tx:
            return scheduling.mark_running(tx, run_id)

    def end_active_run(
        self, run_id: str, status: RunStatus, exit_code: int | None, tags: Mapping[str, str]
    ) -> bool:
        """Record the end of a SCHEDULED or RUNNING run; False (nothing written) if it ended."""
        from mlproj.tracking import scheduling

        with self._db.write() as tx:
            return scheduling.end_active_run(tx, run_id, status, exit_code, tags)

    def runs_with_tag(self, key: str) -> list[TaggedRun]:
        """Runs carrying the tag ``key``, whatever their status (for rare tags only)."""
        if not self._db.exists():
            return []
        from mlproj.tracking import scheduling

        with self._db.read() as tx:
            return scheduling.runs_with_tag(tx, key)

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Add params; re-logging a key with the same value is a no-op.

        Raises:
            UsageError: A key was already logged with a different value.
        """
        self._require_store(run_id)
        with self._db.write() as tx:
            writes.insert_params(tx, queries.run_key(tx, run_id), params)

    def log_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append metric values in one transaction, keeping the full history.

        The latest value per key (what ``Run.metrics`` and filters see) is the one with the
        highest step, then the highest timestamp, as in MLflow.
        """
        self._require_store(run_id)
        with self._db.write() as tx:
            writes.insert_metrics(tx, queries.run_key(tx, run_id), metrics)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set tags, replacing the values of keys already set."""
        self._require_store(run_id)
        with self._db.write() as tx:
            writes.upsert_tags(tx, queries.run_key(tx, run_id), tags)

    def set_run_name(self, run_id: str, name: str) -> None:
        """Rename a run."""
        self._require_store(run_id)
        if not name.strip():
            raise UsageError(f"run {run_id}: a run name cannot be empty")
        with self._db.write() as tx:
            key = queries.run_key(tx, run_id)
            tx.execute("UPDATE runs SET run_name = ? WHERE run_key = ?", (name, key))

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag (nothing happens when it is not set)."""
        self._require_store(run_id)
        with self._db.write() as tx:
            tx.execute(
                "DELETE FROM tags WHERE run_key = ? AND key = ?", (queries.run_key(tx, run_id), key)
            )

    # Reading runs --------------------------------------------------------------------------

    def get_run(self, run_id_or_prefix: str) -> Run:
        """The run whose id is or starts with ``run_id_or_prefix``.

        Raises:
            NotFoundError: No run matches, or several do (the message lists up to 5).
        """
        self._require_store(run_id_or_prefix)
        self.reap_dead_runs()
        with self._db.read() as tx:
            run_key = queries.resolve_run(tx, run_id_or_prefix)[0]
            return queries.load_runs(tx, [run_key], self.runs_dir)[0]

    def search_runs(
        self,
        *,
        experiment: str | None = None,
        status: RunStatus | None = None,
        filter: str | None = None,
        sort: str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[Run]:
        """Runs matching every given criterion, newest first unless ``sort`` says otherwise.

        Raises:
            UsageError: The filter or sort expression is malformed, or limit/offset negative.
            NotFoundError: ``experiment`` names no experiment.
        """
        if (limit is not None and limit < 0) or offset < 0:
            raise UsageError(f"limit and offset must be 0 or more (got {limit} and {offset})")
        from mlproj.tracking.filters import parse_filter, parse_sort

        expr, sort_key = parse_filter(filter), parse_sort(sort) if sort else None
        if not self._readable(experiment):
            return []
        with self._db.read() as tx:
            query = _run_query(tx, experiment, status, expr)
            keys = queries.search_keys(tx, query, sort_key, limit, offset)
            return queries.load_runs(tx, keys, self.runs_dir)

    def count_runs(
        self,
        *,
        experiment: str | None = None,
        status: RunStatus | None = None,
        filter: str | None = None,
    ) -> int:
        """How many runs :meth:`search_runs` would find without a limit."""
        from mlproj.tracking import sqlgen
        from mlproj.tracking.filters import parse_filter

        expr = parse_filter(filter)
        if not self._readable(experiment):
            return 0
        with self._db.read() as tx:
            count = sqlgen.count_runs(_run_query(tx, experiment, status, expr))
            row = tx.one(count.text, count.params)
            return int(row[0]) if row else 0

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value logged for ``key`` in a run (id or prefix), by step then timestamp."""
        from mlproj.tracking.history import Metric

        self._require_store(run_id)
        with self._db.read() as tx:
            run_key = queries.resolve_run(tx, run_id)[0]
            rows = tx.rows(
                "SELECT value, step, timestamp FROM metrics WHERE run_key = ? AND key = ? "
                "ORDER BY step, timestamp",
                (run_key, key),
            )
        return [
            Metric(key, math.nan if value is None else float(value), int(step), int(timestamp))
            for value, step, timestamp in rows
        ]

    def latest_metrics(self, run_id: str) -> list[Metric]:
        """The latest value of each metric of a run (id or prefix), with its step and time."""
        from mlproj.tracking.history import Metric

        self._require_store(run_id)
        with self._db.read() as tx:
            run_key = queries.resolve_run(tx, run_id)[0]
            rows = tx.rows(
                "SELECT key, value, step, timestamp FROM latest_metrics WHERE run_key = ? "
                "ORDER BY key",
                (run_key,),
            )
        return [
            Metric(str(key), math.nan if value is None else float(value), int(step), int(stamp))
            for key, value, step, stamp in rows
        ]

    def find_runs(self, match: RunMatch, limit: int = 20) -> list[Run]:
        """Runs that match ``match`` exactly (params included), newest first."""
        from mlproj.tracking.matching import MATCH_RUNS, match_values  # --reuse only

        if not self._readable(None):
            return []
        with self._db.read() as tx:
            keys = [int(row[0]) for row in tx.rows(MATCH_RUNS, match_values(match))]
            runs = queries.load_runs(tx, keys, self.runs_dir)
        wanted = dict(match.params)
        return [run for run in runs if run.params == wanted][:limit]

    def _require_store(self, run_id: str) -> None:
        """Refuse to touch a run of a store that does not exist (and do not create the store)."""
        if not self._db.exists():
            raise NotFoundError(f"no run matches '{run_id}' (store {self.uri} is empty)")

    def _readable(self, experiment: str | None) -> bool:
        """False when the store does not exist yet (nothing matches); reaps dead runs first."""
        if not self._db.exists():
            if experiment is not None:
                raise queries.unknown_experiment(experiment, [])
            return False
        self.reap_dead_runs()
        return True

    # Deleting and reaping ------------------------------------------------------------------

    def delete_runs(self, run_ids: Sequence[str]) -> list[str]:
        """Delete runs (ids or prefixes, all resolved first) with their folders; returns full ids.

        Raises:
            NotFoundError: An id matches no run or several (nothing is deleted).
            UsageError: A run is still RUNNING with a live runner (nothing is deleted).
        """
        if not run_ids:
            return []
        self._require_store(run_ids[0])
        self.reap_dead_runs()
        with self._db.write() as tx:
            resolved = dict(queries.resolve_run(tx, each) for each in run_ids)
            for key, run_id in resolved.items():
                row = tx.one("SELECT status FROM runs WHERE run_key = ?", (key,))
                if row is not None and row[0] == RunStatus.RUNNING.value:
                    raise UsageError(
                        f"run {run_id} is still running; stop it (or let it end) before deleting it"
                    )
            for table in ("metrics", "latest_metrics", "params", "tags", "runs"):
                # S608: the table names are the literals above.
                delete = f"DELETE FROM {table} WHERE run_key = ?"  # noqa: S608
                tx.executemany(delete, [(key,) for key in resolved])
        for run_id in resolved.values():
            _remove_dir(self.run_dir(run_id))
        return list(resolved.values())

    def hold_runner_lock(self, run_id: str) -> RunnerLock:
        """Lock the run as "runner alive" until the returned lock is released or the process dies.

        Raises:
            StoreError: The run folder is missing or another live runner holds the lock.
        """
        return acquire_runner_lock(self.run_dir(run_id))

    def runner_pid(self, run_id: str) -> int | None:
        """The pid of the process running the run here, while it holds the run's lock."""
        return runner_pid(self.run_dir(run_id))

    def reap_dead_runs(self) -> list[str]:
        """Mark FAILED every RUNNING run whose runner died; returns their ids."""
        if not self._db.exists():
            return []
        return reaping.reap_dead_runs(self._db, self.run_dir)


def _run_query(
    tx: Tx, experiment: str | None, status: RunStatus | None, expr: Expr | None
) -> RunQuery:
    from mlproj.tracking.sqlgen import RunQuery

    experiment_id = None if experiment is None else queries.experiment_id_by_name(tx, experiment)
    return RunQuery(experiment_id, status, expr)


def _make_dirs(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create run folder {path} ({exc.strerror}); choose another --tracking-uri "
            "or fix the folder's permissions"
        ) from exc


def _remove_dir(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass  # bulk-inserted runs have no folder
    except OSError as exc:
        raise StoreError(
            f"deleted the run from the store but could not remove {path} ({exc.strerror}); "
            "remove the folder by hand"
        ) from exc
