"""Command bodies of `mlproj log`, `runs artifacts|compare|diff`, `runs show --metric`, `rerun`.

Imported only when one of these commands runs. `mlproj log` inside a run may be called once per
step of a shell loop, so this module imports nothing heavy at the top: inside a run that command
only appends a line to the log file, without loading the store or the runner.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.errors import NotFoundError, UsageError
from mlproj.logwriter import LogWriter

if TYPE_CHECKING:
    from mlproj.cli.backend_choice import BackendChoice
    from mlproj.fluent import Target
    from mlproj.tracking.store import Store

_NO_RUN = (
    "no run to log into: MLPROJ_RUN_ID is not set (mlproj sets it for the entry points it "
    "runs); call this from inside `mlproj run`, or give --run RUN to log into a recorded run"
)


def _store(tracking_uri: str | None) -> Store:
    from mlproj.tracking.store import Store

    return Store.open(tracking_uri)


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


# mlproj log ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogRequest:
    """One `mlproj log` call: ``kind`` is metric, param, tag or artifact."""

    kind: str
    key: str
    value: str = ""
    step: int | None = None
    artifact_path: str | None = None
    run_id: str | None = None
    tracking_uri: str | None = None


def log_value_command(
    kind: str,
    key: str,
    value: str = "",
    *,
    step: int | None = None,
    artifact_path: str | None = None,
    run_id: str | None,
    tracking_uri: str | None,
) -> int:
    """`mlproj log metric|param|tag|artifact` from its command-line values."""
    return log_command(LogRequest(kind, key, value, step, artifact_path, run_id, tracking_uri))


def log_command(request: LogRequest) -> int:
    """`mlproj log KIND ...`: into the run's log file inside a run, else into the store."""
    env_run = os.environ.get("MLPROJ_RUN_ID")
    wanted = request.run_id or env_run
    if not wanted:
        raise UsageError(_NO_RUN)
    target: Target
    if os.environ.get("MLPROJ_LOG_FILE") and wanted == env_run and not request.tracking_uri:
        target = LogWriter.from_environment()
    else:
        from mlproj.fluent import StoreTarget

        store = _store(request.tracking_uri)
        target = StoreTarget(store, store.get_run(wanted).run_id)
    try:
        _log_one(target, request)
    except FileNotFoundError as exc:
        raise UsageError(f"mlproj log artifact: {exc.args[0] if exc.args else exc}") from exc
    except ValueError as exc:
        raise UsageError(f"mlproj log {request.kind}: {exc}") from exc
    return 0


def _log_one(sink: Target, request: LogRequest) -> None:
    if request.kind == "metric":
        sink.log_metric(request.key, _number(request.value), request.step)
    elif request.kind == "param":
        sink.log_param(request.key, request.value)
    elif request.kind == "tag":
        sink.set_tag(request.key, request.value)
    else:
        sink.log_artifact(request.key, request.artifact_path)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"value {text!r} is not a number") from None


# runs artifacts / compare / diff / show --metric ------------------------------------------


def artifacts_command(
    run_id: str, path: str, *, output: str | None, as_json: bool, tracking_uri: str | None
) -> int:
    """`mlproj runs artifacts RUN [PATH] [-o DEST]`: list, or copy out (``-o -``: to stdout)."""
    from mlproj.cli import render_tracking
    from mlproj.tracking import artifacts

    run = _store(tracking_uri).get_run(run_id)
    root = Path(run.artifact_uri)
    if output is None:
        files = artifacts.list_files(root, path)
        out = render_tracking.artifacts_json(run, files) if as_json else None
        sys.stdout.write(out or render_tracking.artifacts_text(files))
        return 0
    if output == "-":
        target = artifacts.locate(root, path)
        if not target.is_file():
            raise UsageError(f"-o - writes one file to stdout; {path or '.'} is a folder")
        sys.stdout.buffer.write(target.read_bytes())
        return 0
    written = artifacts.copy_out(root, path, Path(output))
    if as_json:
        sys.stdout.write(render_tracking.copied_json(run, written))
    sys.stderr.write(f"mlproj: copied {len(written)} file(s) from run {run.run_id} to {output}\n")
    return 0


