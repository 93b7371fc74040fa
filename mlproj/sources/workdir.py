"""Private checkouts: the folder one run of a git source works in.

Each run of a git source (or of a local repository with ``-v``) gets its own folder under
``<cache>/work/``, filled from the mirror with the exact commit, so nothing else writes to it and
the entry point may write into it as it would in MLflow's temporary clone. The owning process
holds an flock on ``<folder>.lock`` while it uses the folder; `mlproj cache prune` skips locked
folders.

At the end (:meth:`Workdir.release`) the folder is removed when the run left it as it was. When
the run wrote files into it, it is kept (its outputs may matter) and its path is returned, so the
runner can record where they are. Python's own ``__pycache__`` files do not count as changes.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import uuid
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.sources.cache import WORK_DIRNAME, remove_tree

_Manifest = dict[str, tuple[int, int]]


class Workdir:
    """A checkout folder owned by this process until :meth:`release`."""

    __slots__ = ("_fd", "_manifest", "path")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._manifest: _Manifest | None = None

    @classmethod
    def create(cls, cache: Path, name: str) -> Workdir:
        """A new empty folder ``<cache>/work/<name>-<random>``, locked by this process.

        Raises:
            SourceError: The folder cannot be created.
        """
        work = cache / WORK_DIRNAME
        path = work / f"{name}-{uuid.uuid4().hex[:10]}"
        try:
            work.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            path.mkdir()
        except OSError as exc:
            raise SourceError(
                f"cannot create a checkout folder in {work} ({exc.strerror}); "
                "set MLPROJ_CACHE_DIR to a writable folder"
            ) from None
        workdir = cls(path, fd)
        atexit.register(workdir.release)  # a run that never reaches the runner's end
        return workdir

    def seal(self) -> None:
        """Remember the checkout as complete: later changes make :meth:`release` keep it."""
        self._manifest = _manifest(self.path)

    def release(self) -> Path | None:
        """Give the folder up: remove it if unchanged, else keep it and return its path.

        Safe to call more than once.
        """
        if self._fd is None:
            return None
        atexit.unregister(self.release)
        kept: Path | None = None
        try:
            if self._manifest is not None and _manifest(self.path) != self._manifest:
                kept = self.path
            else:
                remove_tree(self.path)
        finally:
            if kept is None:
                with contextlib.suppress(OSError):
                    lock_path(self.path).unlink()
            os.close(self._fd)
            self._fd = None
        return kept


def lock_path(folder: Path) -> Path:
    """The lock file of a checkout folder."""
    return folder.with_name(folder.name + ".lock")


def _manifest(root: Path) -> _Manifest:
    """Size and modification time of every file and link under ``root``, by relative path."""
    found: _Manifest = {}
    pending = [("", str(root))]
    while pending:
        prefix, folder = pending.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append((f"{prefix}{entry.name}/", entry.path))
                    continue
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    found[prefix + entry.name] = (info.st_size, info.st_mtime_ns)
    return found
