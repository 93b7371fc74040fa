"""Running an entry point in a container through the Docker API, supervised like a local child.

The container is created, started and followed: its stdout and stderr stream live to the
terminal and into the run's log files, and its exit status becomes the outcome. Ctrl-C or
SIGTERM sent to mlproj reach the container as SIGINT, then SIGTERM, then SIGKILL,
``MLPROJ_KILL_GRACE`` seconds apart (a second Ctrl-C escalates at once), as for a local process
group. The container is removed at the end whatever happened, unless it is to be kept.

What to run (image, argv, ``containers.create`` keywords) is decided by ``envs/docker.py``; this
module only executes it. Each container carries the label ``mlproj.run_id``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from mlproj import dockerapi
from mlproj.errors import BackendError, EnvError
from mlproj.process import DRAIN_TIMEOUT, kill_grace

if TYPE_CHECKING:
    from docker.models.containers import Container

_ORDER = ("SIGINT", "SIGTERM", "SIGKILL")


@dataclass(frozen=True, slots=True)
class ContainerRequest:
    """A container to run to its end; ``options`` are ``containers.create`` keywords."""

    image: str
    command: tuple[str, ...]
    options: Mapping[str, Any]
    stdout_log: Path
    stderr_log: Path
    echo: bool = True
    keep: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Also receives every chunk of stdout (e.g. to capture metrics); dropped if it raises.
    stdout_tap: Callable[[bytes], None] | None = None


@dataclass(frozen=True, slots=True)
class ContainerOutcome:
    """How the container ended.

    ``exit_code`` is the container's status (128+N when signal N ended it); ``interrupted_by``
    the signal mlproj received, if any; ``start_error`` why the command could not start.
    """

    exit_code: int
    interrupted_by: int | None
    duration: float
    container_id: str | None
    start_error: str | None = None


class _Interrupts:
    """SIGINT/SIGTERM received by mlproj; the main loop turns them into container signals."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.first: int | None = None
        self.received = 0
        self.sent = 0
        self.sent_at = 0.0

    def on_signal(self, signum: int, _frame: object) -> None:
        # Only record: the Docker API is called from the main loop, never inside a handler.
        self.first = self.first or signum
        self.received += 1

    def act(self, container: Container) -> None:
        due = self.sent and time.monotonic() - self.sent_at >= self.grace
        if self.sent < len(_ORDER) and (self.sent < self.received or due):
            with contextlib.suppress(Exception):  # already stopped or gone: nothing to signal
                container.kill(signal=_ORDER[self.sent])
            self.sent += 1
            self.sent_at = time.monotonic()


