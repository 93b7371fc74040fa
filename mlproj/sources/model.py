"""What resolving a source produces: the project folder and the provenance of its code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlproj.sources.workdir import Workdir

#: Receives one-line progress messages ("cloning ... into the cache") while a source resolves.
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ResolvedSource:
    """Where the project lives on disk and exactly which code it is.

    ``uri`` is the resolved location (absolute folder, or URL without credentials). ``details``
    holds further provenance (recorded as ``mlproj.source.<key>`` tags): ``given`` (the URI as
    typed, credentials stripped), ``kind`` (``folder``, ``git``), ``branch``, ``tag``,
    ``remote``, ``fetch`` (what the cache did), ``submodule.<path>`` commits, and for a dirty
    local tree what was saved. ``snapshot_files`` (relative name -> content) must be written
    into the run's folder under ``source/`` (the diff and untracked files of a dirty tree).
    ``warnings`` are for the user; ``seconds`` is how long resolution took.
    """

    project_dir: Path
    uri: str
    version: str | None = None
    commit: str | None = None
    dirty: bool | None = None
    subdir: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    snapshot_files: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    workdir: Workdir | None = field(default=None, repr=False, compare=False)

    def release(self) -> Path | None:
        """Give up the private checkout, if any (see :meth:`Workdir.release`).

        Returns the checkout's path when the run wrote into it and it was kept. Safe to call more
        than once, and for local folders (which are used in place and never removed).
        """
        return self.workdir.release() if self.workdir is not None else None
