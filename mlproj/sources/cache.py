"""The source cache: one bare mirror per git URL, and the private checkouts of running runs.

Layout under ``settings.cache_dir()`` (``MLPROJ_CACHE_DIR``)::

    git/<name>-<hash>/mirror.git    bare repository fetching the URL's branches and tags
    git/<name>-<hash>/source.json   the URL (credentials stripped) and when it was first cloned
    git/<name>-<hash>/lock          flock: shared to read the mirror, exclusive to change it
    git/<name>-<hash>/used          touched on every use (what `cache prune --older-than` reads)
    git/<name>-<hash>/memo.json     commits of tags and submodules of commits (see ``memo.py``)
    git/<name>-<hash>/spares/       unchanged checkouts waiting for the next run of their commit
    work/<name>-<random>/           one run's checkout (see ``workdir.py``)
    work/<name>-<random>.lock       flock held by the process using that checkout

A lock file is never deleted while it could be waited on; :func:`locked` re-checks after getting
the lock that the file it locked is still the one at the path (prune may have replaced it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.filelock import acquire
from mlproj.settings import cache_dir
from mlproj.sources.giturl import GitUrl

GIT_DIRNAME = "git"
WORK_DIRNAME = "work"
_TRASH_PREFIX = ".trash-"


@dataclass(frozen=True, slots=True)
class MirrorEntry:
    """The cache folder of one git URL."""

    root: Path

    @property
    def mirror(self) -> Path:
        return self.root / "mirror.git"

    @property
    def lock_path(self) -> Path:
        return self.root / "lock"

    @property
    def info_path(self) -> Path:
        return self.root / "source.json"

    def exists(self) -> bool:
        """True once a complete mirror is in place (it appears by an atomic rename)."""
        return (self.mirror / "HEAD").is_file()

    def touch(self) -> None:
        """Record a use (for `mlproj cache prune --older-than`)."""
        used = self.root / "used"
        with contextlib.suppress(OSError):
            used.touch()

    def write_info(self, url: GitUrl) -> None:
        info = {"url": url.url, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        tmp = self.root / f".source.json.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(info) + "\n")
        tmp.replace(self.info_path)

    def new_temp(self) -> Path:
        """A fresh path next to the mirror for something to be renamed into place."""
        return self.root / f"{_TRASH_PREFIX}{uuid.uuid4().hex}"

    def clear_leftovers(self) -> None:
        """Remove temporary folders a killed process left (call with the exclusive lock)."""
        for child in self.root.glob(f"{_TRASH_PREFIX}*"):
            shutil.rmtree(child, ignore_errors=True)


def root(cache: Path | None = None) -> Path:
    """The cache folder in use (``cache`` when given, else the configured one)."""
    return cache if cache is not None else cache_dir()


def mirror_entry(url: GitUrl, cache: Path | None = None) -> MirrorEntry:
    """The cache folder of ``url`` (created empty if needed).

    Raises:
        SourceError: The cache folder cannot be created.
    """
    entry = MirrorEntry(root(cache) / GIT_DIRNAME / url.key)
    try:
        entry.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(
            f"cannot create the cache folder {entry.root} ({exc.strerror}); "
            "set MLPROJ_CACHE_DIR to a writable folder"
        ) from None
    return entry


@contextlib.contextmanager
def locked(
    path: Path,
    *,
    shared: bool = False,
    wait: bool = True,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[bool]:
    """Hold an flock on ``path`` (created if missing); yields False if busy and ``wait`` is False.

    Runs of the same URL take it shared to read the mirror and exclusive to create or fetch it,
    so concurrent runs never see a half-fetched mirror and never fetch into it at once.
    ``on_wait`` is called once if the lock is busy and this call is about to wait for it.

    Raises:
        SourceError: The lock file cannot be created (the cache folder is not writable).
    """
    try:
        fd = acquire(path, shared=shared, block=wait, on_wait=on_wait)
    except OSError as exc:
        raise SourceError(
            f"cannot use the cache folder {path.parent} ({exc.strerror}); "
            "set MLPROJ_CACHE_DIR to a writable folder"
        ) from None
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)


def tree_size(path: Path) -> int:
    """Bytes used by the files under ``path`` (symlinks not followed)."""
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in (*files, *dirs):
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def remove_tree(path: Path) -> None:
    """Remove ``path``: renamed away first, so an interrupted removal leaves nothing half-valid."""
    if not path.exists():
        return
    trash = path.with_name(f"{_TRASH_PREFIX}{uuid.uuid4().hex}")
    try:
        path.rename(trash)
    except OSError:
        trash = path
    _make_writable(trash)
    shutil.rmtree(trash, ignore_errors=True)


def _make_writable(path: Path) -> None:
    # Checkouts may contain read-only folders (a project's own, or chmod-ed by a run).
    for folder, dirs, _files in os.walk(path):
        for name in dirs:
            with contextlib.suppress(OSError):
                full = os.path.join(folder, name)
                if not os.path.islink(full):
                    os.chmod(full, 0o755)  # noqa: S103 - our own cache folder, about to be removed
