"""`-b`, `-c`, `--detach` and `--dry-run` of `mlproj run`, as one value.

Its own module: it is imported only when one of these options is given, so a plain local run
does not create the class.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackendChoice:
    """`-b`, `-c`, `--detach` and `--dry-run`: the run is handed to a backend (see
    :func:`mlproj.cli.commands.backend_choice`, which makes one only when that is so)."""

    name: str = "local"
    config: str | None = None
    detach: bool = False
    dry_run: bool = False
