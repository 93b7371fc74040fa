"""What a status poll records for each way a job can end, on a real store.

The states come from recorded `squeue --format=%i|%T|%r` output (node failures, memory kills and
time limits cannot be caused on demand on the one-node test cluster without disturbing the
other tests; the real cluster tests cover completion, failure, cancel and preemption).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mlproj.backends.base import JobPhase
from mlproj.backends.slurm import parse_squeue
from mlproj.jobfile import JobFile, read_job_file, write_exit_code, write_job_file
from mlproj.jobs import (
    BACKEND_TAG,
    JOB_ID_TAG,
    STATE_TAG,
    WATCH_TAG,
    Watched,
    record_job_state,
    refresh_backend_runs,
    wait_exit_code,
)
from mlproj.runner import RunRequest
from mlproj.tracking.models import RunStatus
from mlproj.tracking.store import FAILURE_TAG, Store
from tests.tracking.conftest import BASE_RUN

SQUEUE = """\
101|PENDING|Priority
102|RUNNING|None
103|NODE_FAIL|NodeDown
104|OUT_OF_MEMORY|OutOfMemory
105|TIMEOUT|TimeLimit
106|PREEMPTED|None
107|CANCELLED|None
108|COMPLETED|None
109|FAILED|NonZeroExitCode
110_3|COMPLETING|None
garbage line
"""


def test_parse_squeue_maps_every_state():
    states = parse_squeue(SQUEUE)
    phases = {job: state.phase for job, state in states.items()}
    assert phases == {
        "101": JobPhase.SCHEDULED,
        "102": JobPhase.RUNNING,
        "103": JobPhase.FAILED,
        "104": JobPhase.FAILED,
        "105": JobPhase.FAILED,
        "106": JobPhase.KILLED,
        "107": JobPhase.KILLED,
        "108": JobPhase.FINISHED,
        "109": JobPhase.FAILED,
        "110_3": JobPhase.RUNNING,
    }
    assert states["103"].native == "NODE_FAIL"
    assert states["103"].reason == "NodeDown"
    assert states["102"].reason == ""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(str(tmp_path / "store"))


def submitted(store: Store, job_id: str, status: RunStatus = RunStatus.RUNNING) -> Watched:
    tags = {BACKEND_TAG: "slurm", WATCH_TAG: "slurm", JOB_ID_TAG: job_id}
    return Watched(store.create_run(replace(BASE_RUN, tags=tags, status=status)), job_id)


@pytest.mark.parametrize(
    ("job", "status", "exit_code"),
    [
        ("103", "FAILED", None),
        ("104", "FAILED", None),
        ("105", "FAILED", None),
        ("106", "KILLED", None),
        ("107", "KILLED", None),
        ("108", "FINISHED", 0),
        ("109", "FAILED", None),
    ],
)
def test_a_job_that_ended_without_its_run_recording_it(store, job, status, exit_code):
    watched = submitted(store, job)
    state = parse_squeue(SQUEUE)[job]
    record_job_state(store, watched, state, "slurm")
    run = store.get_run(watched.run.run_id)
    assert (run.status.value, run.exit_code) == (status, exit_code)
    assert run.tags[STATE_TAG] == state.native
    assert WATCH_TAG not in run.tags  # the scheduler's final word is in: no more polls
    if status != "FINISHED":
        assert f"slurm job {job} ended {state.native}" in run.tags[FAILURE_TAG]


def test_exit_code_file_wins_over_the_scheduler(store):
    watched = submitted(store, "109")
    write_exit_code(store.run_dir(watched.run.run_id), 7)
    record_job_state(store, watched, parse_squeue(SQUEUE)["109"], "slurm")
    run = store.get_run(watched.run.run_id)
    assert (run.status, run.exit_code) == (RunStatus.FAILED, 7)
    assert FAILURE_TAG not in run.tags


def test_a_run_its_runner_ended_keeps_its_end_and_gains_the_state(store):
    watched = submitted(store, "106")
    store.finish_run(watched.run.run_id, RunStatus.KILLED, 143)
    ended = Watched(store.get_run(watched.run.run_id), "106")
    record_job_state(store, ended, parse_squeue(SQUEUE)["106"], "slurm")
    run = store.get_run(watched.run.run_id)
    assert (run.status, run.exit_code) == (RunStatus.KILLED, 143)
    assert run.tags[STATE_TAG] == "PREEMPTED"


@pytest.mark.parametrize("job", ["103", "104", "105"])  # NODE_FAIL, OUT_OF_MEMORY, TIMEOUT
def test_a_run_killed_by_the_scheduler_for_a_failure_is_failed(store, job):
    """mlproj on the node saw SIGTERM and recorded KILLED; the scheduler says why."""
    watched = submitted(store, job)
    store.finish_run(watched.run.run_id, RunStatus.KILLED, 143)
    ended = Watched(store.get_run(watched.run.run_id), job)
    state = parse_squeue(SQUEUE)[job]
    record_job_state(store, ended, state, "slurm")
    run = store.get_run(watched.run.run_id)
    assert (run.status, run.exit_code) == (RunStatus.FAILED, 143)
    assert run.tags[STATE_TAG] == state.native
    assert f"was stopped by the scheduler: {state.native} ({state.reason})" in run.tags[FAILURE_TAG]


def test_queued_and_running_jobs_only_update_the_state(store):
    watched = submitted(store, "101", RunStatus.SCHEDULED)
    record_job_state(store, watched, parse_squeue(SQUEUE)["101"], "slurm")
    run = store.get_run(watched.run.run_id)
    assert run.status is RunStatus.SCHEDULED
    assert (run.tags[STATE_TAG], run.tags[WATCH_TAG]) == ("PENDING", "slurm")


def test_a_job_gone_from_the_queue_ends_its_run(store, slurm):
    """Through the real squeue: a job id Slurm does not know has left the queue."""
    watched = submitted(store, "999999", RunStatus.SCHEDULED)
    assert refresh_backend_runs(store) == 1
    run = store.get_run(watched.run.run_id)
    assert run.status is RunStatus.FAILED
    assert "left the queue" in run.tags[FAILURE_TAG]
    assert refresh_backend_runs(store) == 0  # not watched any more


def test_wait_exit_code():
    class R:
        def __init__(self, status: RunStatus, code: int | None) -> None:
            self.status, self.exit_code = status, code

    assert wait_exit_code([R(RunStatus.FINISHED, 0)]) == 0  # type: ignore[list-item]
    assert wait_exit_code([R(RunStatus.FINISHED, 0), R(RunStatus.FAILED, 3)]) == 3  # type: ignore[list-item]
    assert wait_exit_code([R(RunStatus.KILLED, None)]) == 130  # type: ignore[list-item]
    assert wait_exit_code([R(RunStatus.FAILED, None)]) == 1  # type: ignore[list-item]


def test_job_file_round_trip(tmp_path: Path):
    from mlproj.envs.docker import DockerOptions

    request = RunRequest(
        caller_dir=tmp_path,
        uri="https://example.com/r.git#sub",
        params={"a": "1"},
        version="abc",
        docker=DockerOptions(args=("gpus=all",), build_image=True, store_db=tmp_path / "db"),
        tags={"t": "v"},
        offline=True,
        source_snapshot=tmp_path / "source",
        pinned_installed=("six==1.16.0",),
    )
    write_job_file(tmp_path, JobFile("r" * 32, "/s", request, "slurm", {"partition": "p"}))
    back = read_job_file(tmp_path)
    assert back.request == request
    assert back.backend_config == {"partition": "p"}
    (tmp_path / "job.json").write_text('{"format_version": 99}')
    with pytest.raises(Exception, match="format_version 99 is not 1"):
        read_job_file(tmp_path)