def compare_command(
    run_ids: Sequence[str], *, diff_only: bool, as_json: bool, tracking_uri: str | None
) -> int:
    """`mlproj runs compare RUN RUN...`."""
    from mlproj.cli import render_tracking
    from mlproj.compare import compare

    if len(run_ids) < 2:
        raise UsageError("runs compare needs at least two runs (ids or unique prefixes)")
    store = _store(tracking_uri)
    comparison = compare([store.get_run(run_id) for run_id in run_ids])
    if diff_only:
        comparison = comparison.differing()
    if as_json:
        sys.stdout.write(render_tracking.comparison_json(comparison))
    else:
        sys.stdout.write(render_tracking.comparison_text(comparison, color=_color()))
    return 0


def diff_command(old: str, new: str, *, as_json: bool, tracking_uri: str | None) -> int:
    """`mlproj runs diff A B`."""
    from mlproj.cli import render_tracking
    from mlproj.reproduce import diff_runs

    store = _store(tracking_uri)
    diff = diff_runs(store.get_run(old), store.get_run(new))
    out = render_tracking.diff_json(diff) if as_json else None
    sys.stdout.write(out or render_tracking.diff_text(diff, color=_color()))
    return 0


def metric_command(
    run_id: str, keys: Sequence[str], *, as_json: bool, tracking_uri: str | None
) -> int:
    """`mlproj runs show RUN --metric KEY...`: each metric's history."""
    from mlproj.cli import render_tracking

    store = _store(tracking_uri)
    run = store.get_run(run_id)
    histories = {}
    for key in keys:
        history = store.metric_history(run.run_id, key)
        if not history:
            logged = ", ".join(sorted(run.metrics)) or "none"
            raise NotFoundError(f"run {run.run_id} has no metric '{key}' (logged: {logged})")
        histories[key] = history
    if as_json:
        sys.stdout.write(render_tracking.metrics_json(run, histories))
    else:
        sys.stdout.write("".join(render_tracking.metric_text(k, h) for k, h in histories.items()))
    return 0


# rerun -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RerunArgs:
    """The command line of `mlproj rerun`."""

    run_id: str
    params: Sequence[str]
    experiment_name: str | None
    run_name: str | None
    capture_scalars: bool
    quiet: bool
    tracking_uri: str | None
    resolve_again: bool = False
    #: Where to run it (-b/-c/--detach); None for an attached local rerun.
    backend: BackendChoice | None = None


def rerun_command(args: RerunArgs) -> int:
    """`mlproj rerun RUN [-P NAME=VALUE]...`: exits with the new run's status."""
    from mlproj.cli.progress import RunReporter
    from mlproj.reproduce import RERUN_ENV_TAG, RerunOptions, rerun_request
    from mlproj.runner import execute_run, plan_run
    from mlproj.spec.params import parse_param_args

    store = _store(args.tracking_uri)
    original = store.get_run(args.run_id)
    options = RerunOptions(
        overrides=parse_param_args(args.params),
        experiment_name=args.experiment_name,
        run_name=args.run_name,
        tracking_uri=args.tracking_uri,
        capture_scalars=args.capture_scalars,
        resolve_again=args.resolve_again,
    )
    rerun = rerun_request(original, options, Path.cwd(), store.run_dir(original.run_id))
    backend = args.backend.name if args.backend is not None else "local"
    request = replace(rerun.request, backend=backend)
    reporter = RunReporter(quiet=args.quiet)
    for warning in rerun.warnings:
        sys.stderr.write(f"mlproj: warning: {warning}\n")
    reporter.say(f"rerunning run {original.run_id} ({original.run_name})")
    plan = plan_run(request)  # refuses saved changes that are incomplete or do not apply
    if rerun.request.source_snapshot is not None:
        reporter.say(
            f"rebuilt its tree in a private checkout: commit {original.source_commit} + the "
            f"changes saved in {rerun.request.source_snapshot}"
        )
    if rerun.request.env_manager in ("virtualenv", "uv"):
        reporter.say(f"environment: {rerun.request.tags[RERUN_ENV_TAG]}")
    if args.backend is not None:
        from mlproj.cli.backend_commands import submit_command

        return submit_command(plan, store, reporter, args.backend)
    result = execute_run(plan, store, reporter)
    reporter.run_ended(result)
    return result.exit_code
