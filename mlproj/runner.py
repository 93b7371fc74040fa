"""Orchestration of `mlproj run`: plan a run (validation only), then execute it.

:func:`plan_run` resolves the source, loads and validates the project, types the parameters,
picks the environment and renders the command. It writes nothing, so every invalid input fails
before any run exists. :func:`execute_run` then creates the run, prepares the environment, runs
the entry point under supervision and always records how it ended.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from mlproj import __version__
from mlproj.envs import Environment, OutputSink, Prepared, default_manager, select_environment
from mlproj.errors import MlprojError, ProjectError, StoreError, Terminated
from mlproj.launch import docker_environment, run_entry_point
from mlproj.process import ProcessOutcome
from mlproj.sources import Progress, ResolvedSource, resolve_source
from mlproj.spec.command import display_command, file_entry_point, render_command
from mlproj.spec.load import load_project
from mlproj.spec.model import EntryPoint, Project
from mlproj.spec.params import ResolvedParams, resolve_params
from mlproj.tracking.live import LiveSummary
from mlproj.tracking.location import resolve_location
from mlproj.tracking.models import NewRun, Run, RunStatus
from mlproj.tracking.store import FAILURE_TAG, Store

if TYPE_CHECKING:  # imported when a run uses docker (or downloads): local runs do not pay
    from mlproj.envs.docker import DockerOptions
    from mlproj.sources.downloads import Downloads

DEFAULT_EXPERIMENT = "Default"
#: Files of the run folder: the environment build output, and the installed set.
ENV_BUILD_LOG = "env-build.log"
INSTALLED_FILE = "installed.txt"
#: Tags every run gets: where `mlproj run` was called from (relative `-P` paths are taken from
#: there) and which parameters took their default value (a JSON list of names).
CALLER_DIR_TAG = "mlproj.caller_dir"
DEFAULTS_TAG = "mlproj.params.defaults"
_FILE_SUFFIXES = (".py", ".sh")


@dataclass(frozen=True, slots=True)
class RunRequest:
    """Everything `mlproj run` was asked to do."""

    caller_dir: Path
    uri: str = "."
    entry_point: str = "main"
    params: Mapping[str, str] = field(default_factory=dict)
    version: str | None = None
    env_manager: str | None = None
    experiment_name: str | None = None
    run_name: str | None = None
    tracking_uri: str | None = None
    strict_params: bool = False
    echo_output: bool = True
    #: Docker options (-A, --build-image...); None when none was given.
    docker: DockerOptions | None = None
    #: Extra tags for the new run (e.g. ``mlproj.rerun_of``).
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Turn stdout lines like ``loss: 0.25 (step 3)`` into metrics.
    capture_scalars: bool = False
    offline: bool = False
    #: Where the run executes (``-b``): only a local run needs a local Docker API to plan.
    backend: str = "local"
    #: Saved changes of a dirty tree (a run's ``source/`` folder) to rebuild on ``version``.
    source_snapshot: Path | None = None
    #: An installed set (``pip freeze`` lines) to build a virtualenv/uv environment from,
    #: instead of resolving the project's requirements again.
    pinned_installed: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A validated run, ready to execute."""

    request: RunRequest
    source: ResolvedSource
    project: Project
    entry: EntryPoint
    params: ResolvedParams
    environment: Environment
    argv: tuple[str, ...]
    command: str
    #: Local copies of ``path`` parameters given as http(s) URLs, removed when the run ends.
    downloads: Downloads | None = None

    def release(self) -> Path | None:
        """Give back what the plan holds: the source checkout and the downloaded inputs.

        Returns the checkout's path when it is kept because the run wrote into it.
        """
        if self.downloads is not None:
            self.downloads.release()
        return self.source.release()


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended. ``exit_code`` is what `mlproj run` exits with."""

    run: Run
    exit_code: int
    duration: float
    #: What the entry point logged, and any problems with it.
    tracking: LiveSummary | None = None


class RunEvents(Protocol):
    """Progress the runner reports while it works (the CLI renders it)."""

    def run_started(self, run: Run, plan: RunPlan) -> None:
        """The run exists in the store; the environment is about to be prepared."""

    def env_output(self, text: str) -> None:
        """A chunk of environment build output."""

    def env_prepared(self, prepared: Prepared) -> None:
        """The environment is ready (built or reused); the entry point starts next."""

    def run_failed_to_start(self, run: Run, reason: str) -> None:
        """The entry point could not be started at all (e.g. its program does not exist)."""


def resolve_entry_point(project: Project, name: str) -> EntryPoint:
    """The declared entry point ``name``, or a `-e file.py` / `-e file.sh` entry point."""
    entry = project.entry_point(name)
    if entry is not None:
        return entry
    if name.endswith(_FILE_SUFFIXES):
        return file_entry_point(project.directory, name)
    declared = ", ".join(sorted(project.entry_points)) or "none"
    where = project.spec_file.name if project.spec_file else "the project (no MLproject file)"
    raise ProjectError(
        f"entry point '{name}' is not declared in {where} (declared: {declared}); "
        "give a declared name or a .py/.sh file with -e"
    )


def plan_run(request: RunRequest, progress: Progress | None = None) -> RunPlan:
    """Validate everything about a run without creating it.

    A git source is checked out into a private folder that the plan owns: :func:`execute_run`
    releases it, and so does this function when validation fails.
    """
    source = resolve_source(
        request.uri,
        version=request.version,
        caller_dir=request.caller_dir,
        offline=request.offline,
        ignore=_store_paths(request),
        progress=progress,
        snapshot=request.source_snapshot,
    )
    try:
        return _plan(request, source, progress)
    except BaseException:
        source.release()
        raise


def _store_paths(request: RunRequest) -> tuple[Path, ...]:
    """The tracking store's files: in a project folder they do not make its tree dirty."""
    location = resolve_location(request.tracking_uri, request.caller_dir)
    db = str(location.db_path)
    sidecars = tuple(Path(db + suffix) for suffix in ("-wal", "-shm", "-journal"))
    folder = (location.db_path.parent,) if location.uri == str(location.db_path.parent) else ()
    return (*folder, location.db_path, *sidecars, location.runs_dir)


