"""The ``kubernetes`` backend: a run becomes a ``batch/v1`` Job, through the official client.

Submission renders the Job (:mod:`mlproj.backends.kube_render`), pushes the image first when
``repository-uri`` is configured (:mod:`mlproj.backends.kube_image`) and creates the Job. A job
id is ``<namespace>/<job name>``. Status is one ``list_namespaced_job`` and one
``list_namespaced_pod`` call per namespace for any number of jobs (a label selector over
:data:`~mlproj.backends.kube_render.JOB_LABEL`), mapped by :mod:`mlproj.backends.kube_status`.
Cancel deletes the Job with foreground propagation: it shows as KILLED ("Deleted") until its
pods are gone, then the API forgets it.

The ``kubernetes`` package is optional (``pip install 'mlproj[kubernetes]'``) and imported only
when a cluster is first talked to; rendering (``--dry-run``) does not need it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlproj.backends.base import JobState, Submission
from mlproj.backends.config import BackendConfig
from mlproj.backends.kube_config import KubernetesConfig
from mlproj.backends.kube_image import planned_image, push_image
from mlproj.backends.kube_render import (
    JOB_LABEL,
    load_template,
    manifest_yaml,
    render_job,
    require_image,
)
from mlproj.backends.kube_status import job_states
from mlproj.errors import BackendError

INSTALL_HINT = "pip install 'mlproj[kubernetes]'"
#: Seconds one API call may take before it is an error (connect and read).
REQUEST_TIMEOUT = 30.0
#: Job names per label selector: keeps the request line short with hundreds of jobs.
_CHUNK = 100
_IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class KubernetesBackend:
    """Runs a :class:`Submission` as a Kubernetes Job (see the module docstring)."""

    name = "kubernetes"
    same_host = False
    runs_image = True
    shares_cache = False

    def __init__(self, config: KubernetesConfig) -> None:
        self.config = config
        self._session: _Session | None = None

    @classmethod
    def from_config(cls, config: BackendConfig, base_dir: Path | None = None) -> KubernetesBackend:
        """The backend for ``-c/--backend-config``; a relative template path starts at ``base_dir``.

        Raises:
            BackendError: An unknown key or a bad value.
        """
        return cls(KubernetesConfig.from_config(config, base_dir))

    def poll_interval(self) -> float:
        """Seconds between two status calls (``poll-interval``, else the common default)."""
        return self.config.poll_interval

    def render(self, submission: Submission) -> str:
        """``--dry-run``: the Job manifest (see :meth:`manifest`)."""
        return self.manifest(submission)

    def manifest(self, submission: Submission) -> str:
        """The Job as YAML, without pushing or contacting a cluster (``--dry-run``).

        Raises:
            BackendError: No image, a local-only image without ``repository-uri``, a bad template.
        """
        image = planned_image(require_image(submission), self.config.repository_uri)
        return manifest_yaml(_with_image(submission, image), self.config)

    def submit(self, submission: Submission) -> str:
        """Push the image if configured, create the Job; returns ``namespace/name``.

        Raises:
            BackendError: Bad template or image, no client, no cluster configured, or the API
                refused the Job.
        """
        image = require_image(submission)
        repository = self.config.repository_uri
        template = load_template(self.config.template_path)
        planned = _with_image(submission, planned_image(image, repository))
        job = render_job(planned, self.config, template)  # a bad template fails before a push
        if repository is not None:
            pushed = _with_image(submission, push_image(image, repository))
            job = render_job(pushed, self.config, template)
        session = self._connect()
        namespace = job["metadata"].get("namespace") or session.namespace
        name = job["metadata"]["name"]
        session.call(
            f"creating Job {name} in namespace {namespace}",
            session.batch.create_namespaced_job,
            namespace,
            job,
        )
        return f"{namespace}/{name}"

    def status(self, job_ids: Sequence[str]) -> Mapping[str, JobState]:
        """Each job's state from one Job list and one pod list per namespace; gone ids omitted.

        Raises:
            BackendError: No client, no cluster configured, or the API is unreachable.
        """
        if not job_ids:
            return {}
        session = self._connect()
        wanted: dict[str, dict[str, str]] = {}
        for job_id in job_ids:
            namespace, name = _split(job_id, session.namespace)
            wanted.setdefault(namespace, {})[name] = job_id
        states: dict[str, JobState] = {}
        for namespace, names in wanted.items():
            ordered = sorted(names)
            for start in range(0, len(ordered), _CHUNK):
                selector = f"{JOB_LABEL} in ({','.join(ordered[start : start + _CHUNK])})"
                found = _list_states(session, namespace, selector)
                states.update({names[n]: s for n, s in found.items() if n in names})
        return states

    def cancel(self, job_id: str) -> None:
        """Delete the Job and its pods (foreground propagation); a Job already gone is fine.

        Raises:
            BackendError: No client, no cluster configured, or the API refused the deletion.
        """
        session = self._connect()
        namespace, name = _split(job_id, session.namespace)
        session.call(
            f"deleting Job {name} in namespace {namespace}",
            session.batch.delete_namespaced_job,
            name,
            namespace,
            propagation_policy="Foreground",
            missing_ok=True,
        )

    def collect_output(self, job_id: str, run_dir: Path) -> None:
        """Save the output of the Job's last pod as the run's stdout.log (stderr is merged in).

        Called once the Job has ended; the pod may already be gone (then nothing is saved).

        Raises:
            BackendError: No client, no cluster configured, or the API is unreachable.
        """
        session = self._connect()
        namespace, name = _split(job_id, session.namespace)
        listed = session.call(
            f"listing the pods of Job {name}",
            session.core.list_namespaced_pod,
            namespace,
            label_selector=f"{JOB_LABEL}={name}",
            raw=True,
        )
        pods = sorted(
            listed.get("items") or [],
            key=lambda pod: pod.get("metadata", {}).get("creationTimestamp") or "",
        )
        if not pods:
            return
        pod = pods[-1]["metadata"]["name"]
        log = session.call(
            f"reading the log of pod {pod}",
            session.core.read_namespaced_pod_log,
            pod,
            namespace,
            missing_ok=True,
            _preload_content=False,
        )
        if log is not None:
            (run_dir / "stdout.log").write_bytes(log.data)

    def _connect(self) -> _Session:
        if self._session is None:
            self._session = _Session.open(self.config.context)
        return self._session


def _with_image(submission: Submission, image: str) -> Submission:
    return replace(submission, image=image)


def _split(job_id: str, default_namespace: str) -> tuple[str, str]:
    namespace, _, name = job_id.rpartition("/")
    return namespace or default_namespace, name


def _list_states(session: _Session, namespace: str, selector: str) -> dict[str, JobState]:
    what = f"listing Jobs in namespace {namespace}"
    jobs = session.call(
        what, session.batch.list_namespaced_job, namespace, label_selector=selector, raw=True
    )
    pods = session.call(
        what, session.core.list_namespaced_pod, namespace, label_selector=selector, raw=True
    )
    return job_states(jobs, pods)


class _Session:
    """The client's API objects for one kubeconfig context, and the context's namespace."""

    def __init__(self, module: Any, api_client: Any, namespace: str) -> None:
        self._module = module
        self.batch = module.client.BatchV1Api(api_client)
        self.core = module.client.CoreV1Api(api_client)
        self.namespace = namespace

    @classmethod
    def open(cls, context: str | None) -> _Session:
        """Load the kubeconfig (``KUBECONFIG``, ``~/.kube/config``) or the in-cluster account.

        Raises:
            BackendError: The client is not installed, or no usable cluster configuration.
        """
        module = _import_client()
        configuration = module.client.Configuration()
        try:
            if context is None and _in_cluster():
                module.config.load_incluster_config(client_configuration=configuration)
                namespace = _IN_CLUSTER_NAMESPACE.read_text(encoding="utf-8").strip()
            else:
                files = _kubeconfig()  # read now: the client reads KUBECONFIG once, at import
                module.config.load_kube_config(
                    config_file=files, context=context, client_configuration=configuration
                )
                namespace = _context_namespace(module, files, context)
        except Exception as exc:  # ConfigException, and file/YAML errors of the kubeconfig
            raise BackendError(_no_cluster(context, exc)) from None
        configuration.retries = 1  # the client's default retries a refused connection 3 times
        return cls(module, module.client.ApiClient(configuration), namespace or "default")

    def call(
        self,
        what: str,
        method: Any,
        *args: Any,
        raw: bool = False,
        missing_ok: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Call the API; ``raw`` returns the response's JSON (no model objects built).

        Raises:
            BackendError: One line: what was being done and the API's own message.
        """
        import urllib3  # the client's HTTP library: its errors are connection failures

        if raw:
            kwargs["_preload_content"] = False
        try:
            response = method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except self._module.client.ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise BackendError(f"Kubernetes API: {what}: {_api_message(exc)}") from None
        except ValueError as exc:  # pydantic.ValidationError: the client checks bodies itself
            raise BackendError(
                f"Kubernetes client: {what}: the request is not valid: {_validation(exc)}"
            ) from None
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            host = method.__self__.api_client.configuration.host
            raise BackendError(
                f"Kubernetes API at {host} unreachable while {what} ({_short(exc)}); "
                "check the cluster and your kubeconfig context"
            ) from None
        return json.loads(response.data) if raw else response


