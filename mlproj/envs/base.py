"""The one small interface every environment kind implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: Receives build output (one chunk of text at a time) so it can be shown and saved with the run.
OutputSink = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Prepared:
    """What :meth:`Environment.prepare` did: ``created`` is False when a cached env was reused.

    ``installed`` is the installed set (``pip freeze`` lines, or the conda explicit list), empty
    when the kind does not know it; ``details`` are facts known only once the environment exists
    (tool, python version, ...). The runner records both with the run.
    """

    created: bool
    seconds: float = 0.0
    installed: tuple[str, ...] = ()
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EnvDescription:
    """What is recorded about an environment with the run."""

    manager: str
    key: str | None
    details: dict[str, str] = field(default_factory=dict)


class Environment(Protocol):
    """An isolation kind (local, virtualenv, conda, docker) for one project.

    The runner calls, in order: :attr:`manager`, :meth:`key` (cheap: no tool is run),
    :meth:`prepare` (build or reuse), then :meth:`wrap` and :meth:`variables` to start the entry
    point, and :meth:`describe` for the run record.
    """

    @property
    def manager(self) -> str:
        """The env manager's name as the user gives it (`local`, `virtualenv`, ...)."""

    def key(self) -> str | None:
        """Content hash that identifies the environment in the cache; None when not cached."""

    def python(self) -> str:
        """The interpreter that runs `-e file.py` entry points."""

    def prepare(self, output: OutputSink) -> Prepared:
        """Build the environment, or reuse it, safely under concurrency."""

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` inside the environment."""

    def variables(self) -> dict[str, str]:
        """Environment variables to set for the entry point (PATH, VIRTUAL_ENV, ...)."""

    def describe(self) -> EnvDescription:
        """What to record with the run."""
