"""The ``kubernetes`` backend's ``-c/--backend-config`` keys, checked before anything is sent.

MLflow's three keys keep their names and meaning (``kube-context``, ``kube-job-template-path``,
``repository-uri``); the others are mlproj's. Every value is checked here, so a typo is one line
naming the key before a run exists, not an API error after it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.backends.base import DEFAULT_POLL_INTERVAL, default_poll_interval
from mlproj.backends.config import BackendConfig
from mlproj.errors import BackendError

#: The keys the kubernetes backend accepts, with what each takes (shown for an unknown key).
KEYS: Mapping[str, str] = {
    "kube-context": "the kubeconfig context to use (default: the current context)",
    "kube-job-template-path": "a YAML file holding a batch/v1 Job to fill in",
    "repository-uri": "where to push the image before submitting (e.g. registry:5000/team/img)",
    "namespace": "the namespace of the Job (default: the template's, then the context's)",
    "service-account": "the pod's serviceAccountName",
    "resources": 'requests/limits of the container: {"requests": {"cpu": "1"}}',
    "poll-interval": "seconds between two status calls while waiting",
}

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_RESOURCE_NAME = re.compile(r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
# A Kubernetes quantity: "1", "0.5", "500m", "2Gi", "1e3".
_QUANTITY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


@dataclass(frozen=True, slots=True)
class KubernetesConfig:
    """What the kubernetes backend was told; every field is optional."""

    context: str | None = None
    #: Absolute path of the Job template, or None for the built-in default.
    template_path: Path | None = None
    repository_uri: str | None = None
    namespace: str | None = None
    service_account: str | None = None
    #: ``{"requests": {"cpu": "1"}, "limits": {"memory": "2Gi"}}``, values as text.
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    poll_interval: float = DEFAULT_POLL_INTERVAL

    @classmethod
    def from_config(cls, config: BackendConfig, base_dir: Path | None = None) -> KubernetesConfig:
        """Check and read the keys; a relative template path starts from ``base_dir`` (cwd).

        Raises:
            BackendError: An unknown key, or a value of the wrong type or shape.
        """
        config.check_keys("kubernetes", KEYS)
        template = config.text("kube-job-template-path")
        template_path = None
        if template is not None:
            template_path = Path(template).expanduser()
            if not template_path.is_absolute():
                template_path = (base_dir or Path.cwd()) / template_path
        namespace = config.text("namespace")
        if namespace is not None and not _DNS_LABEL.match(namespace):
            raise config.problem("namespace", "a lowercase DNS label such as 'ml-team'")
        account = config.text("service-account")
        if account is not None and not _DNS_SUBDOMAIN.match(account):
            raise config.problem("service-account", "a lowercase name such as 'trainer'")
        return cls(
            context=config.text("kube-context"),
            template_path=template_path,
            repository_uri=_repository(config),
            namespace=namespace,
            service_account=account,
            resources=_resources(config),
            poll_interval=config.number("poll-interval", default_poll_interval()),
        )


def _repository(config: BackendConfig) -> str | None:
    uri = config.text("repository-uri")
    if uri is None:
        return None
    if "://" in uri or " " in uri or "@" in uri or uri.endswith("/"):
        raise config.problem(
            "repository-uri", "an image repository without scheme or tag, e.g. 'host:5000/team/img'"
        )
    return uri


def _resources(config: BackendConfig) -> dict[str, dict[str, str]]:
    value = config.values.get("resources", {})
    if not isinstance(value, dict) or not set(value) <= {"requests", "limits"}:
        raise config.problem("resources", 'an object {"requests": {...}, "limits": {...}}')
    checked: dict[str, dict[str, str]] = {}
    for kind, amounts in value.items():
        if not isinstance(amounts, dict):
            raise _bad(config, f"resources.{kind}", amounts, 'an object like {"cpu": "500m"}')
        checked[kind] = {}
        for name, amount in amounts.items():
            where = f"resources.{kind}.{name}"
            if not _RESOURCE_NAME.match(str(name)):
                raise _bad(config, where, amount, "a resource name such as cpu, memory")
            text = str(amount) if isinstance(amount, int | float | str) else ""
            if isinstance(amount, bool) or not _QUANTITY.match(text):
                raise _bad(config, where, amount, "a quantity such as '500m', '2', '4Gi'")
            checked[kind][str(name)] = text
    return checked


def _bad(config: BackendConfig, where: str, value: object, expected: str) -> BackendError:
    return BackendError(f"{config.origin}: '{where}' is {json.dumps(value)}; expected {expected}")
