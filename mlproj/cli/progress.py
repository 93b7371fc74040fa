"""What `mlproj run` tells the user while it works: on stderr, so stdout stays the entry point's."""

from __future__ import annotations

import sys

from mlproj.runner import RunPlan, RunResult
from mlproj.sources import ResolvedSource
from mlproj.tracking.models import Run, RunStatus


class RunReporter:
    """Renders :class:`mlproj.runner.RunEvents` as short lines on stderr."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def _say(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"mlproj: {text}\n")
            sys.stderr.flush()

    def progress(self, text: str) -> None:
        """A step that may take a while (cloning a repository)."""
        self._say(text)

    def run_started(self, run: Run, plan: RunPlan) -> None:
        for warning in plan.source.warnings:
            sys.stderr.write(f"mlproj: warning: {warning}\n")
        self._say(f"source {source_line(plan.source)}")
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
        kept = run.tags.get("mlproj.source.workdir")
        if kept:
            self._say(f"the run wrote into its checkout; kept at {kept} (mlproj cache prune)")


def source_line(source: ResolvedSource) -> str:
    """``URI[#subdir] @ commit (branch main, cached, 0.012 s)``: what code the run uses."""
    text = source.details.get("given", source.uri)
    if source.commit:
        text += f" @ {source.commit[:12]}"
    notes = [f"{k} {source.details[k]}" for k in ("tag", "branch") if k in source.details]
    if source.dirty:
        notes.append("dirty: diff saved with the run")
    if "fetch" in source.details:
        notes.append(source.details["fetch"])
    notes.append(f"{source.seconds:.3f} s")
    return f"{text} ({', '.join(notes)})"
