"""`mlproj envs list` and `mlproj envs prune`: what the environment cache holds, and cleaning it.

An environment a run is using holds its key's lock (shared), so prune skips it; leftovers of
killed or failed builds (a folder without a completion marker, lock free) are always removed.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from mlproj.envs.cache import Entry, age, entries, envs_root, folder_size
from mlproj.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "": 86400}


@dataclass(frozen=True, slots=True)
class EnvInfo:
    """One cached environment as `envs list` shows it."""

    key: str
    manager: str
    tool: str
    python: str
    #: "ready", "in use" (a run holds it), "building" or "incomplete" (a killed build's leftover).
    state: str
    size: int
    last_used: float
    projects: tuple[str, ...]
    path: Path


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What `envs prune` removed (key, bytes) and what it left because a run is using it."""

    removed: tuple[tuple[str, int], ...]
    in_use: tuple[str, ...]


def parse_duration(text: str) -> float:
    """``30d``, ``12h``, ``45m``, ``2w``, ``90s`` or a plain number of days, in seconds.

    Raises:
        UsageError: The text is not a duration.
    """
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(
            f"--older-than: {text!r} is not a duration (e.g. 30d, 12h, 45m, 2w; a plain number "
            "means days)"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def list_envs(root: Path | None = None) -> list[EnvInfo]:
    """Every cached environment, most recently used first."""
    infos = [_info(entry) for entry in entries(root)]
    return sorted(infos, key=lambda info: info.last_used, reverse=True)


def _info(entry: Entry) -> EnvInfo:
    marker = entry.marker()
    lock = entry.try_lock()
    if lock is not None:
        lock.release()
        state = "ready" if marker else "incomplete"
    else:
        state = "in use" if marker else "building"
    return EnvInfo(
        key=entry.key,
        manager=marker.manager if marker else "-",
        tool=marker.tool if marker else "-",
        python=marker.python if marker else "-",
        state=state,
        size=folder_size(entry.folder),
        last_used=entry.last_used(),
        projects=tuple(entry.projects()),
        path=entry.prefix,
    )


def prune_envs(
    *, older_than: float | None = None, everything: bool = False, root: Path | None = None
) -> PruneResult:
    """Remove cached environments.

    Args:
        older_than: Also remove environments not used for this many seconds.
        everything: Remove every environment no run is using.
        root: The cache folder (default: :func:`mlproj.envs.cache.envs_root`).
    """
    removed: list[tuple[str, int]] = []
    in_use: list[str] = []
    for entry in entries(root):
        complete = entry.marker() is not None
        wanted = (
            everything
            or not complete
            or (older_than is not None and age(entry.last_used()) > older_than)
        )
        if not wanted:
            continue
        lock = entry.try_lock()
        if lock is None:
            if complete:
                in_use.append(entry.key)
            continue  # a build in progress is not a leftover
        try:
            size = folder_size(entry.folder)
            entry.clear()
            with contextlib.suppress(FileNotFoundError):
                entry.lock_path.unlink()  # waiters notice the lock file changed and retry
        finally:
            lock.release()
        removed.append((entry.key, size))
    _remove_stray_locks(root or envs_root())
    return PruneResult(tuple(removed), tuple(in_use))


def _remove_stray_locks(root: Path) -> None:
    """Lock files whose environment folder is gone (and that nobody holds)."""
    with contextlib.suppress(OSError):
        for lock_file in root.glob("*.lock"):
            entry = Entry(root, lock_file.name.removesuffix(".lock"))
            if entry.folder.exists():
                continue
            lock = entry.try_lock()
            if lock is None:
                continue
            try:
                if not entry.folder.exists():
                    entry.forget_failure()  # the note of a failed build goes with its lock
                    lock_file.unlink(missing_ok=True)
            finally:
                lock.release()
