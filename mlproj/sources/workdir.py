"""Private checkouts: the folder one run of a git source works in.

Each run of a git source (or of a local repository with ``-v``) gets its own folder under
``<cache>/work/``, holding exactly one commit, so nothing else writes to it and the entry point
may write into it as it would in MLflow's temporary clone. The owning process holds an flock on
``<folder>.lock`` while it uses the folder; `mlproj cache prune` skips locked folders.

At the end (:meth:`Workdir.release`) the folder is compared with what it held right after the
checkout (every path, size, mtime and mode; Python's ``__pycache__`` aside):

* changed: the run wrote into it; it is kept (its outputs may matter) and its path returned, so
  the runner can record where it is;
* unchanged, and offered for reuse (:meth:`Workdir.offer`): it becomes a *spare* of its commit
  under the mirror's ``spares/``; the next run of that commit claims it by one atomic rename
  instead of writing every file again, which keeps a cached run's source resolution in
  milliseconds whatever the repository's size;
* otherwise it is removed.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.sources.cache import WORK_DIRNAME, remove_tree

#: Relative path -> (size, mtime in ns, mode) of every file, link and folder of a checkout.
Manifest = dict[str, tuple[int, int, int]]
#: Spares kept per mirror (the most recent ones).
MAX_SPARES = 4
_PYCACHE = "__pycache__"


@dataclass(frozen=True, slots=True)
class Reuse:
    """Where an unchanged checkout of ``commit`` goes, and the provenance it carries along."""

    spares: Path
    commit: str
    details: dict[str, str] = field(default_factory=dict)


class Workdir:
    """A checkout folder owned by this process until :meth:`release`."""

    __slots__ = ("_fd", "_manifest", "_reuse", "path")

    def __init__(self, path: Path, fd: int, manifest: Manifest | None = None) -> None:
        self.path = path
        self._fd: int | None = fd
        self._manifest = manifest
        self._reuse: Reuse | None = None
        atexit.register(self.release)  # a run that never reaches the runner's end

    @classmethod
    def create(cls, cache: Path, name: str) -> Workdir:
        """A new empty folder ``<cache>/work/<name>-<random>``, locked by this process.

        Raises:
            SourceError: The folder cannot be created.
        """
        path, fd = _new_slot(cache, name)
        try:
            path.mkdir()
        except OSError as exc:
            _drop_slot(path, fd)
            raise SourceError(f"cannot create {path} ({exc.strerror})") from None
        return cls(path, fd)

    @classmethod
    def claim(
        cls, cache: Path, name: str, spares: Path, commit: str
    ) -> tuple[Workdir, dict[str, str]] | None:
        """Take a spare checkout of ``commit``, if one is free; with the details it carries."""
        for spare in sorted(spares.glob(f"{commit}-*")) if spares.is_dir() else ():
            path, fd = _new_slot(cache, name)
            try:
                (spare / "tree").rename(path)  # atomic: of racing runs, exactly one wins
            except OSError:
                _drop_slot(path, fd)
                continue
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                meta = json.loads((spare / "meta.json").read_text())
                manifest = {k: (v[0], v[1], v[2]) for k, v in meta["manifest"].items()}
                shutil.rmtree(spare, ignore_errors=True)
                if manifest_of(path) == manifest:  # still exactly the checkout it was
                    return cls(path, fd, manifest), dict(meta["details"])
            shutil.rmtree(spare, ignore_errors=True)
            remove_tree(path)
            _drop_slot(path, fd)
        return None

    def seal(self) -> None:
        """Remember the checkout as complete: later changes make :meth:`release` keep it."""
        self._manifest = manifest_of(self.path)

    def offer(self, reuse: Reuse) -> None:
        """Let :meth:`release` keep the folder as a spare of ``reuse.commit`` if unchanged."""
        self._reuse = reuse

    def release(self) -> Path | None:
        """Give the folder up: spare or remove it if unchanged, else keep it and return its path.

        Safe to call more than once.
        """
        if self._fd is None:
            return None
        atexit.unregister(self.release)
        kept: Path | None = None
        try:
            now = manifest_of(self.path) if self._manifest is not None else None
            if now is not None and now != self._manifest:
                kept = self.path
            elif now is None or self._reuse is None or not _stash(self.path, now, self._reuse):
                remove_tree(self.path)
        finally:
            fd, self._fd = self._fd, None
            if kept is None:
                _drop_slot(self.path, fd)
            else:
                os.close(fd)
        return kept


def lock_path(folder: Path) -> Path:
    """The lock file of a checkout folder."""
    return folder.with_name(folder.name + ".lock")


def _new_slot(cache: Path, name: str) -> tuple[Path, int]:
    """A fresh checkout path under ``<cache>/work`` and its lock, held (the folder not made)."""
    work = cache / WORK_DIRNAME
    path = work / f"{name}-{uuid.uuid4().hex[:10]}"
    try:
        work.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise SourceError(
            f"cannot create a checkout folder in {work} ({exc.strerror}); "
            "set MLPROJ_CACHE_DIR to a writable folder"
        ) from None
    fcntl.flock(fd, fcntl.LOCK_EX)
    return path, fd


def _drop_slot(path: Path, fd: int) -> None:
    with contextlib.suppress(OSError):
        lock_path(path).unlink()
    os.close(fd)


def _stash(path: Path, manifest: Manifest, reuse: Reuse) -> bool:
    """Move an unchanged checkout into ``reuse.spares``; False when it should be removed."""
    try:
        existing = sorted(reuse.spares.glob("*-*"), key=os.path.getmtime)
        for old in existing[: max(0, len(existing) - MAX_SPARES + 1)]:
            shutil.rmtree(old, ignore_errors=True)
        for folder, dirs, _files in os.walk(path):
            if _PYCACHE in dirs:
                shutil.rmtree(os.path.join(folder, _PYCACHE), ignore_errors=True)
                dirs.remove(_PYCACHE)
        spare = reuse.spares / f"{reuse.commit}-{uuid.uuid4().hex[:10]}"
        spare.mkdir(parents=True)
        meta = {"manifest": manifest, "details": reuse.details}
        (spare / "meta.json").write_text(json.dumps(meta))
        path.rename(spare / "tree")
    except OSError:
        return False
    return True


def manifest_of(root: Path) -> Manifest:
    """Size, modification time and mode of everything under ``root``, by relative path."""
    found: Manifest = {}
    pending = [("", str(root))]
    while pending:
        prefix, folder = pending.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if entry.name == _PYCACHE and entry.is_dir(follow_symlinks=False):
                    continue
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if entry.is_dir(follow_symlinks=False):
                        # A folder's own size and mtime change when Python adds __pycache__.
                        found[prefix + entry.name + "/"] = (0, 0, info.st_mode)
                        pending.append((f"{prefix}{entry.name}/", entry.path))
                    else:
                        found[prefix + entry.name] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return found
