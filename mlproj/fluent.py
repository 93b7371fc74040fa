"""The Python logging API behind ``mlproj.log_metric(...)`` and friends.

Where a call lands, checked at every call (so a process forked into a run still does right):

1. a run started in this process with :func:`start_run` (the innermost one);
2. inside `mlproj run` (``MLPROJ_LOG_FILE`` set): the log-record protocol, through
   :mod:`mlproj.logwriter`, which mlproj ingests live;
3. ``MLPROJ_RUN_ID`` set without a log file (a process started some other way for a run): that
   run, written in the store named by ``MLPROJ_TRACKING_URI``;
4. otherwise a new run is started in the store, as ``mlflow.log_metric`` does, and ended when the
   interpreter exits: FINISHED, or FAILED after an uncaught exception.

A run started here is written the way `mlproj run` writes one: calls append to the run's log
file and a thread of this process ingests it into the store, so a call costs microseconds, not
a database transaction. Ending the run stores what is left before recording the end.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from mlproj import __version__
from mlproj.errors import MlprojError, UsageError
from mlproj.logwriter import (
    LOG_FILE_ENV,
    LogWriter,
    check_key,
    current_writer,
    metric_step,
    metric_value,
    now_ms,
)

if TYPE_CHECKING:  # the store loads only when a call needs it: inside a run, none does
    from mlproj.tracking.live import LiveTracking
    from mlproj.tracking.locks import RunnerLock
    from mlproj.tracking.models import RunStatus
    from mlproj.tracking.store import Store

RUN_ID_ENV = "MLPROJ_RUN_ID"
DEFAULT_EXPERIMENT = "Default"


class Target(Protocol):
    """Something records go to: the protocol writer, or a run in the store."""

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None: ...

    def log_param(self, key: str, value: object) -> None: ...

    def set_tag(self, key: str, value: object) -> None: ...

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> str: ...


class StoreTarget:
    """Writes straight into one run of a store (one transaction per call)."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store, self.run_id = store, run_id

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        from mlproj.tracking.history import Metric

        number = float(metric_value(check_key(key), value))  # float() reads "NaN", "Infinity"
        stamp = now_ms() if timestamp is None else timestamp
        self.store.log_metrics(self.run_id, [Metric(key, number, metric_step(key, step), stamp)])

    def log_param(self, key: str, value: object) -> None:
        self.store.log_params(self.run_id, {check_key(key): str(value)})

    def set_tag(self, key: str, value: object) -> None:
        self.store.set_tags(self.run_id, {check_key(key): str(value)})

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> str:
        from mlproj.tracking.artifacts import store_artifact

        folder = self.store.run_dir(self.run_id) / "artifacts"
        return store_artifact(folder, Path(path), artifact_path or "")


@dataclass(frozen=True, slots=True)
class _Owned:
    """What this process holds for a run it created: the store, the runner lock, the ingestion."""

    store: Store
    lock: RunnerLock
    live: LiveTracking


class ActiveRun:
    """A run this process logs into; use it as a context manager to end it.

    ``owned`` runs were created by this process, which records how they end. A run joined from
    the environment (inside `mlproj run`) is ended by its runner, not here.
    """

    def __init__(self, run_id: str, target: Target, owned: _Owned | None = None) -> None:
        self.run_id, self.target = run_id, target
        self._owned = owned

    @property
    def owned(self) -> bool:
        """True when this process created the run and ends it."""
        return self._owned is not None

    def end(self, status: str | RunStatus) -> None:
        """Store what is left, record the end (owned runs only) and let go of the run."""
        from mlproj.tracking.models import RunStatus

        owned, self._owned = self._owned, None
        if owned is None:
            return
        try:
            for line in owned.live.stop().problem_lines:
                sys.stderr.write(f"mlproj: warning: {line}\n")
            owned.store.finish_run(self.run_id, RunStatus(status), None)
        finally:
            owned.lock.release()
            owned.store.close()

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end_run(_status_for(exc_type))


_stack: list[ActiveRun] = []
_joined: dict[str, StoreTarget] = {}  # runs joined through MLPROJ_RUN_ID, by id
_state = threading.Lock()
_hooks = {"installed": False, "failed": False}


def _status_for(exc_type: type[BaseException] | None) -> str:
    if exc_type is None or issubclass(exc_type, SystemExit):
        return "FINISHED"
    if issubclass(exc_type, KeyboardInterrupt):
        return "KILLED"
    return "FAILED"


