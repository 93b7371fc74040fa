"""`mlproj cache list|prune`: what the source cache holds, and removing what is not in use.

A mirror is in use while a run holds its lock (resolving a source); a checkout while its run is
alive (its process holds the checkout's lock). Neither is ever removed then. Checkouts left
behind are those a run wrote into (kept on purpose) and those of runners killed outright.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from mlproj.sources.cache import (
    GIT_DIRNAME,
    WORK_DIRNAME,
    MirrorEntry,
    locked,
    remove_tree,
    root,
    tree_size,
)
from mlproj.sources.workdir import lock_path

_DAY = 86400.0


class ItemKind(str, Enum):
    """What a cache folder is."""

    MIRROR = "mirror"
    CHECKOUT = "checkout"


@dataclass(frozen=True, slots=True)
class CacheItem:
    """One folder of the source cache. ``last_used`` is in seconds since the epoch."""

    kind: ItemKind
    path: Path
    url: str | None
    size: int
    last_used: float
    in_use: bool


def list_cache(cache: Path | None = None) -> list[CacheItem]:
    """Every mirror and checkout in the cache, mirrors first, each group by path."""
    base = root(cache)
    items = [_mirror_item(MirrorEntry(p)) for p in _children(base / GIT_DIRNAME)]
    items += [_checkout_item(p) for p in _children(base / WORK_DIRNAME)]
    return items


def prune_cache(
    *, older_than_days: float | None = None, dry_run: bool = False, cache: Path | None = None
) -> tuple[list[CacheItem], list[CacheItem]]:
    """Remove what is not in use (and, with ``older_than_days``, unused for that long).

    Returns:
        The items removed (or that would be, with ``dry_run``) and the items kept because
        they are in use.
    """
    cutoff = time.time() - older_than_days * _DAY if older_than_days is not None else None
    removed: list[CacheItem] = []
    busy: list[CacheItem] = []
    for item in list_cache(cache):
        if cutoff is not None and item.last_used > cutoff:
            continue
        if item.in_use:
            busy.append(item)
        elif dry_run or _remove(item):
            removed.append(item)
        else:
            busy.append(item)  # it came into use since it was listed
    if not dry_run:
        _sweep(root(cache))
    return removed, busy


def _sweep(base: Path) -> None:
    """Remove what interrupted removals and checkouts left: trash folders, orphan lock files."""
    for folder in (base / GIT_DIRNAME, base / WORK_DIRNAME):
        for trash in folder.glob(".trash-*") if folder.is_dir() else ():
            remove_tree(trash)
    for lock in (base / WORK_DIRNAME).glob("*.lock"):
        if not lock.with_suffix("").exists():
            with locked(lock, wait=False) as free:
                if free:
                    lock.unlink(missing_ok=True)


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _mirror_item(entry: MirrorEntry) -> CacheItem:
    url = None
    with contextlib.suppress(OSError, ValueError):
        url = str(json.loads(entry.info_path.read_text())["url"])
    with locked(entry.lock_path, wait=False) as free:
        in_use = not free
    used = entry.root / "used"
    last = used.stat().st_mtime if used.exists() else entry.root.stat().st_mtime
    return CacheItem(ItemKind.MIRROR, entry.root, url, tree_size(entry.root), last, in_use)


def _checkout_item(folder: Path) -> CacheItem:
    with locked(lock_path(folder), shared=True, wait=False) as free:
        in_use = not free
    last = folder.stat().st_mtime
    return CacheItem(ItemKind.CHECKOUT, folder, None, tree_size(folder), last, in_use)


def _remove(item: CacheItem) -> bool:
    """Remove an item under its lock; False when it is in use after all."""
    lock = lock_path(item.path) if item.kind is ItemKind.CHECKOUT else item.path / "lock"
    with locked(lock, wait=False) as free:
        if not free:
            return False
        remove_tree(item.path)
        if item.kind is ItemKind.CHECKOUT:
            with contextlib.suppress(OSError):
                os.unlink(lock)
    return True
