"""Job status -> JobState, on responses in the shape the API server returns them.

The responses in ``kube_responses/`` were written after the Kubernetes API reference (field for
field as a v1.31+ API server returns a JobList and a PodList), not captured from a cluster; a
test checks every item against the real schema (strict) so their shape cannot drift.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from mlproj.backends.base import JobPhase, JobState
from mlproj.backends.kube_status import job_states
from tests.backends.kube_stub import K8S_VERSION, recorded

RUNS = recorded("runs.json")  # scenario -> Job name

EXPECTED = {
    "pending": JobState(
        JobPhase.SCHEDULED,
        "Pending",
        'ImagePullBackOff: Back-off pulling image "registry.example:5000/team/wine"',
    ),
    "unschedulable": JobState(
        JobPhase.SCHEDULED,
        "Pending",
        "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 "
        "nodes are available: 3 No preemption victims found for incoming pod.",
    ),
    "running": JobState(JobPhase.RUNNING, "Running"),
    "succeeded": JobState(
        JobPhase.FINISHED,
        "Complete",
        "CompletionsReached: Reached expected number of succeeded pods",
        0,
    ),
    "failed": JobState(
        JobPhase.FAILED,
        "Failed",
        "BackoffLimitExceeded: Job has reached the specified backoff limit",
        3,
    ),
    "deadline": JobState(
        JobPhase.FAILED,
        "Failed",
        "DeadlineExceeded: Job was active longer than specified deadline",
        None,  # the deadline deleted the pods: no exit code to read
    ),
    "oomkilled": JobState(
        JobPhase.FAILED,
        "Failed",
        "BackoffLimitExceeded: container OOMKilled: Job has reached the specified backoff limit",
        137,
    ),
    "deleting": JobState(JobPhase.KILLED, "Deleted", "the Job is being deleted"),
    "suspended": JobState(JobPhase.SCHEDULED, "Suspended", "JobSuspended: spec.suspend is true"),
}


def test_recorded_responses_have_the_api_shape():
    for name, kind, version in (("joblist.json", "Job", "batch/v1"), ("podlist.json", "Pod", "v1")):
        for item in recorded(name)["items"]:
            kubernetes_validate.validate(
                {**item, "kind": kind, "apiVersion": version}, K8S_VERSION, strict=True
            )


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_scenario_maps_to_its_state(scenario):
    states = job_states(recorded("joblist.json"), recorded("podlist.json"))
    assert states[RUNS[scenario]] == EXPECTED[scenario]


def test_every_recorded_job_is_mapped_and_only_those():
    states = job_states(recorded("joblist.json"), recorded("podlist.json"))
    assert set(states) == set(RUNS.values())
    assert job_states({"kind": "JobList", "items": []}, {"items": []}) == {}


def test_job_without_pods_yet_is_scheduled():
    jobs = recorded("joblist.json")
    states = job_states(jobs, {"kind": "PodList", "items": []})
    assert states[RUNS["pending"]] == JobState(JobPhase.SCHEDULED, "Pending", "no pod yet")
    # A Complete Job whose pods were garbage-collected still finished with 0.
    assert states[RUNS["succeeded"]].exit_code == 0
    assert states[RUNS["failed"]].exit_code is None


def test_terminal_phases():
    terminal = {s for s, state in EXPECTED.items() if state.phase.is_terminal}
    assert terminal == {"succeeded", "failed", "deadline", "oomkilled", "deleting"}
