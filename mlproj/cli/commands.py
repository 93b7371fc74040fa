"""Command bodies: build a request, call the core, hand the result to the renderer.

Imported only when a command runs, so this module may import the core freely.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.errors import ExitCode, NotFoundError, UsageError
from mlproj.tracking.models import RunStatus
from mlproj.tracking.store import Store

if TYPE_CHECKING:
    from mlproj.cli.backend_choice import BackendChoice
    from mlproj.envs.docker import DockerOptions


def _store(tracking_uri: str | None) -> Store:
    return Store.open(tracking_uri)


def _refreshed_store(tracking_uri: str | None) -> Store:
    """The store, with runs handed to a backend brought up to date first (when there are any)."""
    store = Store.open(tracking_uri)
    watched = store.runs_with_tag("mlproj.backend.watch")  # mlproj.jobs.WATCH_TAG
    if watched:  # the common case (none) imports nothing more
        from mlproj.jobs import refresh_backend_runs

        refresh_backend_runs(store, watched)
    return store


def run_command(
    *,
    uri: str,
    entry_point: str,
    param: Sequence[str] | None,
    version: str | None,
    env_manager: str | None,
    experiment_name: str | None,
    run_name: str | None,
    tracking_uri: str | None,
    strict_params: bool,
    quiet: bool,
    docker_args: Sequence[str] | None = None,
    build_image: bool = False,
    keep_container: bool = False,
    image_user: bool = False,
    reuse: bool = False,
    capture_scalars: bool = False,
    offline: bool = False,
    backend: str = "local",
    backend_config: str | None = None,
    detach: bool = False,
    dry_run: bool = False,
) -> int:
    """`mlproj run`: plan (validate everything), then execute and exit with the entry's status."""
    from mlproj.cli.progress import RunReporter
    from mlproj.runner import RunRequest, execute_run, plan_run
    from mlproj.spec.params import parse_param_args

    choice = backend_choice(backend, backend_config, detach, dry_run)
    request = RunRequest(
        caller_dir=Path.cwd(),
        uri=uri,
        entry_point=entry_point,
        params=parse_param_args(param or ()),
        version=version,
        env_manager=env_manager,
        experiment_name=experiment_name,
        run_name=run_name,
        tracking_uri=tracking_uri,
        strict_params=strict_params,
        docker=docker_options(docker_args, build_image, keep_container, image_user),
        capture_scalars=capture_scalars,
        offline=offline,
        backend=choice.name if choice is not None else "local",
    )
    reporter = RunReporter(quiet=quiet)
    plan = plan_run(request, progress=reporter.progress)
    store = _store(tracking_uri)
    if reuse:
        from mlproj.reproduce import reusable_run

        found, reason = reusable_run(store, plan)
        if found is not None:
            plan.release()  # nothing runs: a git checkout made for the plan goes back
            reporter.reused(found)
            sys.stdout.write(f"{found.run_id}\n")
            return 0
        reporter.not_reused(reason)
    if choice is not None:
        from mlproj.cli.backend_commands import submit_command

        return submit_command(plan, store, reporter, choice)
    try:
        result = execute_run(plan, store, reporter)
    finally:
        reporter.close()  # a build spinner must stop before an error is printed
    reporter.run_ended(result)
    return result.exit_code


def docker_options(
    docker_args: Sequence[str] | None, build_image: bool, keep_container: bool, image_user: bool
) -> DockerOptions | None:
    """The docker options of `mlproj run`, or None when none was given (nothing is imported)."""
    if not (docker_args or build_image or keep_container or image_user):
        return None
    from mlproj.envs.docker import DockerOptions

    return DockerOptions(tuple(docker_args or ()), build_image, keep_container, image_user)


def backend_choice(
    name: str, config: str | None, detach: bool, dry_run: bool = False
) -> BackendChoice | None:
    """What to hand the run to, or None for a plain attached local run (which creates nothing).

    Raises:
        UsageError: ``-c`` was given for a run that no backend takes.
    """
    if name == "local" and not detach and not dry_run:
        if config is not None:
            raise UsageError(
                "--backend-config applies to a backend (-b slurm, -b kubernetes) or to "
                "--detach; a local run takes none"
            )
        return None
    from mlproj.cli.backend_choice import BackendChoice

    return BackendChoice(name, config, detach, dry_run)


