"""`mlproj envs list` and `mlproj envs prune`: the environment cache.

Only typer is imported at module level (app.py imports this module on every start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mlproj.cli.typerapp import new_typer
from mlproj.cli.units import human_size

if TYPE_CHECKING:
    from mlproj.envs.inventory import EnvInfo, PruneResult

envs_app = new_typer("List and prune cached environments.")


@envs_app.command("list")
def envs_list(
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """List cached environments: key, manager, size, last use, projects."""
    import sys

    from mlproj.envs.cache import envs_root
    from mlproj.envs.inventory import list_envs

    infos = list_envs()
    sys.stdout.write(envs_json(infos) if json else envs_table(infos, str(envs_root())))
    return 0


@envs_app.command("prune")
def envs_prune(
    older_than: Annotated[
        Optional[str],  # noqa: UP045 - typer inspects annotations at runtime on Python 3.10
        typer.Option(
            "--older-than", help="Also remove envs unused for D (30d, 12h, 2w).", metavar="D"
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Remove every env that no run is using.")
    ] = False,
) -> int:
    """Remove leftovers of killed builds, and envs unused for a while (--older-than) or all."""
    import sys

    from mlproj.envs.inventory import parse_duration, prune_envs

    seconds = parse_duration(older_than) if older_than is not None else None
    result = prune_envs(older_than=seconds, everything=all_)
    sys.stderr.write(prune_text(result))
    return 0


def _ago(timestamp: float) -> str:
    from mlproj.envs.cache import age

    seconds = age(timestamp)
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f}{unit} ago"
    return "just now"


def envs_table(infos: list[EnvInfo], root: str) -> str:
    """The `envs list` table."""
    from mlproj.cli.render import table

    if not infos:
        return f"no cached environments in {root}\n"
    header = ("KEY", "MANAGER", "TOOL", "PYTHON", "SIZE", "LAST USED", "STATE", "PROJECTS")
    rows = [
        (
            info.key,
            info.manager,
            info.tool,
            info.python,
            human_size(info.size),
            _ago(info.last_used),
            info.state,
            ", ".join(info.projects) or "-",
        )
        for info in infos
    ]
    return table(header, rows)


def envs_json(infos: list[EnvInfo]) -> str:
    """`envs list --json`: an array of objects."""
    import json

    from mlproj.cli.render import JSON_FORMAT_VERSION

    objects: list[dict[str, Any]] = [
        {
            "format_version": JSON_FORMAT_VERSION,
            "key": info.key,
            "manager": info.manager,
            "tool": info.tool,
            "python": info.python,
            "state": info.state,
            "size": info.size,
            "last_used": _iso(info.last_used),
            "projects": list(info.projects),
            "path": str(info.path),
        }
        for info in infos
    ]
    return json.dumps(objects, indent=2) + "\n"


def _iso(timestamp: float) -> str:
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def prune_text(result: PruneResult) -> str:
    """What `envs prune` did, on stderr."""
    lines = [f"mlproj: removed env {key} ({human_size(size)})" for key, size in result.removed]
    lines.extend(f"mlproj: kept env {key}: a run is using it" for key in result.in_use)
    freed = sum(size for _key, size in result.removed)
    lines.append(f"mlproj: removed {len(result.removed)} environment(s), {human_size(freed)} freed")
    return "\n".join(lines) + "\n"
