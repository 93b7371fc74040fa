"""Handing a planned run to a backend: ``mlproj run -b slurm|kubernetes`` and ``--detach``.

The run is validated exactly as an attached run (:func:`mlproj.runner.plan_run`), created
SCHEDULED with the backend's tags, its job file written into its folder, then submitted. If the
submission fails, the run is deleted again (nothing ran; the error says why): no run is left
SCHEDULED for a job that does not exist.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from mlproj.backends.base import Backend, Submission
from mlproj.backends.config import BackendConfig
from mlproj.jobfile import JobFile, write_job_file
from mlproj.jobs import BACKEND_TAG, JOB_ID_TAG, WATCH_TAG
from mlproj.launch import docker_environment, run_variables
from mlproj.runner import ENV_BUILD_LOG, RunPlan, RunRequest, create_scheduled_run
from mlproj.sources import is_remote
from mlproj.tracking.locks import EXTERNAL_RUNNER
from mlproj.tracking.models import Run, RunStatus
from mlproj.tracking.store import Store

#: The command a backend's host runs to execute the run: this mlproj, by the same interpreter.
LAUNCHER_MODULE = "mlproj.jobexec"
#: The run id shown by --dry-run (no run is created).
DRY_RUN_ID = "0" * 32


@dataclass(frozen=True, slots=True)
class Submitted:
    """A run handed to a backend."""

    run: Run
    backend: str
    job_id: str


def job_request(plan: RunPlan, backend: Backend) -> RunRequest:
    """The request the executing mlproj plans from: the same run, pinned to what was resolved.

    A git source is pinned to the commit resolved now (a branch may move before the job starts)
    and fetched from the shared cache only, unless the nodes use another cache folder.
    """
    request = replace(plan.request, echo_output=False, backend="local")  # local on its host
    if plan.source.commit is not None and (is_remote(plan.source.uri) or request.version):
        request = replace(request, version=plan.source.commit, offline=backend.shares_cache)
    return request


def submit_run(plan: RunPlan, store: Store, backend: Backend, config: BackendConfig) -> Submitted:
    """Create the run SCHEDULED and submit it.

    Raises:
        BackendError: The backend refused the job (the run is recorded FAILED with the reason).
    """
    try:
        tags = {BACKEND_TAG: backend.name, WATCH_TAG: backend.name}
        run = create_scheduled_run(plan, store, tags)
    except BaseException:
        plan.release()
        raise
    run_dir = store.run_dir(run.run_id)
    try:
        if not backend.same_host:
            (run_dir / EXTERNAL_RUNNER).touch()  # liveness comes from the scheduler
        job = JobFile(
            run.run_id, store.uri, job_request(plan, backend), backend.name, config.values
        )
        write_job_file(run_dir, job)
        job_id = backend.submit(_submission(plan, store, run, backend))
    except BaseException:
        # Nothing was submitted, so nothing ran: the run goes, as for any error found before a
        # run starts (the error itself is reported to the user).
        store.end_active_run(run.run_id, RunStatus.FAILED, None, {})
        store.delete_runs([run.run_id])
        raise
    finally:
        plan.release()  # the executing mlproj checks the source out again
    store.set_tags(run.run_id, {JOB_ID_TAG: job_id})
    return Submitted(store.get_run(run.run_id), backend.name, job_id)


def _submission(plan: RunPlan, store: Store, run: Run, backend: Backend) -> Submission:
    variables = {**plan.environment.variables(), **run_variables(store, run)}
    submission = _make_submission(plan, run.run_id, store.run_dir(run.run_id), variables, backend)
    if backend.runs_image and _builds_image(plan):
        # The code goes into an image built here (then pushed to repository-uri), as MLflow does.
        image = _built_image(plan, store.run_dir(run.run_id))
        return replace(submission, image=image)
    return submission


def _builds_image(plan: RunPlan) -> bool:
    docker = plan.request.docker
    return plan.environment.manager == "docker" and docker is not None and docker.build_image


def _built_image(plan: RunPlan, run_dir: Path) -> str:
    """Build (or reuse) the project's code image here; its output goes to the env build log."""
    with (run_dir / ENV_BUILD_LOG).open("a", encoding="utf-8") as log:

        def save(text: str) -> None:
            log.write(text)

        plan.environment.prepare(save)
    return docker_environment(plan.environment).container_run(plan.argv, {}).image


def _make_submission(
    plan: RunPlan, run_id: str, run_dir: Path, variables: dict[str, str], backend: Backend
) -> Submission:
    return Submission(
        run_id=run_id,
        run_dir=run_dir,
        name=f"mlproj-{_slug(plan.project.name)}-{run_id[:8]}",
        launcher=(sys.executable, "-m", LAUNCHER_MODULE, str(run_dir)),
        workdir=_workdir(plan, backend),
        command=plan.argv,
        image=_image(plan),
        variables=variables,
    )


def _workdir(plan: RunPlan, backend: Backend) -> Path:
    """Where the command runs: for a container, the code's folder in the image, if it is there."""
    if not backend.runs_image:
        return Path(plan.project.directory)
    from mlproj.envs.docker import PROJECT_DIR

    # Without --build-image the image's own WORKDIR applies (a relative path sets none).
    return Path(PROJECT_DIR) if _builds_image(plan) else Path()


def dry_run_text(plan: RunPlan, store: Store, backend: Backend) -> str:
    """What would be submitted (a batch script, a Job manifest), for a run not created."""
    run_id = DRY_RUN_ID
    variables = {
        **plan.environment.variables(),
        "MLPROJ_RUN_ID": run_id,
        "MLPROJ_TRACKING_URI": store.uri,
    }
    run_dir = store.run_dir(run_id)
    return backend.render(_make_submission(plan, run_id, run_dir, variables, backend))


def _image(plan: RunPlan) -> str | None:
    docker = plan.project.env.docker
    return docker.image if docker is not None else None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:30] or "project"