def _plan(request: RunRequest, source: ResolvedSource, progress: Progress | None = None) -> RunPlan:
    project = load_project(source.project_dir)
    entry = resolve_entry_point(project, request.entry_point)
    params = resolve_params(
        entry,
        request.params,
        project_dir=project.directory,
        caller_dir=request.caller_dir,
        strict=request.strict_params,
    )
    docker = _docker(request, project)
    environment = select_environment(
        project, request.env_manager, docker=docker, pinned=request.pinned_installed
    )
    downloads = None
    if params.remote:  # last of the checks: nothing is fetched for a run that cannot start
        from mlproj.sources.downloads import download_inputs

        downloads = download_inputs(params.remote, progress)
        params = replace(params, values={**params.values, **downloads.paths})
    try:
        if docker is not None and environment.manager == "docker":
            params = docker_environment(environment).localize(
                entry, params
            )  # paths as the container sees
        argv = tuple(environment.wrap(render_command(entry, params, python=environment.python())))
    except BaseException:
        if downloads is not None:
            downloads.release()
        raise
    return RunPlan(
        request=request,
        source=source,
        project=project,
        entry=entry,
        params=params,
        environment=environment,
        argv=argv,
        command=display_command(argv),
        downloads=downloads,
    )


def _docker(request: RunRequest, project: Project) -> DockerOptions | None:
    """The docker options, with where the caller and the store are (mounted, never copied)."""
    if request.docker is None and (request.env_manager or default_manager(project)) != "docker":
        return None
    from mlproj.envs.docker import DockerOptions

    store = resolve_location(request.tracking_uri, cwd=request.caller_dir)
    return replace(
        request.docker or DockerOptions(),
        caller_dir=request.caller_dir,
        store_db=store.db_path,
        store_runs=store.runs_dir,
        check_engine=request.backend == "local",
    )


