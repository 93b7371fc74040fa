"""Executing a submitted run where its backend put it: ``python -m mlproj.jobexec RUN_DIR``.

A Slurm batch script and a detached local run both end in this command. It reads the run's
job file, plans the run again there (source, project, parameters, environment: the same
validation as ``mlproj run``), marks the SCHEDULED run RUNNING, and executes it as an attached
run would: the environment is built or reused under the cache lock, the entry point is
supervised (SIGTERM from ``scancel`` stops it and records KILLED), and everything lands in the
run. The exit status is written to ``<run_dir>/exit_code`` last, and is this process's own.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import NoReturn

from mlproj.envs import Prepared
from mlproj.errors import ExitCode, MlprojError, Terminated
from mlproj.jobfile import read_job_file, write_exit_code
from mlproj.jobs import status_of_exit_code
from mlproj.runner import RunPlan, execute_scheduled_run, plan_run
from mlproj.tracking.models import Run
from mlproj.tracking.store import FAILURE_TAG, Store


class _NodeEvents:
    """Progress as plain lines on stderr (the scheduler's output file); build output is saved."""

    def run_started(self, run: Run, plan: RunPlan) -> None:
        _say(f"run {run.run_id} started: {plan.command}")

    def env_output(self, text: str) -> None:
        """Build output is saved in the run's env-build.log; not repeated here."""

    def env_prepared(self, prepared: Prepared) -> None:
        _say(f"environment {'built' if prepared.created else 'reused'}")

    def run_failed_to_start(self, run: Run, reason: str) -> None:
        _say(f"run {run.run_id}: {reason}")


def _raise_terminated(_signum: int, _frame: object) -> NoReturn:
    raise Terminated


def _say(text: str) -> None:
    sys.stderr.write(f"mlproj: {text}\n")
    sys.stderr.flush()


def execute_job(run_dir: Path) -> int:
    """Execute the run whose folder is ``run_dir``; returns the exit status to exit with."""
    job = read_job_file(run_dir)
    store = Store.open(job.tracking_uri)
    run = store.get_run(job.run_id)
    try:
        plan = plan_run(job.request)
    except BaseException as exc:
        # E.g. the source or project changed since submission: the run ends here, with why.
        code, reason = _failure(exc)
        store.end_active_run(run.run_id, status_of_exit_code(code), code, {FAILURE_TAG: reason})
        write_exit_code(run_dir, code)
        raise
    code = int(ExitCode.INTERNAL)
    try:
        result = execute_scheduled_run(plan, store, run, _NodeEvents())
        code = result.exit_code
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except Terminated:
        code = 128 + signal.SIGTERM
    except MlprojError as exc:
        code = int(exc.exit_code)
        _say(exc.message)
    finally:
        write_exit_code(run_dir, code)
    return code


def _failure(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, MlprojError):
        return int(exc.exit_code), exc.message
    if isinstance(exc, KeyboardInterrupt):
        return 128 + signal.SIGINT, "interrupted before the entry point started"
    if isinstance(exc, Terminated):
        return 128 + signal.SIGTERM, "cancelled before the entry point started"
    return int(ExitCode.INTERNAL), f"internal error: {type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    """Entry of ``python -m mlproj.jobexec RUN_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        _say("usage: python -m mlproj.jobexec RUN_DIR")
        return int(ExitCode.USAGE)
    signal.signal(signal.SIGTERM, _raise_terminated)  # scancel: stop the entry point, KILLED
    try:
        return execute_job(Path(args[0]))
    except BaseException as exc:  # recorded in the run already when it exists: say it, exit
        code, reason = _failure(exc)
        _say(reason)
        return code


if __name__ == "__main__":
    sys.exit(main())