def _import_client() -> Any:
    try:
        import kubernetes
    except ImportError:
        raise BackendError(
            f"the kubernetes backend needs the 'kubernetes' Python package: {INSTALL_HINT}"
        ) from None
    return kubernetes


def _kubeconfig() -> str:
    """``KUBECONFIG`` (one or more files, ``:``-separated), else ``~/.kube/config``."""
    return os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


def _in_cluster() -> bool:
    found = any(Path(p).exists() for p in _kubeconfig().split(os.pathsep) if p)
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not found


def _context_namespace(module: Any, files: str, context: str | None) -> str:
    contexts, current = module.config.list_kube_config_contexts(config_file=files)
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")


def _no_cluster(context: str | None, exc: Exception) -> str:
    where = os.environ.get("KUBECONFIG") or "~/.kube/config"
    chosen = f"context '{context}'" if context else "the current context"
    return (
        f"no Kubernetes cluster configured: {chosen} of {where}: {_short(exc)}; set KUBECONFIG, "
        'or "kube-context" in --backend-config'
    )


def _api_message(exc: Any) -> str:
    try:
        message = json.loads(exc.body).get("message")
    except (TypeError, ValueError, AttributeError):
        message = None
    return _short(f"{exc.status} {exc.reason}" + (f": {message}" if message else ""))


def _validation(exc: ValueError) -> str:
    """The key path and problem of the client's validation error, on one line."""
    lines = [line for line in str(exc).splitlines()[1:] if "errors.pydantic.dev" not in line]
    return _short(" ".join(lines) or exc)


def _short(value: object) -> str:
    line = " ".join(str(value).split())
    return line if len(line) <= 300 else line[:297] + "..."