def json_names(names: list[str]) -> str:
    """``json.dumps(names)``, without importing json for the usual names (~3 ms of every run).

    Printable ASCII names without quotes or backslashes need no escaping in JSON; any other
    list goes through ``json.dumps``. A test compares both on every kind of character.
    """
    if all(n.isascii() and n.isprintable() and '"' not in n and "\\" not in n for n in names):
        return "[" + ", ".join(f'"{name}"' for name in names) + "]"
    import json

    return json.dumps(names)


def _new_run(plan: RunPlan) -> NewRun:
    source, env = plan.source, plan.environment.describe()
    tags = {f"mlproj.source.{k}": v for k, v in source.details.items()}
    tags.update({f"mlproj.env.{k}": v for k, v in env.details.items()})
    tags["mlproj.project.name"] = plan.project.name
    if plan.downloads is not None:
        tags.update(plan.downloads.tags)  # what each downloaded path parameter held
    tags[CALLER_DIR_TAG] = str(plan.request.caller_dir)
    defaults = [name for name in plan.params.given if name not in plan.request.params]
    if defaults:  # rerun leaves these out, so they resolve as defaults again
        tags[DEFAULTS_TAG] = json_names(defaults)
    tags.update(plan.request.tags)
    return NewRun(
        experiment_name=plan.request.experiment_name or DEFAULT_EXPERIMENT,
        run_name=plan.request.run_name,
        entry_point=plan.entry.name,
        command=plan.command,
        source_uri=source.uri,
        source_version=source.version,
        source_commit=source.commit,
        source_dirty=source.dirty,
        source_subdir=source.subdir,
        env_manager=env.manager,
        env_key=env.key,
        user=_user(),
        host=os.uname().nodename,  # what socket.gethostname() returns, without importing socket
        mlproj_version=__version__,
        params=dict(plan.params.given),
        tags=tags,
    )


