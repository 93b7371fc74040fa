"""Typer commands for tracking and reproducing: `mlproj log ...`, `mlproj rerun`, and
`mlproj runs artifacts|compare|diff`. :func:`register` adds them to the application.

Kept out of app.py so the core commands stay readable; like app.py, only typer is imported here.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from mlproj.cli.app import (
    BackendConfigOption,
    BackendName,
    Detach,
    Json,
    TrackingUri,
)
from mlproj.cli.typerapp import new_typer

RunId = Annotated[str, typer.Argument(help="Run id or a unique prefix of it.")]
Key = Annotated[str, typer.Argument(help="Name of the metric, param or tag.")]
LogRun = Annotated[
    Optional[str],  # noqa: UP045 - typer inspects annotations at runtime on Python 3.10
    typer.Option(
        "--run", help="Run to log into (id or prefix) [default: $MLPROJ_RUN_ID]", show_default=False
    ),
]

log_app = new_typer(
    "Log metrics, params, tags and artifacts into the current run ($MLPROJ_RUN_ID), e.g. from a "
    "shell entry point."
)


def _log(kind: str, key: str, value: str = "", **options: Any) -> int:
    # Usually parsed without Typer (cli/fastparse.py), which calls log_value_command directly.
    from mlproj.cli.tracking_commands import log_value_command

    return log_value_command(kind, key, value, **options)


@log_app.command("metric")
def log_metric(
    key: Key,
    value: Annotated[str, typer.Argument(help="A number (nan and inf too).")],
    step: Annotated[
        Optional[int],  # noqa: UP045 - see LogRun
        typer.Option("--step", help="Training step [default: 0]", show_default=False),
    ] = None,
    run: LogRun = None,
    tracking_uri: TrackingUri = None,
) -> int:
    """Record one value of a metric: mlproj log metric loss 0.25 --step 3."""
    return _log("metric", key, value, step=step, run_id=run, tracking_uri=tracking_uri)


@log_app.command("param")
def log_param(
    key: Key,
    value: Annotated[str, typer.Argument(help="The value, as text.")],
    run: LogRun = None,
    tracking_uri: TrackingUri = None,
) -> int:
    """Record a parameter (a key cannot change value within a run)."""
    return _log("param", key, value, run_id=run, tracking_uri=tracking_uri)


@log_app.command("tag")
def log_tag(
    key: Key,
    value: Annotated[str, typer.Argument(help="The value, as text.")],
    run: LogRun = None,
    tracking_uri: TrackingUri = None,
) -> int:
    """Set a tag (replacing an earlier value)."""
    return _log("tag", key, value, run_id=run, tracking_uri=tracking_uri)


@log_app.command("artifact")
def log_artifact(
    path: Annotated[str, typer.Argument(help="File or folder to copy into the run's artifacts.")],
    artifact_path: Annotated[
        Optional[str],  # noqa: UP045 - see LogRun
        typer.Option("--artifact-path", help="Folder inside the artifacts [default: the top]."),
    ] = None,
    run: LogRun = None,
    tracking_uri: TrackingUri = None,
) -> int:
    """Copy a file or folder into the run's artifacts, now (it may be deleted afterwards)."""
    return _log(
        "artifact", path, artifact_path=artifact_path, run_id=run, tracking_uri=tracking_uri
    )


def runs_artifacts(
    run_id: RunId,
    path: Annotated[str, typer.Argument(help="File or folder inside the artifacts.")] = "",
    output: Annotated[
        Optional[str],  # noqa: UP045 - see LogRun
        typer.Option("-o", "--output", help="Copy into this folder (- : one file to stdout)."),
    ] = None,
    json: Json = False,
    tracking_uri: TrackingUri = None,
) -> int:
    """List a run's artifacts, or copy them out with -o."""
    from mlproj.cli.tracking_commands import artifacts_command

    return artifacts_command(run_id, path, output=output, as_json=json, tracking_uri=tracking_uri)


def runs_compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids or prefixes.")],
    diff_only: Annotated[
        bool, typer.Option("--diff-only", help="Only the rows that differ.")
    ] = False,
    json: Json = False,
    tracking_uri: TrackingUri = None,
) -> int:
    """Show runs side by side: params, metrics, source, environment; differences marked *."""
    from mlproj.cli.tracking_commands import compare_command

    return compare_command(run_ids, diff_only=diff_only, as_json=json, tracking_uri=tracking_uri)


def runs_diff(
    old: RunId,
    new: RunId,
    json: Json = False,
    tracking_uri: TrackingUri = None,
) -> int:
    """What differs between two runs: code (git), params, environment, results."""
    from mlproj.cli.tracking_commands import diff_command

    return diff_command(old, new, as_json=json, tracking_uri=tracking_uri)


def rerun(
    run_id: RunId,
    param: Annotated[
        Optional[list[str]],  # noqa: UP045 - see LogRun
        typer.Option(
            "-P", "--param", help="Override a parameter NAME=VALUE (repeatable).", metavar="N=V"
        ),
    ] = None,
    experiment_name: Annotated[
        Optional[str],  # noqa: UP045 - see LogRun
        typer.Option("--experiment-name", help="Record in this experiment [the original's]."),
    ] = None,
    run_name: Annotated[
        Optional[str],  # noqa: UP045 - see LogRun
        typer.Option("--run-name", help="A name for the new run (default: generated)."),
    ] = None,
    capture_scalars: Annotated[
        bool, typer.Option("--capture-scalars", help="stdout 'name: value' lines become metrics.")
    ] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No mlproj messages.")] = False,
    resolve_again: Annotated[
        bool,
        typer.Option(
            "--resolve-again",
            help="virtualenv/uv: install the project's requirements as they resolve today, not "
            "the run's recorded installed set.",
        ),
    ] = False,
    backend: BackendName = "local",
    backend_config: BackendConfigOption = None,
    detach: Detach = False,
    tracking_uri: TrackingUri = None,
) -> int:
    """Run a recorded run again: same code, entry point, parameters and installed packages."""
    from mlproj.cli.commands import backend_choice
    from mlproj.cli.tracking_commands import RerunArgs, rerun_command

    return rerun_command(
        RerunArgs(
            run_id,
            param or [],
            experiment_name,
            run_name,
            capture_scalars,
            quiet,
            tracking_uri,
            resolve_again,
            backend_choice(backend, backend_config, detach),
        )
    )


def register(app: typer.Typer, runs_app: typer.Typer) -> None:
    """Add these commands to the `mlproj` application."""
    app.add_typer(log_app, name="log")
    app.command("rerun")(rerun)
    runs_app.command("artifacts")(runs_artifacts)
    runs_app.command("compare")(runs_compare)
    runs_app.command("diff")(runs_diff)
