"""The numbered schema migrations of the tracking store.

Each entry is ``(version, statements)``; :mod:`mlproj.tracking.db` applies the missing ones in
order inside one transaction and records each version in ``schema_migrations``. Never edit a
released migration: append a new one.

The SQL is kept portable so a PostgreSQL store can share it: standard types only (``TEXT``,
``BIGINT``, ``INTEGER``, ``BOOLEAN``, ``DOUBLE PRECISION``), no ``INSERT OR REPLACE``, no
``WITHOUT ROWID``, no ``AUTOINCREMENT``.

Notes on the shape:

* ``runs.run_key``: an integer surrogate key the store assigns (MAX + 1 under the write lock),
  used by every child table. In SQLite an ``INTEGER PRIMARY KEY`` is the rowid itself, so
  filters materialize and compare 8-byte integers instead of 32-character ids: the filtered
  search on 100,000 runs takes half the time it takes with text keys.
* ``runs_running`` is a partial index: only RUNNING runs are looked up by status (the dead-run
  check). A full index on a column with 3 common values made SQLite pick it for
  ``status = 'FINISHED'`` and sort most of the table.
* ``runs.user_name``: ``user`` is a reserved word in PostgreSQL.
* ``params.num_value`` / ``tags.num_value``: the value parsed as a number when it is one (else
  NULL), written by the store. Filters like ``params.alpha > 0.1`` compare it, because
  ``CAST('abc' AS REAL)`` is 0 in SQLite and an error in PostgreSQL. Params have an index on it
  (numeric param filters are common: ``params.alpha > 0.1``); tags do not.
* ``metrics.value`` and ``latest_metrics.value`` are NULL for NaN: SQLite cannot store NaN, and
  NULL makes a NaN metric match no comparison and sort last, which is what a user expects.
* ``latest_metrics`` holds one row per (run, key) so filters and the run page never scan history.
"""

from __future__ import annotations

#: (version, statements) in ascending version order.
MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            """CREATE TABLE experiments (
                experiment_id TEXT NOT NULL PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                creation_time BIGINT NOT NULL
            )""",
            """CREATE TABLE runs (
                run_key INTEGER NOT NULL PRIMARY KEY,
                run_id TEXT NOT NULL UNIQUE,
                experiment_id TEXT NOT NULL REFERENCES experiments (experiment_id),
                run_name TEXT NOT NULL,
                status TEXT NOT NULL,
                exit_code INTEGER,
                start_time BIGINT NOT NULL,
                end_time BIGINT,
                entry_point TEXT NOT NULL,
                command TEXT NOT NULL,
                source_uri TEXT NOT NULL,
                source_version TEXT,
                source_commit TEXT,
                source_dirty BOOLEAN,
                source_subdir TEXT,
                env_manager TEXT NOT NULL,
                env_key TEXT,
                user_name TEXT NOT NULL,
                host TEXT NOT NULL,
                mlproj_version TEXT NOT NULL
            )""",
            "CREATE INDEX runs_start_time ON runs (start_time, run_key)",
            "CREATE INDEX runs_running ON runs (status) WHERE status = 'RUNNING'",
            "CREATE INDEX runs_experiment ON runs (experiment_id, start_time, run_key)",
            """CREATE TABLE params (
                run_key INTEGER NOT NULL REFERENCES runs (run_key),
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                num_value DOUBLE PRECISION,
                PRIMARY KEY (run_key, key)
            )""",
            "CREATE INDEX params_key_value ON params (key, value, run_key)",
            "CREATE INDEX params_key_number ON params (key, num_value, run_key)",
            """CREATE TABLE tags (
                run_key INTEGER NOT NULL REFERENCES runs (run_key),
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                num_value DOUBLE PRECISION,
                PRIMARY KEY (run_key, key)
            )""",
            "CREATE INDEX tags_key_value ON tags (key, value, run_key)",
            """CREATE TABLE metrics (
                run_key INTEGER NOT NULL REFERENCES runs (run_key),
                key TEXT NOT NULL,
                value DOUBLE PRECISION,
                step BIGINT NOT NULL,
                timestamp BIGINT NOT NULL
            )""",
            "CREATE INDEX metrics_run_key ON metrics (run_key, key, step, timestamp)",
            """CREATE TABLE latest_metrics (
                run_key INTEGER NOT NULL REFERENCES runs (run_key),
                key TEXT NOT NULL,
                value DOUBLE PRECISION,
                step BIGINT NOT NULL,
                timestamp BIGINT NOT NULL,
                PRIMARY KEY (run_key, key)
            )""",
            "CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value, run_key)",
        ),
    ),
]

#: The schema version this code writes and understands.
LATEST_VERSION = MIGRATIONS[-1][0]