def _user() -> str:
    """getpass.getuser()'s answer, without importing getpass (and termios) on every run."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        value = os.environ.get(name)
        if value:
            return value
    try:
        import pwd  # lazy: only when no variable names the user

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # no pwd module, or no passwd entry for this uid (containers)
        return str(os.getuid())


def execute_run(plan: RunPlan, store: Store, events: RunEvents) -> RunResult:
    """Create the run, prepare the environment, run the entry point, record the end.

    Whatever happens after the run is created (build failure, Ctrl-C, SIGTERM, a crash in mlproj),
    the run gets a final status before this returns or raises.
    """
    try:
        run = store.create_run(_new_run(plan))
    except BaseException:
        plan.release()
        raise
    return _run_to_end(plan, store, run, events)


def create_scheduled_run(plan: RunPlan, store: Store, tags: Mapping[str, str]) -> Run:
    """Record the run SCHEDULED, for a backend to execute elsewhere (the plan's checkout stays)."""
    new = _new_run(plan)
    return store.create_run(replace(new, status=RunStatus.SCHEDULED, tags={**new.tags, **tags}))


def execute_scheduled_run(plan: RunPlan, store: Store, run: Run, events: RunEvents) -> RunResult:
    """Execute a run created SCHEDULED (on its node, or in a detached process).

    Raises:
        StoreError: The run is no longer SCHEDULED (cancelled, or started by another process).
    """
    if not store.mark_running(run.run_id):
        plan.release()
        raise StoreError(
            f"run {run.run_id} is {store.get_run(run.run_id).status.value}, not SCHEDULED; "
            "it was cancelled or started elsewhere, so it is not run again"
        )
    return _run_to_end(plan, store, store.get_run(run.run_id), events)


def _run_to_end(plan: RunPlan, store: Store, run: Run, events: RunEvents) -> RunResult:
    """Prepare the environment, run the entry point and record the end, whatever happens."""
    lock = store.hold_runner_lock(run.run_id)
    status, exit_code = RunStatus.FAILED, None
    ended: Run | None = None
    try:
        _save_source_snapshot(store.run_dir(run.run_id), plan.source)
        events.run_started(run, plan)
        _prepare_environment(plan, store, run, events)
        outcome, tracked = run_entry_point(plan, store, run, events)
        status, exit_code = _status_of(outcome)
        _release_source(store, run, plan)
        ended = _finish(store, run, status, exit_code)
        return RunResult(ended, exit_code, outcome.duration, tracked)
    except KeyboardInterrupt:
        status, exit_code = RunStatus.KILLED, 128 + signal.SIGINT
        raise
    except Terminated as exc:
        status, exit_code = RunStatus.KILLED, 128 + exc.signum
        raise
    finally:
        # Something above raised (ended is None): record the end unless the run has one already
        # (a failed env build records its own). A run that ended normally is not read again.
        _release_source(store, run, plan)  # idempotent; also after a failed env build
        if ended is None and store.get_run(run.run_id).status is RunStatus.RUNNING:
            _finish(store, run, status, exit_code)
        lock.release()


def _save_source_snapshot(run_dir: Path, source: ResolvedSource) -> None:
    """Write the uncommitted diff and untracked files of a dirty tree under ``<run>/source/``."""
    folder = run_dir / "source"
    for name, content in source.snapshot_files.items():
        target = folder / name
        if not target.resolve().is_relative_to(folder.resolve()):
            continue  # names come from git, but never write outside the run's folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _release_source(store: Store, run: Run, plan: RunPlan) -> None:
    """Give up the run's private checkout and downloads; record where a kept checkout is."""
    kept = plan.release()
    if kept is not None:
        store.set_tags(run.run_id, {"mlproj.source.workdir": str(kept)})


def _prepare_environment(plan: RunPlan, store: Store, run: Run, events: RunEvents) -> None:
    """Build or reuse the environment, save its output, record its installed set and details.

    A failed build ends the run FAILED with the error's exit code (115) and the reason in the
    ``mlproj.failure`` tag, then raises for the CLI to report.
    """
    run_dir = store.run_dir(run.run_id)
    with _SavedOutput(run_dir / ENV_BUILD_LOG, events.env_output) as output:
        try:
            prepared = plan.environment.prepare(output)
        except MlprojError as exc:
            store.set_tags(run.run_id, {FAILURE_TAG: exc.message})
            _finish(store, run, RunStatus.FAILED, int(exc.exit_code))
            raise
    if prepared.installed:
        (run_dir / INSTALLED_FILE).write_text("".join(f"{x}\n" for x in prepared.installed))
    if prepared.details:
        store.set_tags(run.run_id, {f"mlproj.env.{k}": v for k, v in prepared.details.items()})
    events.env_prepared(prepared)


class _SavedOutput:
    """An output sink that forwards build output and saves it (the file appears with output)."""

    def __init__(self, path: Path, forward: OutputSink) -> None:
        self.path = path
        self.forward = forward
        self.handle: TextIO | None = None

    def __enter__(self) -> OutputSink:
        return self.write

    def write(self, text: str) -> None:
        if self.handle is None:
            self.handle = self.path.open("a", encoding="utf-8")
        self.handle.write(text)
        self.handle.flush()
        self.forward(text)

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def _status_of(outcome: ProcessOutcome) -> tuple[RunStatus, int]:
    if outcome.interrupted_by is not None:
        return RunStatus.KILLED, 128 + outcome.interrupted_by
    if outcome.exit_code == 0:
        return RunStatus.FINISHED, 0
    return RunStatus.FAILED, outcome.exit_code


def _finish(store: Store, run: Run, status: RunStatus, exit_code: int | None) -> Run:
    store.finish_run(run.run_id, status, exit_code)
    return store.get_run(run.run_id)
