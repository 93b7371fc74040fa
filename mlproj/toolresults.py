"""What a helper command run by :mod:`mlproj.process` returned (``run_tool`` and friends).

Apart from ``process.py`` because only helpers (git, pip, conda, sbatch...) produce them: an
entry point's supervision (every ``mlproj run``) does not, and a plain folder run with the local
environment starts no helper at all, so it does not pay for creating these classes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ToolResult:
    """Outcome of :func:`mlproj.process.run_tool` and :func:`mlproj.process.stream_tool`."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True, slots=True)
class BinaryToolResult:
    """Outcome of :func:`mlproj.process.run_tool_bytes`: stdout as bytes, stderr as text."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0
