"""Making a child get SIGTERM if mlproj dies (Linux's parent-death signal), cheaply.

SIGKILL or a crash of the runner would otherwise leave an entry point or an environment build
running as an orphan while its run is already recorded as failed. :func:`with_parent_death`
says how to start a child so that it does not: through util-linux's ``setpriv --pdeathsig``
where it can, else with a pre-exec hook that calls prctl through ctypes.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
#: Where setpriv is looked for: the system's own, never one a PATH puts first.
_SETPRIV_DIRS = "/usr/bin:/bin"
#: Set to 1 to start children through the pre-exec hook even where setpriv would do (tests).
NO_SETPRIV_VARIABLE = "MLPROJ_NO_SETPRIV"


def with_parent_death(
    argv: Sequence[str], cwd: Path | None, env: Mapping[str, str] | None
) -> tuple[list[str], Callable[[], None] | None]:
    """The argv to start and the pre-exec hook that make the child get SIGTERM if mlproj dies.

    SIGKILL or a crash of the runner would otherwise leave the child running as an orphan while
    its run is already recorded as failed. Where util-linux's ``setpriv --pdeathsig`` exists
    (Debian and most Linux systems), the child is started as ``setpriv --pdeathsig TERM --
    ARGV``: setpriv sets the signal and execs the program in the same process (same pid, exit
    status and signals; callers keep reporting ``argv``). With no pre-exec hook, Popen uses
    vfork and runs no Python in the child: ~0.4 ms instead of ~4 ms, and no ctypes import (~3
    ms). The cost: setpriv does not check that mlproj is still alive once the signal is set, as
    the hook does, so a SIGKILL within its ~1.5 ms start leaves the child running. Either way the
    signal follows the thread that started the child (callers run in the main thread) and is
    dropped by an execve of a set-user-ID program.

    A program that would not start as it is goes through the hook, so that Popen raises the
    OSError its callers report (setpriv would print its own message and exit 126 or 127).
    """
    setpriv = _setpriv()
    if setpriv is not None and _starts_as_is(argv[0], cwd, env):
        return [setpriv, "--pdeathsig", "TERM", "--", *argv], None
    return list(argv), _parent_death_hook()


def _setpriv() -> str | None:
    """setpriv where it can set the parent-death signal and the user did not opt out."""
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get(NO_SETPRIV_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on"):
        return None
    return _setpriv_with_pdeathsig()


@functools.cache
def _setpriv_with_pdeathsig() -> str | None:
    path = shutil.which("setpriv", path=_SETPRIV_DIRS)
    if path is None:
        return None
    # --pdeathsig came with util-linux 2.33 (2018; RHEL 8 has 2.32). Every build that has it
    # holds the name in its option table, so reading the file answers without starting setpriv.
    try:
        with open(path, "rb") as handle:
            image = handle.read(1 << 22)
    except OSError:
        return None
    return path if b"pdeathsig" in image else None


def _starts_as_is(program: str, cwd: Path | None, env: Mapping[str, str] | None) -> bool:
    """True when execve would start ``program`` (found as Popen finds it) without an error.

    That is an ELF file, or a ``#!`` script whose interpreter is executable. A missing or
    non-executable program would be reported by setpriv instead of Popen, and one with no known
    format run by /bin/sh (glibc's execvp does that where Popen raises ENOEXEC).
    """
    path = _find_program(program, cwd, env)
    if path is None:
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(256)  # the kernel reads no more of a #! line (BINPRM_BUF_SIZE)
    except OSError:
        return False
    if head.startswith(b"\x7fELF"):
        return True
    words = head[2:].split(b"\n", 1)[0].split() if head.startswith(b"#!") else []
    if not words:
        return False
    interpreter = os.path.join(os.fsencode(cwd or ""), words[0])  # a relative one is from cwd
    return os.path.isfile(interpreter) and os.access(interpreter, os.X_OK)


def _find_program(program: str, cwd: Path | None, env: Mapping[str, str] | None) -> str | None:
    """The file Popen would execute for ``program``: searched on the child's PATH, from cwd."""
    base = os.fspath(cwd) if cwd is not None else ""
    for directory in [""] if os.sep in program else os.get_exec_path(env):
        path = os.path.join(base, directory, program)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _parent_death_hook() -> Callable[[], None] | None:
    """A pre-exec hook that sets the parent-death signal (SIGTERM) through ctypes.

    It checks that mlproj is still the parent once the signal is set, so a runner that died
    before cannot leave the child running. Linux only; elsewhere the run is still reaped.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the runner died before the hook ran
            os.kill(os.getpid(), signal.SIGTERM)

    return hook
