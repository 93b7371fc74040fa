"""Starting a run's entry point: as a supervised local child, or in a container.

:func:`run_entry_point` is called by :func:`mlproj.runner.execute_run` once the run exists and
its environment is ready; live tracking (the log-record file, the MLflow bridge, captured
scalars) runs around the entry point whichever way it is started.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from mlproj.envs import Environment
from mlproj.process import ProcessOutcome, ProcessRequest, supervise
from mlproj.tracking.live import LiveOptions, LiveSummary, LiveTracking
from mlproj.tracking.models import Run
from mlproj.tracking.store import Store

#: The label every container of a run carries (its value: the run id).
RUN_LABEL = "mlproj.run_id"

if TYPE_CHECKING:
    from mlproj.envs.docker import DockerEnvironment
    from mlproj.runner import RunEvents, RunPlan


def run_entry_point(
    plan: RunPlan, store: Store, run: Run, events: RunEvents
) -> tuple[ProcessOutcome, LiveSummary]:
    """Run the entry point (a local child or a container) with live tracking around it."""
    docker = plan.environment.manager == "docker"
    wanted = os.environ.get("MLPROJ_MLFLOW_BRIDGE", "1").strip().lower() not in ("0", "false")
    options = LiveOptions(plan.project.directory, plan.request.capture_scalars, wanted)
    if docker and wanted:
        options = _container_bridge(options, docker_environment(plan.environment))
    live = LiveTracking(store, run, options)
    live.start()
    try:
        if docker:
            outcome = _run_container(
                plan, docker_environment(plan.environment), store, run, events, live=live
            )
        else:
            outcome = _run_local(plan, store, run, events, live)
    finally:
        tracked = live.stop()  # everything the entry point wrote is stored before the run ends
    return outcome, tracked


def _run_local(
    plan: RunPlan, store: Store, run: Run, events: RunEvents, live: LiveTracking
) -> ProcessOutcome:
    request = ProcessRequest(
        argv=plan.argv,
        cwd=plan.project.directory,
        env=live.child_environment(child_environment(plan, store, run)),
        stdout_log=store.run_dir(run.run_id) / "stdout.log",
        stderr_log=store.run_dir(run.run_id) / "stderr.log",
        echo=plan.request.echo_output,
        stdout_tap=live.stdout_tap,
    )
    try:
        return supervise(request)
    except OSError as exc:
        # The program could not start: the entry point's failure, reported as a shell would.
        events.run_failed_to_start(run, f"cannot start '{plan.argv[0]}': {exc.strerror}")
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        return ProcessOutcome(exit_code=code, interrupted_by=None, duration=0.0)


def _run_container(
    plan: RunPlan,
    env: DockerEnvironment,
    store: Store,
    run: Run,
    events: RunEvents,
    *,
    live: LiveTracking,
) -> ProcessOutcome:
    """Run the entry point in a container (docker backend), as the environment configures it.

    The run's variables, the log-record file among them, are store paths that the environment
    maps to their place inside the container, so logging from the container lands in this run.
    """
    from mlproj.backends.docker import ContainerRequest, run_container

    remove_orphan_containers(store, exclude=run.run_id)
    spec = env.container_run(plan.argv, live.child_environment(run_variables(store, run)))
    run_dir = store.run_dir(run.run_id)
    request = ContainerRequest(
        image=spec.image,
        command=spec.command,
        options=spec.options,
        stdout_log=run_dir / "stdout.log",
        stderr_log=run_dir / "stderr.log",
        echo=plan.request.echo_output,
        keep=spec.keep,
        labels={RUN_LABEL: run.run_id},
        stdout_tap=live.stdout_tap,
    )

    def created(container_id: str) -> None:
        store.set_tags(run.run_id, {"mlproj.env.container_id": container_id})

    outcome = run_container(request, on_created=created)
    if outcome.start_error is not None:
        events.run_failed_to_start(run, outcome.start_error)
    return ProcessOutcome(outcome.exit_code, outcome.interrupted_by, outcome.duration)


def _container_bridge(options: LiveOptions, env: DockerEnvironment) -> LiveOptions:
    """The MLflow bridge where a container reaches the host: its network's gateway address."""
    endpoint = env.host_endpoint()
    if isinstance(endpoint, str):
        return replace(options, bridge_unavailable=endpoint)
    listen, url_host, view = endpoint
    return replace(options, bridge_listen=listen, bridge_url_host=url_host, artifact_view=view)


def remove_orphan_containers(store: Store, exclude: str = "") -> list[str]:
    """Remove running containers whose run in this store has ended; returns their run ids.

    A container outlives an mlproj that was killed outright (SIGKILL): its run is then reaped
    as FAILED by the store, and the next docker run of the store removes the container.
    """
    from mlproj.backends.docker import remove_container, running_labelled
    from mlproj.errors import NotFoundError

    removed = []
    for container_id, run_id in running_labelled(RUN_LABEL):
        if not run_id or run_id == exclude:
            continue
        try:
            ended = store.get_run(run_id).status.is_terminal  # reaps a dead runner first
        except NotFoundError:
            continue  # a run of another store
        if ended and remove_container(container_id):
            store.set_tags(run_id, {"mlproj.env.container_removed": container_id})
            removed.append(run_id)
    return removed


def docker_environment(environment: Environment) -> DockerEnvironment:
    """The environment as the docker kind (callers checked ``manager == 'docker'``)."""
    from mlproj.envs.docker import DockerEnvironment

    assert isinstance(environment, DockerEnvironment)  # manager == "docker"
    return environment


def run_variables(store: Store, run: Run) -> dict[str, str]:
    """The run's identity, for the entry point to log into it."""
    return {
        "MLPROJ_RUN_ID": run.run_id,
        "MLPROJ_TRACKING_URI": store.uri,
        "MLPROJ_EXPERIMENT_ID": run.experiment_id,
        "MLPROJ_ARTIFACT_DIR": run.artifact_uri,
    }


def child_environment(plan: RunPlan, store: Store, run: Run) -> dict[str, str]:
    """The entry point's environment: the caller's, the env kind's, and the run's identity."""
    env = dict(os.environ)
    env.update(plan.environment.variables())
    env.setdefault("PYTHONUNBUFFERED", "1")  # live logs from Python entry points through pipes
    env.update(run_variables(store, run))
    return env
