"""`mlproj cache list|prune`: the git mirrors and run checkouts in mlproj's cache folder.

Also the composed YAML of MLprojects and environment files (``<cache>/yaml``, see
``mlproj.spec.nodecache``): shown in one line, removed by ``prune`` (rebuilt when next read).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mlproj.cli.typerapp import new_typer
from mlproj.cli.units import human_size

if TYPE_CHECKING:
    import os
    from datetime import datetime
    from pathlib import Path

    from mlproj.sources.housekeeping import CacheItem

cache_app = new_typer("List and prune cached git mirrors and checkouts (MLPROJ_CACHE_DIR).")


@cache_app.command("list")
def cache_list(
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """List cached git mirrors and run checkouts with their size and last use."""
    from mlproj.settings import cache_dir
    from mlproj.sources.housekeeping import list_cache
    from mlproj.spec import nodecache

    items = list_cache()
    composed = nodecache.entries()
    if json_:
        import json  # the group is imported on every start-up: load json only when it is used

        sys.stdout.write(json.dumps([_item_object(i) for i in items], indent=2) + "\n")
        return 0
    from mlproj.cli.render import table

    if not items:
        if not composed:
            sys.stdout.write(f"the cache is empty ({cache_dir()})\n")
        _write_composed(composed, nodecache.folder())
        return 0
    rows = [
        (
            i.kind.value,
            human_size(i.size),
            _when(i.last_used),
            "yes" if i.in_use else "-",
            i.url or str(i.path),
        )
        for i in items
    ]
    sys.stdout.write(table(("KIND", "SIZE", "LAST USED", "IN USE", "WHAT"), rows))
    total = sum(i.size for i in items)
    sys.stdout.write(f"{len(items)} items, {human_size(total)} in {cache_dir()}\n")
    _write_composed(composed, nodecache.folder())
    return 0


@cache_app.command("prune")
def cache_prune(
    older_than: Annotated[
        Optional[float],  # noqa: UP045 - typer inspects annotations at runtime on Python 3.10
        typer.Option("--older-than", help="Only what was not used for DAYS days.", metavar="DAYS"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; remove nothing.")
    ] = False,
) -> int:
    """Remove cached mirrors and checkouts that no run is using, and the composed YAML."""
    from mlproj.errors import UsageError
    from mlproj.sources.housekeeping import prune_cache
    from mlproj.spec import nodecache

    if older_than is not None and older_than < 0:
        raise UsageError(f"--older-than: {older_than:g} is negative; give a number of days")
    removed, busy = prune_cache(older_than_days=older_than, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for item in removed:
        sys.stdout.write(
            f"{verb} {item.kind.value} {item.url or item.path} ({human_size(item.size)})\n"
        )
    for item in busy:
        sys.stdout.write(f"kept {item.kind.value} {item.url or item.path} (in use)\n")
    freed = sum(i.size for i in removed)
    sys.stdout.write(f"{verb} {len(removed)} items, {human_size(freed)}\n")
    count, size = nodecache.prune(older_than_days=older_than, dry_run=dry_run)
    if count:
        sys.stdout.write(f"{verb} the composed YAML of {count} files ({human_size(size)})\n")
    return 0


def _write_composed(entries: list[tuple[Path, os.stat_result]], folder: Path) -> None:
    """One line for the composed-YAML cache, when it holds anything."""
    if entries:
        size = human_size(sum(stat.st_size for _, stat in entries))
        sys.stdout.write(f"composed YAML of {len(entries)} files ({size}) in {folder}\n")


def _item_object(item: CacheItem) -> dict[str, Any]:
    from mlproj.cli.render import JSON_FORMAT_VERSION

    return {
        "format_version": JSON_FORMAT_VERSION,  # as every other --json object carries
        "kind": item.kind.value,
        "path": str(item.path),
        "url": item.url,
        "size": item.size,
        "last_used": _datetime().fromtimestamp(item.last_used).astimezone().isoformat(),
        "in_use": item.in_use,
    }


def _when(stamp: float) -> str:
    return _datetime().fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


def _datetime() -> type[datetime]:
    from datetime import datetime  # lazily: this module is imported on every start-up

    return datetime
