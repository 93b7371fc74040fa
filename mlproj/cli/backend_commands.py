"""Command bodies for runs handed to a backend: `run -b/--detach/--dry-run`, `runs wait|cancel`.

An attached submitted run (no ``--detach``) behaves like a local one for the user: the entry
point's output appears live (followed from the run's log files), Ctrl-C cancels the job and
records the run KILLED, and mlproj exits with the entry point's status.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from mlproj.backends.base import default_poll_interval
from mlproj.backends.config import load_backend_config
from mlproj.cli.backend_choice import BackendChoice
from mlproj.cli.progress import RunReporter
from mlproj.errors import Terminated, UsageError
from mlproj.jobs import (
    OutputRefresher,
    backend_named,
    cancel_runs,
    wait_exit_code,
    wait_runs,
)
from mlproj.runner import RunPlan
from mlproj.tracking.models import Run
from mlproj.tracking.store import Store

#: Seconds an interrupted attached run waits for its job to confirm the cancel.
_CANCEL_ON_INTERRUPT = 30.0
#: Seconds between two reads of a followed run's log.
_FOLLOW_INTERVAL = 0.5


def submit_command(
    plan: RunPlan, store: Store, reporter: RunReporter, choice: BackendChoice
) -> int:
    """Submit the planned run; print its id (``--detach``) or follow it to its end."""
    from mlproj.submit import dry_run_text, submit_run

    config = load_backend_config(choice.config, Path.cwd())
    backend = backend_named(choice.name, config)
    if choice.dry_run:
        try:
            sys.stdout.write(dry_run_text(plan, store, backend))
        finally:
            plan.release()
        return 0
    submitted = submit_run(plan, store, backend, config)
    run = submitted.run
    reporter.say(
        f"run {run.run_id} ({run.run_name}) submitted to {submitted.backend} "
        f"as job {submitted.job_id}: {plan.command}"
    )
    if choice.detach:
        sys.stdout.write(f"{run.run_id}\n")
        return 0
    return follow_run(store, run, reporter)


def follow_run(store: Store, run: Run, reporter: RunReporter) -> int:
    """Stream the run's output until it ends; Ctrl-C or SIGTERM cancel it."""
    follower = _LogFollower(store, run)
    try:
        ended = wait_runs(store, [run.run_id], on_poll=follower.poll)
    except (KeyboardInterrupt, Terminated):
        reporter.say(f"cancelling run {run.run_id}")
        # A second Ctrl-C while cancelling must not leave the run behind: ignore it.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cancel_runs(store, [run.run_id], _CANCEL_ON_INTERRUPT)
        finally:
            signal.signal(signal.SIGINT, previous)
            follower.copy()
        raise
    follower.copy()
    final = ended[0]
    reporter.say(f"run {final.run_id} {final.status.value} (exit {final.exit_code})")
    return wait_exit_code(ended)


class _LogFollower:
    """Copies what was appended to the run's log files since the last call.

    By default stdout.log to stdout and stderr.log to stderr; ``files`` picks others.
    """

    def __init__(self, store: Store, run: Run, files: Sequence[tuple[str, BinaryIO]] = ()) -> None:
        chosen = files or [("stdout.log", sys.stdout.buffer), ("stderr.log", sys.stderr.buffer)]
        run_dir = store.run_dir(run.run_id)
        self.files: list[tuple[Path, BinaryIO]] = [(run_dir / name, sink) for name, sink in chosen]
        self.offsets = [0] * len(self.files)
        self.output = OutputRefresher(store, run)

    def poll(self, runs: list[Run]) -> None:
        """One wait poll: bring the saved output up to date, then copy what is new."""
        self.output.refresh(runs)
        self.copy()

    def copy(self) -> None:
        for index, (path, sink) in enumerate(self.files):
            try:
                with path.open("rb") as handle:
                    handle.seek(self.offsets[index])
                    data = handle.read()
            except FileNotFoundError:
                continue
            if data:
                self.offsets[index] += len(data)
                sink.write(data)
                sink.flush()


def runs_wait_command(
    run_ids: Sequence[str], *, timeout: float | None, tracking_uri: str | None, quiet: bool
) -> int:
    """`mlproj runs wait`: block until the runs end; exit 0 if all FINISHED."""
    if timeout is not None and timeout <= 0:
        raise UsageError(f"--timeout: {timeout:g} is not a positive number of seconds")
    store = Store.open(tracking_uri)
    ended = wait_runs(store, run_ids, timeout=timeout)
    for run in [] if quiet else ended:
        sys.stderr.write(f"mlproj: run {run.run_id} {run.status.value} (exit {run.exit_code})\n")
    return wait_exit_code(ended)


def runs_cancel_command(run_ids: Sequence[str], *, timeout: float, tracking_uri: str | None) -> int:
    """`mlproj runs cancel`: stop the runs and wait until each has recorded its end."""
    if timeout <= 0:
        raise UsageError(f"--timeout: {timeout:g} is not a positive number of seconds")
    store = Store.open(tracking_uri)
    for run in cancel_runs(store, run_ids, timeout):
        sys.stderr.write(f"mlproj: run {run.run_id} {run.status.value}\n")
    return 0


def runs_follow_command(run_id: str, *, stderr: bool, tracking_uri: str | None) -> int:
    """`mlproj runs logs RUN --follow`: the saved output, then what comes, until the run ends."""
    store = Store.open(tracking_uri)
    run = store.get_run(run_id)
    name = "stderr.log" if stderr else "stdout.log"
    follower = _LogFollower(store, run, [(name, sys.stdout.buffer)])
    # Output is read from files: a short interval costs little (one status call per poll).
    interval = min(default_poll_interval(), _FOLLOW_INTERVAL)
    wait_runs(store, [run.run_id], on_poll=follower.poll, interval=interval)
    follower.copy()  # what was written between the last poll and the end
    return 0