def start_run(
    run_name: str | None = None,
    *,
    experiment_name: str | None = None,
    tags: Mapping[str, object] | None = None,
    tracking_uri: str | None = None,
) -> ActiveRun:
    """Start a run (or join the one this process runs in) and make it the active run."""
    with _state:
        if _stack:
            raise UsageError(
                f"run {_stack[-1].run_id} is already active; end it with mlproj.end_run() first"
            )
        joined = _joined_run()
        active = (
            joined if joined is not None else _create_run(run_name, experiment_name, tracking_uri)
        )
        _stack.append(active)
    for key, value in (tags or {}).items():
        active.target.set_tag(key, value)
    return active


def end_run(status: str | RunStatus = "FINISHED") -> None:
    """End the active run (nothing happens when there is none)."""
    with _state:
        active = _stack.pop() if _stack else None
    if active is not None:
        active.end(status)


def active_run() -> ActiveRun | None:
    """The run calls currently log into, if one was started or joined."""
    return _stack[-1] if _stack else None


def _joined_run() -> ActiveRun | None:
    if os.environ.get(LOG_FILE_ENV):
        return ActiveRun(os.environ.get(RUN_ID_ENV, ""), LogWriter.from_environment())
    run_id = os.environ.get(RUN_ID_ENV)
    if run_id:
        return ActiveRun(run_id, _store_target(run_id))
    return None


def _store_target(run_id: str) -> StoreTarget:
    from mlproj.tracking.store import Store

    if run_id not in _joined:
        store = Store.open(None)
        store.get_run(run_id)  # fail now, clearly, when the id is unknown
        _joined[run_id] = StoreTarget(store, run_id)
    return _joined[run_id]


def _create_run(
    run_name: str | None, experiment_name: str | None, tracking_uri: str | None
) -> ActiveRun:
    from mlproj.tracking.live import LiveOptions, LiveTracking
    from mlproj.tracking.models import NewRun, RunStatus
    from mlproj.tracking.store import Store

    store = Store.open(tracking_uri)
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    is_script = script is not None and script.is_file()
    folder = script.resolve().parent if is_script and script is not None else Path.cwd()
    commit, dirty, details = _git_state(folder)
    new = NewRun(
        experiment_name=experiment_name or DEFAULT_EXPERIMENT,
        run_name=run_name,
        entry_point=script.name if is_script and script is not None else "python",
        command=shlex.join([Path(sys.executable).name, *sys.argv]) if sys.argv else "python",
        source_uri=str(folder),
        source_version=None,
        source_commit=commit,
        source_dirty=dirty,
        source_subdir=None,
        env_manager="local",
        env_key=None,
        user=_user(),
        host=_host(),
        mlproj_version=__version__,
        tags={"mlproj.api": "python", "mlproj.env.python": sys.executable, **details},
    )
    run = store.create_run(new)
    lock: RunnerLock | None = None
    try:
        lock = store.hold_runner_lock(run.run_id)
        live = LiveTracking(store, run, LiveOptions(Path.cwd(), mlflow_bridge=False))
        live.start()
    except BaseException:
        store.finish_run(run.run_id, RunStatus.FAILED, None)  # never leave it RUNNING
        if lock is not None:
            lock.release()
        raise
    _install_exit_hooks()
    writer = LogWriter(live.log_file, live.artifact_dir)
    return ActiveRun(run.run_id, writer, _Owned(store, lock, live))


def _git_state(folder: Path) -> tuple[str | None, bool | None, dict[str, str]]:
    from mlproj.sources import resolve_source

    try:
        source = resolve_source(str(folder), version=None, caller_dir=folder)
    except MlprojError:
        return None, None, {}
    tags = {f"mlproj.source.{key}": value for key, value in source.details.items()}
    return source.commit, source.dirty, tags


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _host() -> str:
    import socket

    return socket.gethostname()


def _install_exit_hooks() -> None:
    """End owned runs at exit; remember an uncaught exception so they end as FAILED."""
    if _hooks["installed"]:
        return
    _hooks["installed"] = True
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        _hooks["failed"] = not issubclass(kind, SystemExit)
        previous(kind, value, tb)

    sys.excepthook = hook
    atexit.register(_end_all)


def _end_all() -> None:
    status = "FAILED" if _hooks["failed"] else "FINISHED"
    while _stack:
        with contextlib.suppress(MlprojError):  # a store gone at exit must not add a traceback
            end_run(status)


def target() -> Target:
    """Where a logging call goes now (see the module docstring); may start a run."""
    if _stack:
        return _stack[-1].target
    if os.environ.get(LOG_FILE_ENV):
        return current_writer()
    run_id = os.environ.get(RUN_ID_ENV)
    if run_id:
        return _store_target(run_id)
    return start_run().target
