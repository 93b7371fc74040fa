"""The one module that starts child processes.

Three ways in:

* :func:`run_tool` runs a short helper command (git, pip freeze, ...) and captures its output.
* :func:`stream_tool` runs a longer helper (an environment build) and streams its output line by
  line to a callback, keeping the tail for the error message.
* :func:`supervise` runs an entry point: in its own process group, its output streamed live to
  the terminal and saved to log files, and stopped as a whole group on Ctrl-C or SIGTERM by
  escalating SIGINT, then SIGTERM, then SIGKILL.

Every call takes an argv list and an explicit environment; nothing here uses ``shell=True``.
The two long-lived kinds (streamed helpers, entry points) get SIGTERM if mlproj dies: see
:mod:`mlproj.parentdeath`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mlproj.parentdeath import with_parent_death

if TYPE_CHECKING:  # the results of helpers: supervising an entry point makes none
    from mlproj.toolresults import BinaryToolResult, ToolResult

#: Seconds to wait after SIGINT, then after SIGTERM, before escalating (MLPROJ_KILL_GRACE).
DEFAULT_GRACE = 10.0
#: How long to wait for the output pipes to drain after the child exited (a background
#: grandchild may hold them open; we stop waiting rather than hang the run).
DRAIN_TIMEOUT = 5.0


def run_tool(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stdin: str | None = None,
) -> ToolResult:
    """Run a helper command to completion and capture its output as text.

    A missing executable is reported as return code 127 (as a shell would) instead of raising, so
    callers turn it into their own error with the next step for the user.
    """
    from mlproj.toolresults import ToolResult

    try:
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        return ToolResult(tuple(argv), 127, "", f"{argv[0]}: not found ({exc.strerror})")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        return ToolResult(tuple(argv), 124, out, f"{argv[0]}: timed out after {timeout} s")
    return ToolResult(tuple(argv), done.returncode, done.stdout, done.stderr)


#: Lines of a streamed tool's output kept for the error message when it fails.
TAIL_LINES = 25


def stream_tool(
    argv: Sequence[str],
    output: Callable[[str], None],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> ToolResult:
    """Run a helper to completion, passing its merged stdout and stderr to ``output`` by line.

    The result's ``stdout`` holds the last :data:`TAIL_LINES` lines (``stderr`` is empty). The
    child gets SIGTERM if mlproj dies, so a killed build leaves no installer writing into the
    cache; on Ctrl-C or SIGTERM in mlproj the child is stopped before the exception goes on.
    A missing executable is reported as return code 127, as in :func:`run_tool`.
    """
    from mlproj.toolresults import ToolResult

    start, hook = with_parent_death(argv, cwd, env)
    try:
        child = subprocess.Popen(
            start,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=hook,  # noqa: PLW1509 - no threads of ours are running
        )
    except FileNotFoundError as exc:
        return ToolResult(tuple(argv), 127, f"{argv[0]}: not found ({exc.strerror})", "")
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    assert child.stdout is not None  # Popen(stdout=PIPE)
    try:
        for raw in child.stdout:
            line = raw.decode(errors="replace")
            tail.append(line.rstrip("\n"))
            output(line if line.endswith("\n") else line + "\n")
        returncode = child.wait()
    except BaseException:
        _stop(child)
        raise
    finally:
        child.stdout.close()
    return ToolResult(tuple(argv), returncode, "\n".join(tail), "")


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Terminate a helper, then kill it if it does not go within a few seconds."""
    with contextlib.suppress(ProcessLookupError):
        child.terminate()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def run_tool_bytes(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> BinaryToolResult:
    """Like :func:`run_tool`, for output that is not text in any one encoding (git -z, diffs)."""
    from mlproj.toolresults import BinaryToolResult

    try:
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        return BinaryToolResult(tuple(argv), 127, b"", f"{argv[0]}: not found ({exc.strerror})")
    except subprocess.TimeoutExpired:
        return BinaryToolResult(tuple(argv), 124, b"", f"{argv[0]}: timed out after {timeout} s")
    stderr = done.stderr.decode(errors="replace")
    return BinaryToolResult(tuple(argv), done.returncode, done.stdout, stderr)


@dataclass(frozen=True, slots=True)
class ProcessRequest:
    """What to run under :func:`supervise`."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    stdout_log: Path
    stderr_log: Path
    #: When False, output is only saved, not echoed to the terminal.
    echo: bool = True
    #: Also receives every chunk of stdout (e.g. to capture metrics); dropped if it raises.
    stdout_tap: Callable[[bytes], None] | None = None


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    """How a supervised process ended.

    ``exit_code`` follows shell conventions: the child's status, or 128+N when a signal N ended it.
    ``interrupted_by`` is the signal mlproj itself received (SIGINT/SIGTERM), if any.
    """

    exit_code: int
    interrupted_by: int | None
    duration: float


class _WakeUp(Exception):  # noqa: N818 - not an error: it breaks a blocking wait
    """Raised by the signal handler to end a blocking wait so escalation deadlines are watched."""


class _Interrupts:
    """Collects SIGINT/SIGTERM/SIGHUP sent to mlproj while a child runs; escalates on the group."""

    def __init__(self, pgid: int, grace: float) -> None:
        self.pgid = pgid
        self.grace = grace
        self.first: int | None = None
        self.stage = 0  # 0: nothing sent, 1: SIGINT sent, 2: SIGTERM sent, 3: SIGKILL sent
        self.deadline = 0.0
        #: True only around the blocking wait, the one place the handler may raise _WakeUp.
        self.waiting = False

    def on_signal(self, signum: int, _frame: object) -> None:
        if self.first is None:
            self.first = signum
        # A repeated Ctrl-C means "now": move to the next stage at once.
        self.escalate()
        if self.waiting:
            raise _WakeUp

    def escalate(self) -> None:
        order = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
        if self.stage >= len(order):
            return
        _signal_group(self.pgid, order[self.stage])
        self.stage += 1
        self.deadline = time.monotonic() + self.grace

    def timeout(self) -> float | None:
        """How long the next wait may block: forever until a signal, then until the deadline."""
        if self.stage in (0, 3):
            return None
        return max(self.deadline - time.monotonic(), 0.0)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is already gone
        os.killpg(pgid, sig)


def _pump(
    source: BinaryIO,
    sink: BinaryIO | None,
    log: BinaryIO,
    tap: Callable[[bytes], None] | None = None,
) -> None:
    """Copy a child's pipe to the log file and, live, to the terminal (chunks, not lines)."""
    fd = source.fileno()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        log.write(chunk)
        log.flush()
        if tap is not None:
            try:
                tap(chunk)
            except Exception:  # a failing observer must not stop the output
                tap = None
        if sink is not None:
            try:
                sink.write(chunk)
                sink.flush()
            except (OSError, ValueError):
                # The reader of our stdout went away (EPIPE), or the terminal did (EIO after a
                # hangup under nohup): keep saving the log and draining the child's pipe, or it
                # would block on its next write once the pipe is full.
                sink = None
    source.close()


def kill_grace() -> float:
    """Grace period between escalation steps, from MLPROJ_KILL_GRACE when set."""
    raw = os.environ.get("MLPROJ_KILL_GRACE")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_GRACE
    except ValueError:
        return DEFAULT_GRACE


def supervise(
    request: ProcessRequest, *, on_start: Callable[[int], None] | None = None
) -> ProcessOutcome:
    """Run a child in its own process group until it ends, forwarding interrupts to the group.

    Must be called from the main thread (it installs SIGINT/SIGTERM/SIGHUP handlers meanwhile).
    Raises OSError when the program cannot be started (missing executable, not executable).
    """
    request.stdout_log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    start, hook = with_parent_death(request.argv, request.cwd, request.env)
    with request.stdout_log.open("ab") as out_log, request.stderr_log.open("ab") as err_log:
        child = subprocess.Popen(
            start,
            cwd=request.cwd,
            env=dict(request.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own session and group: we, not the terminal, decide its fate
            preexec_fn=hook,  # noqa: PLW1509 - runs before any pump thread starts
        )
        if on_start is not None:
            on_start(child.pid)
        interrupts = _Interrupts(child.pid, kill_grace())
        pumps = _start_pumps(child, request, out_log, err_log)
        previous = _install_handlers(interrupts.on_signal)
        try:
            returncode = _wait(child, interrupts)
        finally:
            _restore_handlers(previous)
        for pump in pumps:
            pump.join(DRAIN_TIMEOUT)
    code = 128 - returncode if returncode < 0 else returncode
    return ProcessOutcome(code, interrupts.first, time.monotonic() - started)


def _start_pumps(
    child: subprocess.Popen[bytes], request: ProcessRequest, out_log: BinaryIO, err_log: BinaryIO
) -> list[threading.Thread]:
    assert child.stdout is not None and child.stderr is not None  # noqa: PT018 - Popen(PIPE)
    out_sink = sys.stdout.buffer if request.echo else None
    err_sink = sys.stderr.buffer if request.echo else None
    pumps = [
        threading.Thread(
            target=_pump, args=(child.stdout, out_sink, out_log, request.stdout_tap), daemon=True
        ),
        threading.Thread(target=_pump, args=(child.stderr, err_sink, err_log), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    return pumps


def _wait(child: subprocess.Popen[bytes], interrupts: _Interrupts) -> int:
    """Wait for the child without polling; a signal or an escalation deadline wakes us up."""
    while True:
        try:
            interrupts.waiting = True
            try:
                return child.wait(timeout=interrupts.timeout())
            finally:
                interrupts.waiting = False
        except subprocess.TimeoutExpired:
            interrupts.escalate()
        except _WakeUp:
            continue


_Handler = Callable[[int, object], None]


def _install_handlers(handler: _Handler) -> dict[int, object]:
    previous: dict[int, object] = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue  # nohup: a closed terminal must not stop the run
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_handlers(previous: dict[int, object]) -> None:
    for sig, old in previous.items():
        signal.signal(sig, old)  # type: ignore[arg-type]  # values came from signal.signal itself


def spawn_detached(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], output: Path) -> int:
    """Start a process that outlives mlproj (own session, no terminal); returns its pid.

    Its stdout and stderr are appended to ``output``. Used by ``mlproj run --detach``, where
    the detached process is mlproj itself, supervising the entry point as usual.
    """
    with output.open("ab") as handle:
        child = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the caller's terminal does not reach it
        )
    # Whoever waits: when this mlproj exits first, init adopts and reaps the child.
    return child.pid


def signal_process(pid: int, sig: int) -> bool:
    """Send ``sig`` to ``pid``; False when no such process exists."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True
