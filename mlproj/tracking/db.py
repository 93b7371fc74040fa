"""The one module that talks to SQLite: connection, pragmas, transactions, migrations, errors.

Every read happens in a ``BEGIN`` transaction (one consistent snapshot for a page of runs and its
params), every write in ``BEGIN IMMEDIATE`` (the write lock is taken up front, so two writers
queue on the busy timeout instead of failing half-way with SQLITE_BUSY). The database runs in WAL
mode so readers never wait for a writer, except on a filesystem other hosts share, where WAL is
unsafe and a rollback journal is used (:mod:`mlproj.tracking.filesystems`).

SQL in this package is written with qmark (``?``) placeholders; :meth:`Tx._native` is the one
place a driver with another paramstyle (psycopg's ``%s``) would translate them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlproj.errors import MlprojError, StoreError
from mlproj.tracking.migrations import LATEST_VERSION, MIGRATIONS

#: Chooses the journal (see mlproj/tracking/filesystems.py, which reads it).
JOURNAL_ENV = "MLPROJ_STORE_JOURNAL"
#: How long a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_S = 30.0
#: Name and id of the experiment runs go to when none is named.
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"

Row = tuple[Any, ...]


def placeholders(count: int) -> str:
    """``?, ?, ?`` for ``count`` values (an ``IN (...)`` list or a ``VALUES`` row)."""
    return ", ".join("?" * count)


def now_ms() -> int:
    """The current time in milliseconds since the epoch (the unit of every stored time)."""
    return time.time_ns() // 1_000_000


class Tx:
    """A transaction's view of the connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @staticmethod
    def _native(sql: str) -> str:
        # sqlite3 speaks qmark natively; another driver would rewrite placeholders here.
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        return self._conn.execute(self._native(sql), params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""
        self._conn.executemany(self._native(sql), rows)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """All result rows of a query."""
        return self._conn.execute(self._native(sql), params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first result row of a query, or None."""
        row: Row | None = self._conn.execute(self._native(sql), params).fetchone()
        return row


class Database:
    """A lazily opened SQLite file, migrated to :data:`LATEST_VERSION` on first use."""

    def __init__(self, path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        # One transaction at a time per connection: the runner may finish a run from another
        # thread than the one that created it.
        self._lock = threading.Lock()

    def exists(self) -> bool:
        """True when the database file (or something in its place) exists."""
        return self._conn is not None or self.path.exists()

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction; creates the folder and the database when missing."""
        with self._lock, self._translated():
            conn = self._connection(create=True)
            with self._transaction(conn, "BEGIN IMMEDIATE"):
                yield Tx(conn)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read transaction (one snapshot). Call only when :meth:`exists` is true."""
        with self._lock, self._translated():
            conn = self._connection(create=False)
            with self._transaction(conn, "BEGIN"):
                yield Tx(conn)

    def close(self) -> None:
        """Close the connection (a later call opens it again)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @staticmethod
    @contextmanager
    def _transaction(conn: sqlite3.Connection, begin: str) -> Iterator[None]:
        conn.execute(begin)
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            # SQLite rolls back by itself after some errors (disk full); a second ROLLBACK
            # would then raise and hide the real error.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _connection(self, *, create: bool) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create tracking store folder {self.path.parent} ({exc.strerror}); "
                    "choose another --tracking-uri or fix the folder's permissions"
                ) from exc
        # isolation_level=None: the module issues BEGIN/COMMIT itself (no implicit transactions).
        # mode=rw on reads: a read must never create the database, even if it vanished meanwhile.
        target = self.path.absolute().as_uri() + ("" if create else "?mode=rw")
        conn = sqlite3.connect(
            target,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            uri=True,
            check_same_thread=False,
        )
        try:
            self._configure(conn)
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _configure(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        # The journal mode is kept in the file: it is chosen when the file is new (WAL, or a
        # rollback journal on a filesystem other hosts share: see filesystems.py), or when
        # MLPROJ_STORE_JOURNAL asks for one.
        wanted = None
        new = conn.execute("PRAGMA page_count").fetchone()[0] == 0
        if new or os.environ.get(JOURNAL_ENV):
            # Imported here: an existing store, the common case, needs none of it.
            from mlproj.tracking.filesystems import journal_for_new_store, journal_override

            wanted = journal_override() or (journal_for_new_store(self.path) if new else None)
        if wanted is None:
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
        else:
            mode = self._set_journal(conn, wanted)
        # NORMAL is safe in WAL mode (no corruption on power loss, only the last commits lost);
        # with a rollback journal, only FULL is.
        conn.execute(f"PRAGMA synchronous = {'NORMAL' if mode == 'wal' else 'FULL'}")
        # LIKE is case-sensitive in PostgreSQL and MLflow; ILIKE is the insensitive form.
        conn.execute("PRAGMA case_sensitive_like = ON")

    def _set_journal(self, conn: sqlite3.Connection, mode: str) -> str:
        deadline = time.monotonic() + self._busy_timeout_s
        while True:
            # Switching a brand-new file to WAL needs an exclusive lock, and SQLite may report
            # SQLITE_BUSY for it without calling the busy handler when 8 processes race here.
            try:
                return str(conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if self._version(conn) == LATEST_VERSION:
            return  # the common case: no write lock taken on open
        with self._transaction(conn, "BEGIN IMMEDIATE"):
            tx = Tx(conn)
            self._refuse_foreign(tx)
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)"
            )
            # Read again under the write lock: another process may have migrated meanwhile.
            current = self._version(conn) or 0
            for version, statements in MIGRATIONS:
                if version > current:
                    for statement in statements:
                        tx.execute(statement)
                    tx.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                        (version, now_ms()),
                    )
            tx.execute(
                "INSERT INTO experiments (experiment_id, name, creation_time) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, now_ms()),
            )

    def _refuse_foreign(self, tx: Tx) -> None:
        """Refuse a database of another application (say an MLflow store): never write into it."""
        tables = {
            str(row[0]) for row in tx.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if tables and "schema_migrations" not in tables:
            raise StoreError(
                f"{self.path} is a SQLite database of another application (tables: "
                f"{', '.join(sorted(tables)[:5])}); point --tracking-uri at a new file or folder"
            )

    def _version(self, conn: sqlite3.Connection) -> int | None:
        try:
            row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        version = int(row[0]) if row and row[0] is not None else None
        if version is not None and version > LATEST_VERSION:
            raise StoreError(
                f"tracking store {self.path} has schema version {version}, newer than this "
                f"mlproj understands ({LATEST_VERSION}); upgrade mlproj or use another store"
            )
        return version

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except MlprojError:
            raise
        except sqlite3.Error as exc:
            raise self._store_error(exc) from exc

    def _store_error(self, exc: sqlite3.Error) -> StoreError:
        reason = str(exc)
        if _is_busy(exc):
            return StoreError(
                f"tracking store {self.path} is locked by another process (waited "
                f"{self._busy_timeout_s:g} s); retry when the other mlproj command finishes"
            )
        if "not a database" in reason or "malformed" in reason:
            return StoreError(
                f"tracking store {self.path} is not a readable SQLite database ({reason}); "
                "move the file aside or use another --tracking-uri"
            )
        if "unable to open" in reason or "readonly" in reason:
            return StoreError(
                f"cannot open tracking store {self.path} ({reason}); check that it is a "
                "writable file (not a folder) or use another --tracking-uri"
            )
        return StoreError(f"tracking store {self.path} failed: {reason}; retry or check the disk")


def _is_busy(exc: sqlite3.Error) -> bool:
    reason = str(exc)
    return "locked" in reason or "busy" in reason
