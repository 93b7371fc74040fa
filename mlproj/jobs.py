"""Runs handed to a backend: their status, waiting for them, cancelling them.

A submitted run carries the tags ``mlproj.backend`` and ``mlproj.backend.job_id``. Its end is
normally recorded by the mlproj executing it (on the node); :func:`refresh_backend_runs` covers
everything else with one status call per backend for all of its active runs: a job cancelled
while queued, preempted, killed by the node or the scheduler, or gone from the queue. It runs
before ``runs list``/``show`` answer, so they reflect the backend's state, and it never leaves a
run SCHEDULED once its job is gone.

Light on purpose (``runs list`` imports it): no runner, no environments, no sources.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlproj.backends.base import Backend, JobPhase, JobState, default_poll_interval
from mlproj.backends.config import BackendConfig
from mlproj.errors import MlprojError, StoreError, UsageError
from mlproj.jobfile import read_backend, read_exit_code
from mlproj.process import signal_process
from mlproj.tracking.models import Run, RunStatus
from mlproj.tracking.store import FAILURE_TAG, Store

if TYPE_CHECKING:
    from mlproj.tracking.scheduling import TaggedRun

BACKEND_TAG = "mlproj.backend"
JOB_ID_TAG = "mlproj.backend.job_id"
#: The scheduler's own word for the job's state (PENDING, RUNNING, PREEMPTED, NODE_FAIL...).
STATE_TAG = "mlproj.backend.state"
#: Set at submission, removed once the scheduler's final word on the job is recorded: the runs
#: a status poll looks at (an index lookup, however many runs the store holds).
WATCH_TAG = "mlproj.backend.watch"
#: Set by `runs cancel`: a job the scheduler then forgets (a deleted Kubernetes Job) was killed.
CANCEL_TAG = "mlproj.backend.cancel_requested"
BACKENDS = ("local", "slurm", "kubernetes")
#: A run submitted this long ago that still has no job id lost its submitter (killed mid-way).
_SUBMIT_GRACE_MS = 120_000
#: Seconds `runs cancel` waits for the run to record its end before recording KILLED itself.
DEFAULT_CANCEL_TIMEOUT = 60.0


def backend_named(name: str, config: BackendConfig | None = None) -> Backend:
    """The backend called ``name``, configured.

    Raises:
        UsageError: No backend has that name.
        BackendError: The config is malformed for that backend.
    """
    config = config or BackendConfig({})
    if name == "local":
        from mlproj.backends.local import LocalBackend

        return LocalBackend(config)
    if name == "slurm":
        from mlproj.backends.slurm import SlurmBackend, SlurmConfig

        return SlurmBackend(SlurmConfig.from_config(config))
    if name == "kubernetes":
        from mlproj.backends.kubernetes import KubernetesBackend

        return KubernetesBackend.from_config(config)
    raise UsageError(f"--backend: unknown backend '{name}' (expected one of {', '.join(BACKENDS)})")


def _backend_setting(store: Store, run_id: str, fallback: str) -> tuple[str, dict[str, Any]]:
    """The backend name and config a run was submitted with (its job file; else the tag)."""
    try:
        return read_backend(store.run_dir(run_id))
    except StoreError:
        return fallback, {}


def backend_of(store: Store, run: Run) -> Backend | None:
    """The configured backend a run was submitted to, or None for a run never submitted."""
    tagged = run.tags.get(BACKEND_TAG)
    if tagged is None:
        return None
    name, config = _backend_setting(store, run.run_id, tagged)
    return backend_named(name, BackendConfig(config))


@dataclass(frozen=True, slots=True)
class Watched:
    """A submitted run and its job id, as a status poll sees it."""

    run: Run
    job_id: str


def refresh_backend_runs(store: Store, watched_runs: Sequence[TaggedRun] | None = None) -> int:
    """Bring every watched submitted run up to date with its backend; returns status calls made.

    ``watched_runs`` is the store's :data:`WATCH_TAG` list when the caller already read it.
    """
    groups: dict[tuple[str, str], list[Watched]] = {}
    tagged_runs = store.runs_with_tag(WATCH_TAG) if watched_runs is None else watched_runs
    for tagged in tagged_runs:
        run = store.get_run(tagged.run_id)
        job_id = run.tags.get(JOB_ID_TAG)
        if job_id is None:
            _unsubmitted(store, run)
            continue
        name, config = _backend_setting(store, run.run_id, tagged.tag_value)
        key = (name, json.dumps(config, sort_keys=True))
        groups.setdefault(key, []).append(Watched(run, job_id))
    for (name, values), watched in groups.items():
        backend = backend_named(name, BackendConfig(json.loads(values)))
        states = backend.status([w.job_id for w in watched])
        for each in watched:
            state = states.get(each.job_id)
            if state is None or state.phase.is_terminal:
                _collect(backend, each, store)
            record_job_state(store, each, state, name)
    return len(groups)


def _collect(backend: Backend, watched: Watched, store: Store) -> None:
    """The ended job's output into the run's folder; a failure is noted, never fatal."""
    try:
        backend.collect_output(watched.job_id, store.run_dir(watched.run.run_id))
    except (MlprojError, OSError) as exc:
        reason = exc.message if isinstance(exc, MlprojError) else str(exc)
        store.set_tags(watched.run.run_id, {"mlproj.backend.output_error": reason})


def _unsubmitted(store: Store, run: Run) -> None:
    """A run without a job id: its submission failed (ended) or its submitter died."""
    if not run.status.is_terminal:
        if time.time() * 1000 - run.start_time <= _SUBMIT_GRACE_MS:
            return  # being submitted right now
        reason = "the submitting mlproj died before the job was submitted"
        store.end_active_run(run.run_id, RunStatus.FAILED, None, {FAILURE_TAG: reason})
    store.delete_tag(run.run_id, WATCH_TAG)


def record_job_state(store: Store, watched: Watched, state: JobState | None, backend: str) -> None:
    """Record what the backend says; the end only when the executing mlproj did not."""
    run = watched.run
    if state is not None and not state.phase.is_terminal:
        if run.tags.get(STATE_TAG) != state.native:
            store.set_tags(run.run_id, {STATE_TAG: state.native})
        return
    native = state.native if state is not None else "GONE"
    if run.status.is_terminal or not _record_end(store, watched, state, backend):
        store.set_tags(run.run_id, {STATE_TAG: native})  # ended by its runner: keep why anyway
        if state is not None and state.phase is RunStatus.FAILED:
            _killed_for_a_failure(store, watched, state, backend)
    store.delete_tag(run.run_id, WATCH_TAG)  # the scheduler's final word is in


def _killed_for_a_failure(store: Store, watched: Watched, state: JobState, backend: str) -> None:
    """A run its runner recorded KILLED because the scheduler stopped it (time limit, memory,
    node failure): the runner only saw a SIGTERM; the scheduler says it was a failure."""
    run = store.get_run(watched.run.run_id)
    if run.status is not RunStatus.KILLED:
        return
    detail = f" ({state.reason})" if state.reason else ""
    reason = f"{backend} job {watched.job_id} was stopped by the scheduler: {state.native}{detail}"
    store.finish_run(run.run_id, RunStatus.FAILED, run.exit_code, end_time=run.end_time)
    store.set_tags(run.run_id, {FAILURE_TAG: reason})


def _record_end(store: Store, watched: Watched, state: JobState | None, backend: str) -> bool:
    """End a run whose job is over; False when its runner recorded the end meanwhile."""
    native = state.native if state is not None else "GONE"
    code = read_exit_code(store.run_dir(watched.run.run_id))
    if code is not None:  # the executing mlproj ended it, or was about to
        return store.end_active_run(
            watched.run.run_id, status_of_exit_code(code), code, {STATE_TAG: native}
        )
    status, code = _status_of_state(state)
    if state is None and CANCEL_TAG in watched.run.tags:
        status = RunStatus.KILLED
    detail = f" ({state.reason})" if state is not None and state.reason else ""
    ended = f"ended {native}{detail}" if state is not None else "left the queue"
    reason = f"{backend} job {watched.job_id} {ended} before the run recorded an end"
    tags = {STATE_TAG: native, FAILURE_TAG: reason}
    return store.end_active_run(watched.run.run_id, status, code, tags)


def status_of_exit_code(code: int) -> RunStatus:
    """A run's end from mlproj's exit status: 0 FINISHED, 129/130/143 (SIGHUP, Ctrl-C, SIGTERM)
    KILLED."""
    if code == 0:
        return RunStatus.FINISHED
    if code in (128 + signal.SIGHUP, 128 + signal.SIGINT, 128 + signal.SIGTERM):
        return RunStatus.KILLED
    return RunStatus.FAILED


def _status_of_state(state: JobState | None) -> tuple[RunStatus, int | None]:
    if state is None:
        return RunStatus.FAILED, None
    if state.phase is JobPhase.FINISHED:
        return RunStatus.FINISHED, state.exit_code if state.exit_code is not None else 0
    return state.phase, state.exit_code


class OutputRefresher:
    """Brings a followed run's saved output up to date while it runs, through the backend's
    ``collect_output`` (a Kubernetes pod's log; a no-op where jobs write into the store)."""

    def __init__(self, store: Store, run: Run) -> None:
        self.store, self.run_id = store, run.run_id
        self.job_id = run.tags.get(JOB_ID_TAG)
        self.backend: Backend | None = None
        if self.job_id is not None:
            with contextlib.suppress(MlprojError):  # no backend, no output to refresh
                self.backend = backend_of(store, run)

    def refresh(self, runs: Sequence[Run]) -> None:
        """Copy the job's current output into the run's folder (best effort: never raises)."""
        if self.backend is None or self.job_id is None:
            return
        if all(run.status.is_terminal for run in runs if run.run_id == self.run_id):
            return  # the final output is collected when the end is recorded
        # The pod may not exist yet: the next poll tries again.
        with contextlib.suppress(MlprojError, OSError):
            self.backend.collect_output(self.job_id, self.store.run_dir(self.run_id))


def wait_runs(
    store: Store,
    run_ids: Sequence[str],
    *,
    on_poll: Callable[[list[Run]], None] | None = None,
    timeout: float | None = None,
    interval: float | None = None,
) -> list[Run]:
    """Poll until every run has ended (one status call per backend per interval).

    Raises:
        UsageError: ``timeout`` seconds passed first (the runs go on).
    """
    runs = [store.get_run(run_id) for run_id in run_ids]  # prefixes resolved once, up front
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        refresh_backend_runs(store)
        runs = [store.get_run(run.run_id) for run in runs]  # also reaps dead local runners
        if on_poll is not None:
            on_poll(runs)
        if all(run.status.is_terminal for run in runs):
            return runs
        if deadline is not None and time.monotonic() >= deadline:
            waiting = ", ".join(r.run_id[:12] for r in runs if not r.status.is_terminal)
            raise UsageError(f"timed out after {timeout:g} s; still not ended: {waiting}")
        time.sleep(interval or default_poll_interval())


def wait_exit_code(runs: Sequence[Run]) -> int:
    """What `runs wait` exits with: 0 when all FINISHED, else the first failed run's code."""
    for run in runs:
        if run.status is not RunStatus.FINISHED:
            if run.exit_code not in (None, 0):
                return int(run.exit_code)
            return 130 if run.status is RunStatus.KILLED else 1
    return 0


def cancel_runs(store: Store, run_ids: Sequence[str], timeout: float) -> list[Run]:
    """Stop each run (its backend's cancel, or SIGTERM to a local runner) and wait for the end.

    A run whose executor does not confirm within ``timeout`` seconds is recorded KILLED here.
    Runs that have already ended are left as they are.
    """
    runs = [store.get_run(run_id) for run_id in run_ids]
    for run in runs:
        if not run.status.is_terminal:
            _cancel(store, run)
    try:
        return wait_runs(store, [run.run_id for run in runs], timeout=timeout)
    except MlprojError:
        for run in runs:
            reason = f"cancelled; its runner did not confirm within {timeout:g} s"
            store.end_active_run(run.run_id, RunStatus.KILLED, None, {FAILURE_TAG: reason})
        return [store.get_run(run.run_id) for run in runs]


def _cancel(store: Store, run: Run) -> None:
    job_id = run.tags.get(JOB_ID_TAG)
    backend = backend_of(store, run) if job_id is not None else None
    if backend is not None and job_id is not None:
        store.set_tags(run.run_id, {CANCEL_TAG: "1"})
        backend.cancel(job_id)
        return
    pid = store.runner_pid(run.run_id)
    if pid is not None:  # an attached `mlproj run`: it stops its entry point and records KILLED
        signal_process(pid, signal.SIGTERM)
    elif run.status is RunStatus.SCHEDULED:
        store.end_active_run(run.run_id, RunStatus.KILLED, None, {FAILURE_TAG: "cancelled"})
