"""`-b`, `-c`, `--detach` and `--dry-run` of `mlproj run`, as one value.

Its own module: it is imported only when one of these options is given, so a plain local run
does not create the class.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackendChoice:
    """`-b`, `-c`, `--detach` and `--dry-run` of `mlproj run`."""

    name: str = "local"
    config: str | None = None
    detach: bool = False
    dry_run: bool = False

    @property
    def submits(self) -> bool:
        """True when the run is handed to a backend instead of run attached in this process."""
        return self.name != "local" or self.detach or self.dry_run
