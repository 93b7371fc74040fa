"""What a Job's status (and its pods') says, as a :class:`JobState`. Pure: JSON in, states out.

The input is the API's own JSON (``V1JobList`` / ``V1PodList`` as returned by
``list_namespaced_job`` / ``list_namespaced_pod``), so this mapping is tested on recorded
responses without a cluster and without the ``kubernetes`` package.

The order of the questions matters: a Job's terminal conditions (``Complete``, ``Failed``,
and since Kubernetes 1.31 ``SuccessCriteriaMet`` / ``FailureTarget``, set while the last pods
stop) win over everything; then a Job being deleted (``runs cancel``) is KILLED; then
``Suspended``; then the pods say whether it is RUNNING or still SCHEDULED (waiting for a node
or an image: the waiting reason, such as ``ImagePullBackOff``, is kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlproj.backends.base import JobPhase, JobState
from mlproj.backends.kube_render import JOB_LABEL

_FINISHED = ("Complete", "SuccessCriteriaMet")
_FAILED = ("Failed", "FailureTarget")


def job_states(jobs: Mapping[str, Any], pods: Mapping[str, Any]) -> dict[str, JobState]:
    """Job name -> state, for every Job of a ``V1JobList`` (pods from a ``V1PodList``)."""
    by_job: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods.get("items") or []:
        name = _labels(pod).get(JOB_LABEL) or _labels(pod).get("batch.kubernetes.io/job-name")
        if name:
            by_job.setdefault(name, []).append(pod)
    states: dict[str, JobState] = {}
    for job in jobs.get("items") or []:
        name = (job.get("metadata") or {}).get("name")
        if name:
            states[name] = job_state(job, by_job.get(name, []))
    return states


def _labels(resource: Mapping[str, Any]) -> Mapping[str, str]:
    return (resource.get("metadata") or {}).get("labels") or {}


def job_state(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> JobState:
    """The state of one Job (a ``V1Job`` as JSON) given its pods."""
    status = job.get("status") or {}
    container = _container(job, pods)
    exit_code, ended_why = _terminated(container)
    conditions = {
        c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"
    }
    for names, phase in ((_FINISHED, JobPhase.FINISHED), (_FAILED, JobPhase.FAILED)):
        found = next((conditions[n] for n in names if n in conditions), None)
        if found is not None:
            reason = _join(found.get("reason"), ended_why, found.get("message"))
            if phase is JobPhase.FINISHED and exit_code is None:
                exit_code = 0  # every pod succeeded; the pods may be gone already
            return JobState(phase, str(found.get("type")), reason, exit_code)
    if (job.get("metadata") or {}).get("deletionTimestamp"):
        return JobState(JobPhase.KILLED, "Deleted", "the Job is being deleted", exit_code)
    if "Suspended" in conditions:
        reason = _join(conditions["Suspended"].get("reason"), "spec.suspend is true")
        return JobState(JobPhase.SCHEDULED, "Suspended", reason)
    if status.get("ready") or _pod_phase(pods) == "Running":
        return JobState(JobPhase.RUNNING, "Running")
    if status.get("succeeded") and not status.get("active"):
        return JobState(JobPhase.FINISHED, "Succeeded", "", exit_code)
    return JobState(JobPhase.SCHEDULED, "Pending", _waiting(pods, container))


def _newest(pods: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if not pods:
        return None
    return max(pods, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")))


def _pod_phase(pods: Sequence[Mapping[str, Any]]) -> str | None:
    newest = _newest(pods)
    return None if newest is None else (newest.get("status") or {}).get("phase")


def _container(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The status of the entry point's container (the Job's first) in the newest pod."""
    newest = _newest(pods)
    if newest is None:
        return {}
    pod_spec = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    first: Mapping[str, Any] = next(iter(pod_spec.get("containers") or []), {})
    wanted = first.get("name")
    statuses: Iterable[Mapping[str, Any]] = (newest.get("status") or {}).get(
        "containerStatuses"
    ) or []
    statuses = list(statuses)
    return next((s for s in statuses if s.get("name") == wanted), statuses[0] if statuses else {})


def _terminated(container: Mapping[str, Any]) -> tuple[int | None, str]:
    """The container's exit code and how it ended (``container OOMKilled``), if it ended."""
    state = container.get("state") or {}
    ended = state.get("terminated") or (container.get("lastState") or {}).get("terminated")
    if not ended or ended.get("exitCode") is None:
        return None, ""
    reason = ended.get("reason") or ""
    why = f"container {reason}" if reason and reason not in ("Completed", "Error") else ""
    return int(ended["exitCode"]), why


def _waiting(pods: Sequence[Mapping[str, Any]], container: Mapping[str, Any]) -> str:
    """Why a pending Job's newest pod is not running yet (image pull, no node fits...)."""
    waiting = (container.get("state") or {}).get("waiting") or {}
    if waiting.get("reason"):
        return _join(waiting.get("reason"), waiting.get("message"))
    newest = _newest(pods)
    if newest is None:
        return "no pod yet"
    for condition in (newest.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "False" and condition.get("reason"):
            return _join(condition.get("reason"), condition.get("message"))
    return ""


def _join(*parts: object) -> str:
    """Non-empty parts as one line: ``BackoffLimitExceeded: container OOMKilled``."""
    text = ": ".join(str(p) for p in parts if p)
    return " ".join(text.split())
