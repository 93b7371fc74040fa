"""The Typer application: parse, call the core, render. Commands stay a few lines each.

Only typer is imported at module level: the core and Rich load inside the commands that use
them, so `mlproj --help` and `mlproj runs list` start fast.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mlproj import __version__
from mlproj.cli.cache import cache_app
from mlproj.cli.envs import envs_app
from mlproj.cli.typerapp import new_typer

app = new_typer(
    "Run MLproject projects reproducibly and record every run to a local tracking store."
)
runs_app = new_typer("Query and manage recorded runs.")
experiments_app = new_typer("List and create experiments.")
app.add_typer(runs_app, name="runs")
app.add_typer(experiments_app, name="experiments")
app.add_typer(envs_app, name="envs")
app.add_typer(cache_app, name="cache")

TrackingUri = Annotated[
    Optional[str],  # noqa: UP045 - typer inspects annotations at runtime on Python 3.10
    typer.Option(
        "--tracking-uri",
        help="Store folder or sqlite:///path.db [env: MLPROJ_TRACKING_URI; default ./mlruns]",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (see schemas/run.schema.json).")]
Uri = Annotated[
    str,
    typer.Argument(help="Project folder or git URL, with an optional #subdir (default: .)."),
]
# Where a run executes (`mlproj run`, `mlproj rerun`).
BackendName = Annotated[
    str, typer.Option("-b", "--backend", help="Where to run: local, slurm or kubernetes.")
]
BackendConfigOption = Annotated[
    Optional[str],  # noqa: UP045 - see TrackingUri
    typer.Option(
        "-c",
        "--backend-config",
        help='Backend options: a JSON file or inline JSON, e.g. \'{"partition": "gpu"}\'.',
    ),
]
Detach = Annotated[bool, typer.Option("--detach", help="Return once submitted; print the run id.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlproj {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Run MLproject projects reproducibly and record every run to a local tracking store."""


@app.command()
def run(
    uri: Uri = ".",
    entry_point: Annotated[
        str, typer.Option("-e", "--entry-point", help="Entry point name, or a .py/.sh file.")
    ] = "main",
    param: Annotated[
        Optional[list[str]],  # noqa: UP045 - see TrackingUri
        typer.Option(
            "-P", "--param", help="Parameter NAME=VALUE (repeatable).", metavar="NAME=VALUE"
        ),
    ] = None,
    version: Annotated[
        Optional[str],  # noqa: UP045 - see TrackingUri
        typer.Option("-v", "--version", help="Git branch, tag or commit (git sources)."),
    ] = None,
    env_manager: Annotated[
        Optional[str],  # noqa: UP045 - see TrackingUri
        typer.Option("--env-manager", help="local, virtualenv, uv, conda or docker."),
    ] = None,
    experiment_name: Annotated[
        Optional[str],  # noqa: UP045 - see TrackingUri
        typer.Option("--experiment-name", help="Experiment to record the run in [Default]."),
    ] = None,
    run_name: Annotated[
        Optional[str],  # noqa: UP045 - see TrackingUri
        typer.Option("--run-name", help="A name for the run (default: generated)."),
    ] = None,
    tracking_uri: TrackingUri = None,
    strict_params: Annotated[
        bool, typer.Option("--strict-params", help="Undeclared -P parameters are an error.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("-q", "--quiet", help="No mlproj messages; the entry point's output only."),
    ] = False,
    docker_args: Annotated[
        Optional[list[str]],  # noqa: UP045 - see TrackingUri
        typer.Option(
            "-A",
            "--docker-args",
            help="Docker option NAME[=VALUE] for docker_env projects (repeatable), "
            "e.g. -A gpus=all -A shm-size=1g.",
            metavar="NAME[=VALUE]",
        ),
    ] = None,
    build_image: Annotated[
        bool,
        typer.Option("--build-image", help="Docker: build an image with the code copied in."),
    ] = False,
    keep_container: Annotated[
        bool, typer.Option("--keep-container", help="Docker: keep the container after the run.")
    ] = False,
    image_user: Annotated[
        bool,
        typer.Option("--image-user", help="Docker: run as the image's user, not your uid:gid."),
    ] = False,
    reuse: Annotated[
        bool,
        typer.Option(
            "--reuse",
            help="Skip the run when a FINISHED run of the same clean commit, entry point, "
            "parameters and environment exists; print its id and exit 0.",
        ),
    ] = False,
    capture_scalars: Annotated[
        bool,
        typer.Option(
            "--capture-scalars", help="stdout lines like 'loss: 0.25 (step 3)' become metrics."
        ),
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Never fetch git sources; run from the cache.")
    ] = False,
    backend: BackendName = "local",
    backend_config: BackendConfigOption = None,
    detach: Detach = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the batch script or Job manifest; submit nothing."),
    ] = False,
) -> int:
    """Run an entry point of a project and record the run; exits with the entry point's status."""
    # `mlproj run` usually skips Typer (cli/fastparse.py) and calls run_command with these same
    # values; tests/cli/test_fastparse.py keeps the two in agreement.
    from mlproj.cli.commands import run_command

    return run_command(
        uri=uri,
        entry_point=entry_point,
        param=param,
        version=version,
        env_manager=env_manager,
        experiment_name=experiment_name,
        run_name=run_name,
        tracking_uri=tracking_uri,
        strict_params=strict_params,
        quiet=quiet,
        docker_args=docker_args,
        build_image=build_image,
        keep_container=keep_container,
        image_user=image_user,
        reuse=reuse,
        capture_scalars=capture_scalars,
        offline=offline,
        backend=backend,
        backend_config=backend_config,
        detach=detach,
        dry_run=dry_run,
    )