def run_container(
    request: ContainerRequest, *, on_created: Callable[[str], None] | None = None
) -> ContainerOutcome:
    """Create, start and follow a container until it ends; remove it unless ``keep``.

    Must be called from the main thread (it handles SIGINT/SIGTERM for the duration).

    Raises:
        EnvError: The Docker API is unreachable, or refused to create the container.
        BackendError: The container was lost while it ran.
    """
    started = time.monotonic()
    interrupts = _Interrupts(kill_grace())
    previous = {sig: signal.signal(sig, interrupts.on_signal) for sig in _SIGNALS}
    try:
        client = dockerapi.client()
        container = _create(client, request)
        try:
            if on_created is not None:
                on_created(str(container.id))
            code, start_error = _start_and_wait(container, request, interrupts)
        finally:
            if not request.keep:
                with contextlib.suppress(Exception):  # already removed: nothing left behind
                    container.remove(force=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    duration = time.monotonic() - started
    return ContainerOutcome(code, interrupts.first, duration, str(container.id), start_error)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _create(client: Any, request: ContainerRequest) -> Container:
    options = dict(request.options)
    labels = {**options.pop("labels", {}), **request.labels}
    try:
        container: Container = client.containers.create(
            request.image, command=list(request.command), labels=labels, detach=True, **options
        )
    except Exception as exc:  # docker.errors.APIError (bad option values...), connection errors
        raise EnvError(
            f"the container could not be created: {dockerapi.short_error(exc)}"
        ) from None
    return container


def _start_and_wait(
    container: Container, request: ContainerRequest, interrupts: _Interrupts
) -> tuple[int, str | None]:
    """Start, follow the output and wait; returns (exit code, start error or None)."""
    if interrupts.first is not None:  # interrupted while the container was being created
        return 128 + interrupts.first, None
    request.stdout_log.parent.mkdir(parents=True, exist_ok=True)
    with request.stdout_log.open("ab") as out_log, request.stderr_log.open("ab") as err_log:
        try:
            container.start()
        except Exception as exc:  # the runtime could not exec the command (not found, ...)
            return _start_failed(container, exc, err_log)
        out_sink = sys.stdout.buffer if request.echo else None
        pumps = [
            _pump(container, "stdout", out_log, out_sink, request.stdout_tap),
            _pump(container, "stderr", err_log, sys.stderr.buffer if request.echo else None),
        ]
        code = _wait(container, interrupts)
        for pump in pumps:
            pump.join(DRAIN_TIMEOUT)
    return code, None


def _start_failed(container: Container, exc: Exception, err_log: BinaryIO) -> tuple[int, str]:
    text = dockerapi.short_error(exc)
    missing = any(word in text.lower() for word in ("not found", "no such file"))
    command = " ".join(container.attrs.get("Config", {}).get("Cmd") or [])
    message = f"cannot start '{command}' in the container: {text}"
    err_log.write(f"mlproj: {message}\n".encode())
    return (127 if missing else 126), message


def _pump(
    container: Container,
    stream: str,
    log: BinaryIO,
    sink: BinaryIO | None,
    tap: Callable[[bytes], None] | None = None,
) -> threading.Thread:
    """Copy one of the container's streams to its log file and, live, to the terminal."""

    def copy() -> None:
        target, listener = sink, tap
        for chunk in _chunks(container, stream):
            log.write(chunk)
            log.flush()
            if listener is not None:
                try:
                    listener(chunk)
                except Exception:  # a broken tap must not stop the output being saved
                    listener = None
            if target is not None:
                try:
                    target.write(chunk)
                    target.flush()
                except (BrokenPipeError, ValueError):
                    target = None  # the reader of our output went away; keep saving the log

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def _chunks(container: Container, stream: str) -> Iterator[bytes]:
    with contextlib.suppress(Exception):  # the container is gone: its output ended with it
        yield from container.logs(
            stream=True, follow=True, stdout=stream == "stdout", stderr=stream == "stderr"
        )


def _wait(container: Container, interrupts: _Interrupts) -> int:
    """Wait for the container's end, acting on interrupts while waiting."""
    box: dict[str, Any] = {}

    def wait() -> None:
        try:
            box["result"] = container.wait()
        except Exception as exc:  # reported below, from the main thread
            box["error"] = exc

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    while waiter.is_alive():
        waiter.join(0.05)
        interrupts.act(container)
    if "error" in box:
        raise BackendError(
            f"lost container {str(container.id)[:12]} while it ran: "
            f"{dockerapi.short_error(box['error'])}"
        )
    return int(box["result"].get("StatusCode", 1))


def running_labelled(label: str) -> list[tuple[str, str]]:
    """``(container id, label value)`` of every running container that carries ``label``.

    One low-level list call (the high-level listing inspects each container). An engine that
    cannot be asked gives an empty list: this only serves the clean-up of orphans.
    """
    try:
        listed = dockerapi.client().api.containers(filters={"label": label, "status": "running"})
    except Exception:  # clean-up is best effort: the run goes on regardless
        return []
    return [(str(c["Id"]), str((c.get("Labels") or {}).get(label, ""))) for c in listed]


def remove_container(container_id: str) -> bool:
    """Stop and remove a container; False when it could not be (already gone, engine error)."""
    try:
        dockerapi.client().api.remove_container(container_id, force=True)
    except Exception:  # already gone, or the engine refused: nothing to do
        return False
    return True
