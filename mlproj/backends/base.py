"""The one small interface every backend implements: submit, status, cancel (and wait over them).

A backend answers *where the run's command executes*. The runner plans the run and creates it in
the store; a backend then only has to start a :class:`Submission` somewhere, say how its jobs
are doing (:meth:`Backend.status`, batched: one scheduler call for any number of jobs), and stop
one. Backends know nothing of the store or of projects (they are peers of ``tracking`` and
``envs``): they speak in job ids and :class:`JobState`, which the caller maps onto runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlproj.status import RunStatus

#: Seconds between two status calls while waiting (``MLPROJ_POLL_INTERVAL`` overrides it).
DEFAULT_POLL_INTERVAL = 2.0


def default_poll_interval() -> float:
    """``MLPROJ_POLL_INTERVAL`` when it is a positive number, else :data:`DEFAULT_POLL_INTERVAL`."""
    try:
        value = float(os.environ.get("MLPROJ_POLL_INTERVAL", DEFAULT_POLL_INTERVAL))
    except ValueError:
        return DEFAULT_POLL_INTERVAL
    return value if value > 0 else DEFAULT_POLL_INTERVAL


#: A job's phase is the run status it means (SCHEDULED while queued...); backends map their
#: scheduler's states onto it and keep the scheduler's own word in :attr:`JobState.native`.
JobPhase = RunStatus


@dataclass(frozen=True, slots=True)
class JobState:
    """What the scheduler says about one job."""

    phase: JobPhase
    #: The scheduler's own word for it (Slurm ``PREEMPTED``, ``NODE_FAIL``; a Kubernetes
    #: condition), recorded with the run so "why" is never lost in the mapping.
    native: str
    reason: str = ""
    #: The entry point's exit status when the scheduler knows it (containers), else None.
    exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """A created run, ready to hand to a backend.

    Hosts that share the store's folder (a local detached process, a Slurm node) run
    ``launcher``: mlproj itself, which prepares the environment there under the usual cache
    locks, runs the entry point and records everything into the run. Container backends that
    share nothing run ``command`` in ``image`` with ``variables`` instead.
    """

    run_id: str
    #: The run's folder in the store: job scripts, scheduler output and the exit-code file go here.
    run_dir: Path
    #: A short human name for the scheduler's queue (``mlproj-<project>-<run id prefix>``).
    name: str
    launcher: tuple[str, ...]
    #: The project folder: the job's working directory.
    workdir: Path
    command: tuple[str, ...] = ()
    image: str | None = None
    #: The run's identity (``MLPROJ_RUN_ID``...) and the environment kind's variables.
    variables: Mapping[str, str] = field(default_factory=dict)


class Backend(Protocol):
    """Where runs execute: ``local`` (a detached process), ``slurm`` or ``kubernetes``."""

    name: str
    #: The job runs on this machine, so its runner's lock on the run can be trusted.
    same_host: bool
    #: The job runs ``command`` in ``image`` and shares no filesystem (a container cluster);
    #: otherwise it runs ``launcher`` on a host that shares the store's folder.
    runs_image: bool

    @property
    def shares_cache(self) -> bool:
        """The job's host uses this machine's mlproj cache (git mirrors already fetched here)."""

    def submit(self, submission: Submission) -> str:
        """Start the job; returns the scheduler's job id.

        Raises:
            BackendError: The scheduler refused the job or cannot be reached (one clear line).
        """

    def status(self, job_ids: Sequence[str]) -> Mapping[str, JobState]:
        """The state of each job, in one scheduler call; ids the scheduler forgot are left out."""

    def cancel(self, job_id: str) -> None:
        """Ask the scheduler to stop the job (idempotent: an ended job is not an error)."""

    def poll_interval(self) -> float:
        """Seconds between two status calls while waiting."""

    def render(self, submission: Submission) -> str:
        """The job as the scheduler would receive it (``--dry-run``): a script, a manifest."""

    def collect_output(self, job_id: str, run_dir: Path) -> None:
        """Once the job has ended, save its output into the run's folder if it is not there.

        Backends whose jobs write into the run's folder themselves (local, Slurm) do nothing.
        """


def wait_for(
    backend: Backend,
    job_ids: Sequence[str],
    *,
    done: Callable[[Mapping[str, JobState]], bool],
    sleep: Callable[[float], None] = time.sleep,
) -> Mapping[str, JobState]:
    """Call :meth:`Backend.status` once per poll interval (for all jobs at once) until ``done``."""
    while True:
        states = backend.status(job_ids)
        if done(states):
            return states
        sleep(backend.poll_interval())