Version = Annotated[
    Optional[str],  # noqa: UP045 - see TrackingUri
    typer.Option("-v", "--version", help="Git branch, tag or commit (git sources)."),
]
Offline = Annotated[bool, typer.Option("--offline", help="Never fetch git sources; use the cache.")]


@app.command()
def validate(uri: Uri = ".", version: Version = None, offline: Offline = False) -> int:
    """Check a project and print every problem at once."""
    from mlproj.cli.commands import validate_command

    return validate_command(uri, version=version, offline=offline)


@app.command()
def describe(
    uri: Uri = ".", json: Json = False, version: Version = None, offline: Offline = False
) -> int:
    """Show a project's name, environment and entry points with their parameters."""
    from mlproj.cli.commands import describe_command

    return describe_command(uri, as_json=json, version=version, offline=offline)


@runs_app.command("list")
def runs_list(
    experiment: Annotated[
        Optional[str],  # noqa: UP045 - see TrackingUri
        typer.Option("--experiment", help="Only runs of this experiment."),
    ] = None,
    status: Annotated[
        Optional[str],  # noqa: UP045 - see TrackingUri
        typer.Option("--status", help="RUNNING, FINISHED, FAILED, KILLED or SCHEDULED."),
    ] = None,
    filter_: Annotated[
        Optional[str],  # noqa: UP045 - see TrackingUri
        typer.Option("--filter", help="e.g. \"params.alpha = '0.5' and metrics.rmse < 0.8\""),
    ] = None,
    sort: Annotated[
        Optional[str],  # noqa: UP045 - see TrackingUri
        typer.Option("--sort", help="KEY [ASC|DESC] or -KEY, e.g. metrics.rmse [start_time DESC]"),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most N runs; 0 for all.")] = 100,
    json: Json = False,
    csv: Annotated[
        bool, typer.Option("--csv", help="Print CSV: attributes, params.*, metrics.*, tags.*")
    ] = False,
    tracking_uri: TrackingUri = None,
) -> int:
    """List runs, newest first."""
    # Usually parsed without Typer: see run() above.
    from mlproj.cli.commands import runs_list_command

    return runs_list_command(
        experiment=experiment,
        status=status,
        filter_expr=filter_,
        sort=sort,
        limit=limit,
        as_json=json,
        tracking_uri=tracking_uri,
        as_csv=csv,
    )


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix of it.")],
    json: Json = False,
    metric: Annotated[
        Optional[list[str]],  # noqa: UP045 - see TrackingUri
        typer.Option("--metric", help="Draw this metric's history instead (repeatable)."),
    ] = None,
    tracking_uri: TrackingUri = None,
) -> int:
    """Show everything recorded about a run, or the history of some of its metrics."""
    # Usually parsed without Typer: see run() above.
    from mlproj.cli.commands import runs_show_command

    return runs_show_command(run_id, as_json=json, tracking_uri=tracking_uri, metric=metric)


@runs_app.command("logs")
def runs_logs(
    run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix of it.")],
    stderr: Annotated[
        bool, typer.Option("--stderr", help="Print stderr instead of stdout.")
    ] = False,
    follow: Annotated[
        bool,
        typer.Option("-f", "--follow", help="Keep printing as the run writes, until it ends."),
    ] = False,
    tracking_uri: TrackingUri = None,
) -> int:
    """Print the output a run saved."""
    # Usually parsed without Typer: see run() above.
    from mlproj.cli.commands import runs_logs_command

    return runs_logs_command(run_id, stderr=stderr, tracking_uri=tracking_uri, follow=follow)


@runs_app.command("delete")
def runs_delete(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids or unique prefixes.")],
    tracking_uri: TrackingUri = None,
) -> int:
    """Delete runs with their logs and artifacts."""
    from mlproj.cli.commands import runs_delete_command

    return runs_delete_command(run_ids, tracking_uri=tracking_uri)


@runs_app.command("wait")
def runs_wait(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids or unique prefixes.")],
    timeout: Annotated[
        Optional[float],  # noqa: UP045 - see TrackingUri
        typer.Option("--timeout", help="Give up after this many seconds (exit 112)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing.")] = False,
    tracking_uri: TrackingUri = None,
) -> int:
    """Wait until runs end (any backend); exit 0 if all FINISHED, else the first failure's code."""
    from mlproj.cli.backend_commands import runs_wait_command

    return runs_wait_command(run_ids, timeout=timeout, tracking_uri=tracking_uri, quiet=quiet)


@runs_app.command("cancel")
def runs_cancel(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids or unique prefixes.")],
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for each run to confirm.")
    ] = 60.0,
    tracking_uri: TrackingUri = None,
) -> int:
    """Stop running or queued runs (scancel, or SIGTERM to a local run); they end KILLED."""
    from mlproj.cli.backend_commands import runs_cancel_command

    return runs_cancel_command(run_ids, timeout=timeout, tracking_uri=tracking_uri)


@experiments_app.command("list")
def experiments_list(json: Json = False, tracking_uri: TrackingUri = None) -> int:
    """List experiments."""
    from mlproj.cli.commands import experiments_list_command

    return experiments_list_command(as_json=json, tracking_uri=tracking_uri)


@experiments_app.command("create")
def experiments_create(
    name: Annotated[str, typer.Argument(help="Name of the new experiment.")],
    tracking_uri: TrackingUri = None,
) -> int:
    """Create an experiment."""
    from mlproj.cli.commands import experiments_create_command

    return experiments_create_command(name, tracking_uri=tracking_uri)


# The tracking and reproducing commands live in their own module (it needs the objects above).
from mlproj.cli.app_tracking import register  # noqa: E402

register(app, runs_app)
