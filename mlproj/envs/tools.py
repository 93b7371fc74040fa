"""The installers a Python environment is built with: uv when available, else pip.

uv comes with mlproj (the ``uv`` package's wheel carries the binary); one on PATH is used when
the package is missing. ``MLPROJ_NO_UV=1`` makes the virtualenv manager use pip only.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlproj.envs.base import OutputSink
from mlproj.errors import EnvError
from mlproj.process import TAIL_LINES, run_tool, stream_tool


def uv_disabled() -> bool:
    """True when the user set MLPROJ_NO_UV to a true value."""
    return os.environ.get("MLPROJ_NO_UV", "").strip().lower() in ("1", "true", "yes", "on")


def find_uv() -> str | None:
    """The uv executable: the one of mlproj's `uv` dependency, else `uv` on PATH (no process)."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def run_step(
    what: str,
    argv: Sequence[str],
    output: OutputSink,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run one build step, streaming its output; a failure is an EnvError with the tail.

    Raises:
        EnvError: The step exited non-zero (the last lines of its output are the details).
    """
    output(f"$ {shlex.join(argv)}\n")
    result = stream_tool(argv, output, cwd=cwd, env=env)
    if result.ok:
        return
    tail = tuple(line for line in result.stdout.splitlines() if line.strip())
    raise EnvError(
        f"{what} failed ({Path(argv[0]).name} exited {result.returncode}); fix what the last "
        f"{min(len(tail), TAIL_LINES)} lines of its output below point at (the whole log is "
        "saved with the run as env-build.log)",
        details=tail,
    )


def capture(what: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
    """Run a short query (``pip freeze``) and return its stdout.

    Raises:
        EnvError: It exited non-zero.
    """
    result = run_tool(argv, env=env, timeout=300)
    if not result.ok:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise EnvError(
            f"{what} failed ({Path(argv[0]).name} exited {result.returncode}): {last[0]}"
        )
    return result.stdout
