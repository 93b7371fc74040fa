"""A planned run as a ``batch/v1`` Job manifest: the user's template (or a default) filled in.

As MLflow's ``kube-job-template-path``: the template is a Job whose first container receives
the image, the command (as argv: the container runtime execs it, no shell in between) and the
run's ``MLPROJ_*`` variables; everything else the template says (node selectors, volumes,
tolerations, its own env, ``ttlSecondsAfterFinished``...) is kept. MLflow's placeholder strings
(``"{replaced with ...}"``) are replaced or dropped, so its templates work unchanged.

Every Job and its pods carry the labels :data:`RUN_LABEL` and :data:`JOB_LABEL`: status asks
for all of a poll's jobs with one selector over :data:`JOB_LABEL`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlproj.backends.base import Submission
from mlproj.backends.kube_config import KubernetesConfig
from mlproj.errors import BackendError

RUN_LABEL = "mlproj.run_id"
JOB_LABEL = "mlproj.job"
MANAGED_BY = {"app.kubernetes.io/managed-by": "mlproj"}
#: The container name when the template gives none (or MLflow's placeholder).
CONTAINER_NAME = "mlproj"
_MAX_NAME = 63  # pods get the Job's name as a label value, which is limited to 63 characters
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

#: The Job used without ``kube-job-template-path``.
DEFAULT_TEMPLATE: Mapping[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {},
    "spec": {
        "backoffLimit": 0,
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": CONTAINER_NAME}]}},
    },
}


def job_name(submission: Submission) -> str:
    """A DNS-1123 label (lowercase, at most 63 characters) from the name and the run id."""
    suffix = _dns(submission.run_id)[:8] or "run"
    base = _dns(submission.name) or "mlproj"
    if suffix not in base:
        base = f"{base}-{suffix}"
    if len(base) > _MAX_NAME:
        base = f"{base[: _MAX_NAME - len(suffix) - 1].rstrip('-')}-{suffix}"
    return base


def _dns(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def load_template(path: Path | None) -> dict[str, Any]:
    """The Job template: ``path`` parsed and checked, or a copy of :data:`DEFAULT_TEMPLATE`.

    Raises:
        BackendError: The file is unreadable, not YAML, not one Job, or has no containers.
    """
    if path is None:
        return copy.deepcopy(dict(DEFAULT_TEMPLATE))
    import yaml  # lazy: start-up stays fast for commands that never render a Job

    where = "kube-job-template-path"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BackendError(f"{where}: cannot read {path} ({exc.strerror}); fix the path") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise BackendError(f"{path}{line}: not valid YAML ({problem}); fix the template") from None
    except RecursionError:  # the pure-Python loader recurses once per level of nesting
        raise BackendError(f"{path}: nested too deeply to read; fix the template") from None
    return check_template(document, str(path))


def check_template(document: object, origin: str) -> dict[str, Any]:
    """Check that ``document`` is a Job with at least one container (the one mlproj fills).

    Raises:
        BackendError: One line naming ``origin`` and the key path that is wrong.
    """
    if not isinstance(document, dict):
        raise BackendError(f"{origin}: expected a batch/v1 Job mapping, got {_kind(document)}")
    kind, version = document.get("kind", "Job"), document.get("apiVersion", "batch/v1")
    if kind != "Job" or version != "batch/v1":
        raise BackendError(
            f"{origin}: kind {kind} ({version}) is not a batch/v1 Job; the template must be a Job"
        )
    node: object = document
    for key in ("spec", "template", "spec", "containers"):
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, list) or not node or not isinstance(node[0], dict):
        raise BackendError(
            f"{origin}: spec.template.spec.containers is missing or empty; the template needs "
            "one container (mlproj fills in its image, command and env)"
        )
    return document


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def require_image(submission: Submission) -> str:
    """The submission's image.

    Raises:
        BackendError: There is none: the project has no ``docker_env``.
    """
    if not submission.image:
        raise BackendError(
            "the kubernetes backend runs docker_env projects only: Kubernetes needs an image; "
            "add `docker_env: {image: ...}` to the MLproject file"
        )
    return submission.image


def render_job(
    submission: Submission, config: KubernetesConfig, template: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The Job that runs ``submission``: ``template`` (default: the configured one) filled in.

    ``submission.image`` must be a reference the cluster can pull (see ``kube_image``).

    Raises:
        BackendError: No image (the project has no docker_env), or a bad template.
    """
    require_image(submission)
    if not submission.command:
        raise BackendError("the kubernetes backend got no command to run (a bug in mlproj)")
    job = copy.deepcopy(
        dict(template if template is not None else load_template(config.template_path))
    )
    job = check_template(job, str(config.template_path or "the default Job template"))
    name = job_name(submission)
    labels = {RUN_LABEL: submission.run_id, JOB_LABEL: name, **MANAGED_BY}
    job["apiVersion"], job["kind"] = "batch/v1", "Job"
    metadata = _mapping(job, "metadata")
    metadata.pop("generateName", None)
    metadata["name"] = name
    if config.namespace:
        metadata["namespace"] = config.namespace
    elif not _DNS_LABEL.match(str(metadata.get("namespace", "x"))):
        metadata.pop("namespace")  # MLflow's placeholder or nonsense: use the context's
    _mapping(metadata, "labels").update(labels)
    spec = _mapping(job, "spec")
    spec.setdefault("backoffLimit", 0)  # a failing entry point is not retried silently
    pod = _mapping(spec, "template")
    spec["template"] = pod = {"metadata": pod.pop("metadata", None) or {}, **pod}  # reads first
    _mapping(pod["metadata"], "labels").update(labels)
    pod_spec = _mapping(pod, "spec")
    pod_spec.setdefault("restartPolicy", "Never")
    if config.service_account:
        pod_spec["serviceAccountName"] = config.service_account
    _fill_container(pod_spec["containers"][0], submission, config)
    return job


def _mapping(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as a dict, created when missing or null."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def _fill_container(
    container: dict[str, Any], submission: Submission, config: KubernetesConfig
) -> None:
    if not _DNS_LABEL.match(str(container.get("name", ""))):
        container["name"] = CONTAINER_NAME
    container["image"] = submission.image
    container["command"] = list(submission.command)
    container.pop("args", None)  # the command is the whole argv; template args would append
    if submission.workdir.is_absolute() and "workingDir" not in container:
        container["workingDir"] = submission.workdir.as_posix()
    given = [e for e in container.get("env") or [] if isinstance(e, dict) and "name" in e]
    ours = [{"name": key, "value": value} for key, value in submission.variables.items()]
    # The run's identity wins over a template entry of the same name.
    container["env"] = [e for e in given if e["name"] not in submission.variables] + ours
    if config.resources:
        resources = _mapping(container, "resources")
        for kind, amounts in config.resources.items():
            _mapping(resources, kind).update(amounts)


def manifest_yaml(submission: Submission, config: KubernetesConfig) -> str:
    """The Job of :func:`render_job` as YAML text, for ``--dry-run``."""
    import yaml

    job = render_job(submission, config)
    return yaml.safe_dump(job, sort_keys=False, default_flow_style=False)
