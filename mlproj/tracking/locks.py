"""The runner lock: how a later command tells a live run from one whose runner died.

The runner holds an exclusive ``flock`` on ``<run_dir>/runner.lock`` for the run's whole life and
writes its pid into the file. The kernel drops the lock when the process dies, however it dies
(SIGKILL, OOM killer, power loss), so "the lock can be taken and a pid was written" means "the
runner is gone without recording an end". An empty or missing file means no runner has claimed
the run yet (the instant between creating a run and locking it), which is not proof of death.
"""

from __future__ import annotations

import fcntl
import os
import time
from enum import Enum
from pathlib import Path
from types import TracebackType

from mlproj.errors import StoreError

LOCK_FILENAME = "runner.lock"
#: Present in the folder of a run whose runner lives on another host (a cluster job): file locks
#: on shared filesystems are not trusted across hosts, so its backend's status decides instead.
EXTERNAL_RUNNER = "runner.external"
_ACQUIRE_PATIENCE_S = 2.0


class RunnerState(str, Enum):
    """What the lock file says about a run's runner."""

    ALIVE = "alive"
    DEAD = "dead"
    UNCLAIMED = "unclaimed"


class RunnerLock:
    """An exclusive lock on a run's ``runner.lock``; release it (or leave the ``with``) at the end.

    Holding it tells later commands the runner is alive."""

    __slots__ = ("_fd", "path")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        """True until :meth:`release` is called."""
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock. The file stays: a still-RUNNING run is then correctly seen as dead."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> RunnerLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire_runner_lock(run_dir: Path) -> RunnerLock:
    """Take the runner lock of the run in ``run_dir`` and record this process's pid in it.

    Raises:
        StoreError: The folder is missing, or another live process holds the lock.
    """
    path = run_dir / LOCK_FILENAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"cannot create runner lock {path} ({exc.strerror}); is the run folder writable?"
        ) from exc
    if not _lock_with_retry(fd):
        os.close(fd)
        raise StoreError(
            f"run folder {run_dir} is already locked by a live runner; start a new run instead"
        )
    # The pid is written only once the lock is held: a non-empty file marks a claimed run.
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return RunnerLock(path, fd)


def _lock_with_retry(fd: int) -> bool:
    # A reaper inspecting the fresh, still-empty file holds a shared lock for a few microseconds;
    # retry briefly instead of mistaking it for another runner (which would hold it for good).
    deadline = time.monotonic() + _ACQUIRE_PATIENCE_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def runner_state(run_dir: Path) -> RunnerState:
    """Whether the runner of the run in ``run_dir`` is alive, dead, or has not claimed it yet."""
    path = run_dir / LOCK_FILENAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return RunnerState.UNCLAIMED
    except OSError:
        return RunnerState.ALIVE  # cannot tell: never reap what we cannot inspect
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return RunnerState.ALIVE
        claimed = bool(os.read(fd, 64).strip())
        return RunnerState.DEAD if claimed else RunnerState.UNCLAIMED
    finally:
        os.close(fd)  # closing drops our shared lock


def runner_pid(run_dir: Path) -> int | None:
    """The pid of the live runner holding the run's lock, or None when no runner holds it."""
    if runner_state(run_dir) is not RunnerState.ALIVE:
        return None
    try:
        text = (run_dir / LOCK_FILENAME).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
