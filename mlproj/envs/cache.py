"""The environment cache: one folder per key under ``<cache>/envs``, a lock file per key.

Layout of ``<cache>/envs``::

    <key>.lock            flock: exclusive while building or pruning, shared while a run uses it
    <key>/env/            the virtualenv or conda prefix
    <key>/mlproj-env.json the completion marker, written last (atomically): no marker, no reuse
    <key>/installed.txt   the installed set captured when it was built
    <key>/build.log       the build output
    <key>/last-used       touched by every run that uses it
    <key>/projects.txt    the project folders that used it

Environments are built in place, at their final path, under the exclusive lock. A virtualenv or
conda prefix is not relocatable (scripts and conda's prefix replacement embed the absolute path),
so building in a temporary folder and renaming it would publish an environment whose scripts point
at the temporary folder. Publication is instead the atomic rename of the marker file: a build that
is killed leaves a folder without a marker, which nothing reuses and which the next builder (or
``mlproj envs prune``) removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from mlproj.filelock import acquire
from mlproj.settings import cache_dir

MARKER = "mlproj-env.json"
INSTALLED = "installed.txt"
BUILD_LOG = "build.log"
LAST_USED = "last-used"
PROJECTS = "projects.txt"
PREFIX = "env"
_KEY = re.compile(r"^[0-9a-f]{16}$")


def envs_root() -> Path:
    """Where cached environments live (``<cache>/envs``; see :func:`mlproj.settings.cache_dir`)."""
    return cache_dir() / "envs"


@dataclass(frozen=True, slots=True)
class Marker:
    """The completion marker's content: what was built, with what, and when."""

    key: str
    manager: str
    tool: str
    python: str
    created: float
    build_seconds: float
    installed_count: int
    installed_sha256: str
    #: A folder (relative to the prefix) whose entries change when packages are added or removed,
    #: and a digest of those entries when the environment was built.
    watch: str = ""
    watch_signature: str = ""

    @classmethod
    def read(cls, path: Path) -> Marker | None:
        """The marker at ``path``; None when it is missing or unreadable (not complete)."""
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


class KeyLock:
    """A held flock on a key's lock file (exclusive or shared)."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def downgrade(self) -> None:
        """Exclusive to shared, so other runs may use the environment this one just built."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the lock


class Entry:
    """One key's place in the cache."""

    __slots__ = ("folder", "key", "lock_path", "prefix", "root")

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key
        self.folder = root / key
        self.prefix = self.folder / PREFIX
        self.lock_path = root / f"{key}.lock"

    def marker(self) -> Marker | None:
        return Marker.read(self.folder / MARKER)

    def installed(self) -> tuple[str, ...]:
        try:
            return tuple((self.folder / INSTALLED).read_text().splitlines())
        except OSError:
            return ()

    def lock(self, *, shared: bool, on_wait: Callable[[], None] | None = None) -> KeyLock:
        """Take the key's lock, waiting for it (``on_wait`` is called once if it must wait)."""
        fd = acquire(self.lock_path, shared=shared, on_wait=on_wait)
        assert fd is not None  # blocking acquisition always returns a descriptor
        return KeyLock(fd)

    def try_lock(self) -> KeyLock | None:
        """The exclusive lock if nobody holds the key's lock at all, else None."""
        fd = acquire(self.lock_path, block=False)
        return None if fd is None else KeyLock(fd)

    def clear(self) -> None:
        """Remove the folder, marker first, so a crash half-way never leaves a reusable env."""
        with contextlib.suppress(FileNotFoundError):
            (self.folder / MARKER).unlink()
        shutil.rmtree(self.folder, ignore_errors=True)

    def record_failure(self, message: str) -> None:
        """Note that a build of this key just failed (runs waiting on the lock read it)."""
        partial = self.root / f"{self.key}.failed.partial"
        partial.write_text(f"{time.time()}\n{message}", encoding="utf-8")
        partial.replace(self.root / f"{self.key}.failed")

    def failure_since(self, since: float) -> str | None:
        """The message of a build failure recorded at or after ``since`` (epoch seconds)."""
        try:
            when, message = (self.root / f"{self.key}.failed").read_text("utf-8").split("\n", 1)
            return message if float(when) >= since else None
        except (OSError, ValueError):
            return None

    def forget_failure(self) -> None:
        """A build succeeded: no earlier failure stands."""
        with contextlib.suppress(FileNotFoundError):
            (self.root / f"{self.key}.failed").unlink()

    def publish(self, marker: Marker, installed: tuple[str, ...], log: str) -> None:
        """Write the installed set and log, then the marker (atomically and durably, last)."""
        (self.folder / INSTALLED).write_text("".join(f"{line}\n" for line in installed))
        (self.folder / BUILD_LOG).write_text(log)
        (self.folder / LAST_USED).touch()
        temporary = self.folder / f".{MARKER}.tmp"
        with temporary.open("w") as handle:
            json.dump(asdict(marker), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.folder / MARKER)

    def touch(self, project_dir: Path) -> None:
        """Record a use: the last-used time and the project folder (best effort)."""
        with contextlib.suppress(OSError):
            (self.folder / LAST_USED).touch()
            projects = self.folder / PROJECTS
            known = projects.read_text().splitlines() if projects.exists() else []
            if str(project_dir) not in known:
                with projects.open("a") as handle:  # O_APPEND: concurrent lines do not interleave
                    handle.write(f"{project_dir}\n")

    def last_used(self) -> float:
        for name in (LAST_USED, MARKER):
            with contextlib.suppress(OSError):
                return (self.folder / name).stat().st_mtime
        with contextlib.suppress(OSError):
            return self.folder.stat().st_mtime
        return 0.0

    def projects(self) -> list[str]:
        try:
            return sorted(set((self.folder / PROJECTS).read_text().splitlines()))
        except OSError:
            return []


def entries(root: Path | None = None) -> Iterator[Entry]:
    """Every key folder (complete or not) in the cache, in key order."""
    root = root or envs_root()
    try:
        names = sorted(p.name for p in root.iterdir() if p.is_dir() and _KEY.match(p.name))
    except OSError:
        return
    for name in names:
        yield Entry(root, name)


def folder_size(folder: Path) -> int:
    """Bytes used by the files under ``folder`` (hard links counted once)."""
    total, seen = 0, set()
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            try:
                stat = os.lstat(os.path.join(parent, name))
            except OSError:
                continue
            if stat.st_nlink > 1:
                if (stat.st_dev, stat.st_ino) in seen:
                    continue
                seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_size
    return total


def age(seconds_since_epoch: float) -> float:
    """Seconds elapsed since a time."""
    return max(0.0, time.time() - seconds_since_epoch)
