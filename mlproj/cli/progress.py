"""What `mlproj run` tells the user while it works: on stderr, so stdout stays the entry point's.

Environment build output streams as plain lines, or, on a terminal, under a Rich spinner that
shows the latest line (Rich is imported only when a build actually prints something).
"""

from __future__ import annotations

import sys
from typing import Any

from mlproj.envs import Prepared
from mlproj.runner import RunPlan, RunResult
from mlproj.sources import ResolvedSource
from mlproj.tracking.models import Run, RunStatus


class RunReporter:
    """Renders :class:`mlproj.runner.RunEvents` as short lines on stderr."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self._console: Any = None
        self._status: Any = None

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

    def progress(self, text: str) -> None:
        """A step that may take a while (cloning a repository)."""
        self._say(text)

    def run_started(self, run: Run, plan: RunPlan) -> None:
        for warning in plan.source.warnings:
            sys.stderr.write(f"mlproj: warning: {warning}\n")
        self._say(f"source {source_line(plan.source)}")
        key = plan.environment.key()
        env = plan.environment.manager + (f" {key}" if key else "")
        self._say(
            f"run {run.run_id} ({run.run_name}) in experiment '{run.experiment_name}', "
            f"env {env}: {plan.command}"
        )

    def env_output(self, text: str) -> None:
        if self.quiet:
            return
        if not sys.stderr.isatty():
            sys.stderr.write(text)
            sys.stderr.flush()
            return
        if self._status is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)
            self._status = self._console.status("building the environment")
            self._status.start()
        for line in text.splitlines():
            self._console.print(line, style="dim", markup=False)
            self._status.update(f"building the environment: {line.strip()[:70]}")

    def env_prepared(self, prepared: Prepared) -> None:
        self.close()
        if prepared.created:
            count = prepared.details.get("installed")
            installed = f" ({count} packages installed)" if count else ""
            self._say(f"env ready in {prepared.seconds:.1f} s{installed}")

    def close(self) -> None:
        """Stop the spinner, if one runs (before anything else is written to the terminal)."""
        if self._status is not None:
            self._status.stop()
            self._status = None

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
