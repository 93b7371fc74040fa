"""What `mlproj run` tells the user while it works: on stderr, so stdout stays the entry point's."""

from __future__ import annotations

import sys

from mlproj.runner import RunPlan, RunResult
from mlproj.tracking.models import Run, RunStatus


class RunReporter:
    """Renders :class:`mlproj.runner.RunEvents` as short lines on stderr."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def _say(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"mlproj: {text}\n")
            sys.stderr.flush()

    def say(self, text: str) -> None:
        """One ``mlproj: ...`` line on stderr (unless quiet)."""
        self._say(text)

    def reused(self, run: Run) -> None:
        """`--reuse` found an earlier run of the same work: nothing runs."""
        self._say(
            f"reusing run {run.run_id} ({run.run_name}, FINISHED "
            f"{run.experiment_name}/{run.entry_point}): same commit, parameters and environment"
        )

    def not_reused(self, reason: str) -> None:
        """`--reuse` found nothing to reuse: the run goes ahead."""
        self._say(f"--reuse: running, because {reason}")

    def run_started(self, run: Run, plan: RunPlan) -> None:
        self._say(
            f"run {run.run_id} ({run.run_name}) in experiment '{run.experiment_name}', "
            f"env {plan.environment.manager}: {plan.command}"
        )

    def env_output(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(text)
            sys.stderr.flush()

    def run_failed_to_start(self, run: Run, reason: str) -> None:  # noqa: ARG002 - protocol
        sys.stderr.write(f"mlproj: {reason}\n")

    def run_ended(self, result: RunResult) -> None:
        run = result.run
        how = run.status.value
        if run.status is RunStatus.FAILED:
            how += f" (exit code {result.exit_code})"
        self._say(f"run {run.run_id} {how} in {result.duration:.2f} s")
        if result.tracking is not None:
            # Not silenced by -q: these are records of the run that were lost.
            for line in result.tracking.problem_lines:
                sys.stderr.write(f"mlproj: warning: {line}\n")
