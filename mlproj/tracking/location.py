"""Where a tracking URI puts the database and the run folders.

Two forms are accepted (the ones MLflow users already type):

* a folder path (``./mlruns``, ``/data/runs``, ``file:///data/runs``): the database is
  ``<folder>/mlproj.db`` and run folders are ``<folder>/runs/<run_id>/``;
* ``sqlite:///<path>.db`` (SQLAlchemy spelling: ``sqlite:///rel.db`` is relative,
  ``sqlite:////abs.db`` absolute): run folders go next to the database, in ``<dir>/runs/``.

Resolution is pure: nothing is read or created here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from mlproj.errors import StoreError

#: Environment variable naming the store when no URI is given.
TRACKING_URI_ENV = "MLPROJ_TRACKING_URI"
#: The store used when neither a URI nor the environment variable is given.
DEFAULT_URI = "./mlruns"
DB_FILENAME = "mlproj.db"
RUNS_DIRNAME = "runs"

_SQLITE_PREFIX = "sqlite:///"
_FILE_PREFIX = "file://"


class StoreLocation(NamedTuple):
    """The normalized URI of a store and the paths it maps to (all absolute).

    A named tuple rather than a frozen dataclass: :func:`resolve_location`'s answer, which its
    callers read at once (``Store.open`` and the runner's list of store paths), not a record kept
    anywhere; creating a dataclass would add about 1 ms to every `mlproj run`.
    """

    uri: str
    db_path: Path
    runs_dir: Path


def resolve_location(uri: str | None, cwd: Path | None = None) -> StoreLocation:
    """Map a tracking URI (None: the environment variable, else ``./mlruns``) to paths.

    Args:
        uri: The URI as the user gave it, or None.
        cwd: Directory relative paths are taken from (default: the process's).

    Raises:
        StoreError: The URI has a scheme mlproj cannot store runs in.
    """
    chosen = uri if uri else os.environ.get(TRACKING_URI_ENV) or DEFAULT_URI
    base = cwd if cwd is not None else Path.cwd()
    if chosen.startswith(_SQLITE_PREFIX):
        rest = chosen[len(_SQLITE_PREFIX) :]
        if not rest:
            raise StoreError(
                f"tracking URI '{chosen}' names no database file; use sqlite:///path.db"
            )
        db_path = _absolute(base, rest)
        return StoreLocation(f"{_SQLITE_PREFIX}{db_path}", db_path, db_path.parent / RUNS_DIRNAME)
    if chosen.startswith(_FILE_PREFIX):
        chosen = chosen[len(_FILE_PREFIX) :]
    elif "://" in chosen or chosen.startswith("sqlite:"):
        raise StoreError(
            f"tracking URI '{chosen}' is not supported; use a folder path or sqlite:///path.db"
        )
    folder = _absolute(base, chosen)
    return StoreLocation(str(folder), folder / DB_FILENAME, folder / RUNS_DIRNAME)


def _absolute(base: Path, path: str) -> Path:
    # abspath normalizes "a/../b" without resolving symlinks (a symlinked store stays as typed).
    return Path(os.path.abspath(base / Path(path).expanduser()))