def validate_command(uri: str, *, version: str | None = None, offline: bool = False) -> int:
    """`mlproj validate`: every problem at once, exit 113 when there is any."""
    from mlproj.cli import render
    from mlproj.sources import resolve_source
    from mlproj.spec.load import check_project

    source = resolve_source(uri, version=version, caller_dir=Path.cwd(), offline=offline)
    try:
        project, problems = check_project(source.project_dir)
    finally:
        source.release()
    if problems:
        for problem in problems:
            sys.stderr.write(f"{problem}\n")
        noun = "problem" if len(problems) == 1 else "problems"
        sys.stderr.write(f"mlproj: {len(problems)} {noun} in {source.project_dir}\n")
        return int(ExitCode.PROJECT)
    assert project is not None
    sys.stdout.write(render.validated(project))
    return 0


def describe_command(
    uri: str, *, as_json: bool, version: str | None = None, offline: bool = False
) -> int:
    """`mlproj describe`."""
    from mlproj.cli import render
    from mlproj.sources import resolve_source
    from mlproj.spec.load import load_project

    source = resolve_source(uri, version=version, caller_dir=Path.cwd(), offline=offline)
    try:
        project = load_project(source.project_dir)
    finally:
        source.release()
    out = render.project_json(project) if as_json else render.project_text(project)
    sys.stdout.write(out)
    return 0


def _status(value: str | None) -> RunStatus | None:
    if value is None:
        return None
    try:
        return RunStatus(value.upper())
    except ValueError:
        names = ", ".join(s.value for s in RunStatus)
        raise UsageError(f"--status: unknown status '{value}' (expected one of {names})") from None


def runs_list_command(
    *,
    experiment: str | None,
    status: str | None,
    filter_expr: str | None,
    sort: str | None,
    limit: int,
    as_json: bool,
    tracking_uri: str | None,
    as_csv: bool = False,
) -> int:
    """`mlproj runs list`."""
    from mlproj.cli import render

    if limit < 0:
        raise UsageError(f"--limit: {limit} is negative (give 0 for all runs)")
    if as_json and as_csv:
        raise UsageError("--json and --csv cannot be used together; pick one")
    store = _refreshed_store(tracking_uri)
    runs = store.search_runs(
        experiment=experiment,
        status=_status(status),
        filter=filter_expr,
        sort=sort,
        limit=limit or None,
    )
    if as_csv:
        from mlproj.cli.render_tracking import runs_csv

        sys.stdout.write(runs_csv(runs))
    elif as_json:
        sys.stdout.write(render.runs_json(runs))
    else:
        sys.stdout.write(render.runs_table(runs))
    return 0


def runs_show_command(
    run_id: str, *, as_json: bool, tracking_uri: str | None, metric: Sequence[str] | None = None
) -> int:
    """`mlproj runs show`: everything about a run, or with --metric those metrics' history."""
    if metric:
        from mlproj.cli.tracking_commands import metric_command

        return metric_command(run_id, metric, as_json=as_json, tracking_uri=tracking_uri)
    from mlproj.cli import render

    store = _refreshed_store(tracking_uri)
    run = store.get_run(run_id)
    if as_json:
        sys.stdout.write(render.run_json(run))
        return 0
    saved = store.run_dir(run.run_id) / "installed.txt"  # runner.INSTALLED_FILE
    installed = saved.read_text().splitlines() if saved.is_file() else []
    sys.stdout.write(render.run_text(run, installed))
    return 0


def runs_logs_command(
    run_id: str, *, stderr: bool, tracking_uri: str | None, follow: bool = False
) -> int:
    """`mlproj runs logs`: the saved output, byte for byte (with -f, until the run ends)."""
    if follow:
        from mlproj.cli.backend_commands import runs_follow_command

        return runs_follow_command(run_id, stderr=stderr, tracking_uri=tracking_uri)
    store = _store(tracking_uri)
    run = store.get_run(run_id)
    log = store.run_dir(run.run_id) / ("stderr.log" if stderr else "stdout.log")
    if not log.is_file():
        raise NotFoundError(f"run {run.run_id} has no saved {log.stem} ({log} is missing)")
    with log.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
    return 0


def runs_delete_command(run_ids: Sequence[str], *, tracking_uri: str | None) -> int:
    """`mlproj runs delete`."""
    deleted = _store(tracking_uri).delete_runs(run_ids)
    for run_id in deleted:
        sys.stderr.write(f"mlproj: deleted run {run_id}\n")
    return 0


def experiments_list_command(*, as_json: bool, tracking_uri: str | None) -> int:
    """`mlproj experiments list`."""
    from mlproj.cli import render

    experiments = _store(tracking_uri).list_experiments()
    out = render.experiments_json(experiments) if as_json else render.experiments_table(experiments)
    sys.stdout.write(out)
    return 0


def experiments_create_command(name: str, *, tracking_uri: str | None) -> int:
    """`mlproj experiments create`: prints the new experiment's id."""
    experiment = _store(tracking_uri).create_experiment(name)
    sys.stdout.write(f"{experiment.experiment_id}\n")
    return 0
