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
from mlproj.launch import run_variables
from mlproj.runner import RunPlan, RunRequest, create_scheduled_run
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


def job_request(plan: RunPlan, config: BackendConfig) -> RunRequest:
    """The request the executing mlproj plans from: the same run, pinned to what was resolved.

    A git source is pinned to the commit resolved now (a branch may move before the job starts)
    and fetched from the shared cache only, unless the nodes use another cache folder.
    """
    request = replace(plan.request, echo_output=False)
    if plan.source.commit is not None and (is_remote(plan.source.uri) or request.version):
        shared_cache = "cache-dir" not in config.values
        request = replace(request, version=plan.source.commit, offline=shared_cache)
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
        plan.source.release()
        raise
    run_dir = store.run_dir(run.run_id)
    try:
        if backend.name != "local":
            (run_dir / EXTERNAL_RUNNER).touch()  # liveness comes from the scheduler
        job = JobFile(run.run_id, store.uri, job_request(plan, config), backend.name, config.values)
        write_job_file(run_dir, job)
        job_id = backend.submit(_submission(plan, store, run))
    except BaseException:
        # Nothing was submitted, so nothing ran: the run goes, as for any error found before a
        # run starts (the error itself is reported to the user).
        store.end_active_run(run.run_id, RunStatus.FAILED, None, {})
        store.delete_runs([run.run_id])
        raise
    finally:
        plan.source.release()  # the executing mlproj checks the source out again
    store.set_tags(run.run_id, {JOB_ID_TAG: job_id})
    return Submitted(store.get_run(run.run_id), backend.name, job_id)


def _submission(plan: RunPlan, store: Store, run: Run) -> Submission:
    variables = {**plan.environment.variables(), **run_variables(store, run)}
    return _make_submission(plan, run.run_id, store.run_dir(run.run_id), variables)


def _make_submission(
    plan: RunPlan, run_id: str, run_dir: Path, variables: dict[str, str]
) -> Submission:
    return Submission(
        run_id=run_id,
        run_dir=run_dir,
        name=f"mlproj-{_slug(plan.project.name)}-{run_id[:8]}",
        launcher=(sys.executable, "-m", LAUNCHER_MODULE, str(run_dir)),
        workdir=Path(plan.project.directory),
        command=plan.argv,
        image=_image(plan),
        variables=variables,
    )


def dry_run_text(plan: RunPlan, store: Store, backend: Backend) -> str:
    """What would be submitted (a batch script, a Job manifest), for a run not created."""
    run_id = DRY_RUN_ID
    variables = {
        **plan.environment.variables(),
        "MLPROJ_RUN_ID": run_id,
        "MLPROJ_TRACKING_URI": store.uri,
    }
    return backend.render(_make_submission(plan, run_id, store.run_dir(run_id), variables))


def _image(plan: RunPlan) -> str | None:
    docker = plan.project.env.docker
    return docker.image if docker is not None else None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:30] or "project"
