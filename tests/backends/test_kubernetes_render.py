"""Rendering runs as batch/v1 Jobs, checked against the real Kubernetes JSON schema.

No cluster runs here: the schema (``kubernetes-validate``, strict: unknown fields are errors)
and the ``kubernetes`` client's own models stand in for the API server's validation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes.client import ApiClient

from mlproj.backends.base import Submission
from mlproj.backends.config import BackendConfig
from mlproj.backends.kube_config import KubernetesConfig
from mlproj.backends.kube_render import job_name, manifest_yaml, render_job
from mlproj.backends.kubernetes import KubernetesBackend
from mlproj.errors import BackendError, ExitCode
from tests.backends.kube_stub import K8S_VERSION

RUN_ID = "3f2a9c0d1b7e4e0fa1c2d3e4f5a6b7c8"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# MLflow's documented template, placeholders and all: it must work unchanged.
MLFLOW_TEMPLATE = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: "{replaced with MLflow Project name}"
  namespace: mlflow
spec:
  ttlSecondsAfterFinished: 100
  backoffLimit: 0
  template:
    spec:
      containers:
      - name: "{replaced with MLflow Project name}"
        image: "{replaced with URI of Docker image created during Project execution}"
        command: ["{replaced with MLflow Project entry point command}"]
        env: ["{appended with MLFLOW_TRACKING_URI, MLFLOW_RUN_ID and MLFLOW_EXPERIMENT_ID}"]
        resources:
          limits:
            memory: 512Mi
          requests:
            memory: 256Mi
      restartPolicy: Never
"""

USER_TEMPLATE = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: ignored
  labels: {team: vision}
  annotations: {owner: ada}
spec:
  backoffLimit: 2
  activeDeadlineSeconds: 3600
  template:
    metadata:
      labels: {team: vision}
    spec:
      nodeSelector: {gpu: "true"}
      tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: datasets}}]
      containers:
      - name: trainer
        image: placeholder
        args: ["--to-be-dropped"]
        env:
        - {name: DATA_DIR, value: /data}
        - {name: MLPROJ_RUN_ID, value: from-the-template}
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: hub, key: token}}
        volumeMounts: [{name: data, mountPath: /data}]
        resources:
          limits: {memory: 8Gi}
      - name: sidecar
        image: busybox:1.36
        command: [sleep, "3600"]
"""


def submission(**changes: Any) -> Submission:
    values: dict[str, Any] = {
        "run_id": RUN_ID,
        "run_dir": Path("/store/runs") / RUN_ID,
        "name": f"mlproj-wine_Quality-{RUN_ID[:8]}",
        "launcher": ("mlproj", "job", RUN_ID),
        "workdir": Path("/mlproj/project"),
        "command": ("python", "train.py", "--alpha", "0.5; rm -rf / $(x)"),
        "image": "registry.example:5000/team/wine:1.0",
        "variables": {
            "MLPROJ_RUN_ID": RUN_ID,
            "MLPROJ_EXPERIMENT_ID": "0",
            "MLPROJ_TRACKING_URI": "sqlite:////mlproj/store/mlproj.db",
        },
    }
    values.update(changes)
    return Submission(**values)


def config(tmp_path: Path | None = None, **values: Any) -> KubernetesConfig:
    return KubernetesConfig.from_config(BackendConfig(values, "backend.json"), base_dir=tmp_path)


def validate(job: dict[str, Any]) -> None:
    """The real batch/v1 Job schema, strict, and the client's own model classes."""
    kubernetes_validate.validate(job, K8S_VERSION, strict=True)

    # The client's own deserializer (the public wrapper's signature changed across versions).
    model = ApiClient()._ApiClient__deserialize(json.loads(json.dumps(job)), "V1Job")
    entry = job["spec"]["template"]["spec"]["containers"][0]
    assert model.spec.template.spec.containers[0].command == entry["command"]


def container(job: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return job["spec"]["template"]["spec"]["containers"][index]


def test_default_template_is_a_valid_job(tmp_path):
    job = render_job(submission(), config(tmp_path))
    validate(job)
    assert job["metadata"]["name"] == f"mlproj-wine-quality-{RUN_ID[:8]}"
    assert "namespace" not in job["metadata"]  # the context's namespace applies at submission
    assert job["spec"]["backoffLimit"] == 0  # a failing entry point is not retried silently
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    entry = container(job)
    assert entry["image"] == "registry.example:5000/team/wine:1.0"
    # argv exactly, one value with shell syntax stays one literal argument
    assert entry["command"] == ["python", "train.py", "--alpha", "0.5; rm -rf / $(x)"]
    assert "args" not in entry
    assert entry["workingDir"] == "/mlproj/project"
    assert {e["name"]: e["value"] for e in entry["env"]} == submission().variables
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels["mlproj.run_id"] == RUN_ID
        assert labels["mlproj.job"] == job["metadata"]["name"]


def test_user_template_keeps_what_it_says_and_gets_resources(tmp_path):
    (tmp_path / "job.yaml").write_text(USER_TEMPLATE)
    chosen = config(
        tmp_path,
        **{
            "kube-job-template-path": "job.yaml",
            "namespace": "vision",
            "service-account": "trainer",
            "resources": {
                "requests": {"cpu": "2", "memory": "4Gi"},
                "limits": {"nvidia.com/gpu": 1},
            },
        },
    )
    job = render_job(submission(), chosen)
    validate(job)
    meta, spec = job["metadata"], job["spec"]
    assert meta["namespace"] == "vision"
    assert meta["labels"]["team"] == "vision"
    assert meta["annotations"] == {"owner": "ada"}
    assert spec["backoffLimit"] == 2  # the template's
    assert spec["activeDeadlineSeconds"] == 3600
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "trainer"
    assert pod["nodeSelector"] == {"gpu": "true"}
    assert pod["volumes"][0]["name"] == "data"
    entry = container(job)
    assert entry["name"] == "trainer"
    assert entry["volumeMounts"][0]["mountPath"] == "/data"
    assert "args" not in entry
    names = [e["name"] for e in entry["env"]]
    assert names[:2] == ["DATA_DIR", "TOKEN"]  # the template's own, kept
    assert {e["name"]: e.get("value") for e in entry["env"]}["MLPROJ_RUN_ID"] == RUN_ID
    assert names.count("MLPROJ_RUN_ID") == 1  # the run's identity wins over the template's
    assert entry["resources"] == {
        "limits": {"memory": "8Gi", "nvidia.com/gpu": "1"},
        "requests": {"cpu": "2", "memory": "4Gi"},
    }
    assert container(job, 1) == {
        "name": "sidecar",
        "image": "busybox:1.36",
        "command": ["sleep", "3600"],
    }


def test_mlflow_template_works_unchanged(tmp_path):
    (tmp_path / "kubernetes_job_template.yaml").write_text(MLFLOW_TEMPLATE)
    job = render_job(
        submission(), config(tmp_path, **{"kube-job-template-path": "kubernetes_job_template.yaml"})
    )
    validate(job)
    entry = container(job)
    assert entry["name"] == "mlproj"  # the placeholder is not a valid container name
    assert [e["name"] for e in entry["env"]] == list(submission().variables)  # placeholder dropped
    assert job["metadata"]["namespace"] == "mlflow"
    assert job["spec"]["ttlSecondsAfterFinished"] == 100


@pytest.mark.parametrize(
    "name",
    [
        "mlproj-wine-3f2a9c0d",
        "MLPROJ_Upper.Case project!!",
        "x" * 200,
        "---",
        "-" + "a-" * 40,
        "ünïcödé",
    ],
)
def test_job_names_are_dns_labels_with_the_run_id(name):
    rendered = job_name(submission(name=name))
    assert DNS_LABEL.match(rendered), rendered
    assert len(rendered) <= 63
    assert rendered.endswith(RUN_ID[:8])


def test_dry_run_manifest_is_the_rendered_job(tmp_path):
    chosen = config(tmp_path, **{"repository-uri": "registry.example:5000/team/wine"})
    text = KubernetesBackend(chosen).manifest(submission(image="sha256:" + "ab" * 32))
    job = yaml.safe_load(text)
    validate(job)
    # the planned push target, named without contacting a Docker API or a cluster
    assert container(job)["image"] == "registry.example:5000/team/wine:" + "ab" * 6
    plain = manifest_yaml(submission(), chosen)
    assert yaml.safe_load(plain) == render_job(submission(), chosen)


# --- bad input: one line each, exit code 117 ------------------------------------------------


def refused(tmp_path: Path, template: str | None = None, **values: Any) -> str:
    if template is not None:
        (tmp_path / "job.yaml").write_text(template)
        values["kube-job-template-path"] = "job.yaml"
    with pytest.raises(BackendError) as caught:
        KubernetesBackend(config(tmp_path, **values)).manifest(submission())
    assert caught.value.exit_code is ExitCode.BACKEND
    assert "\n" not in caught.value.message
    return caught.value.message


def test_template_without_containers(tmp_path):
    message = refused(
        tmp_path, "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec: {}\n"
    )
    assert str(tmp_path / "job.yaml") in message
    assert "spec.template.spec.containers is missing or empty" in message


def test_malformed_template_yaml(tmp_path):
    message = refused(tmp_path, "kind: Job\nspec:\n  template: [unclosed\n")
    assert message.startswith(f"{tmp_path / 'job.yaml'}:")
    assert "not valid YAML" in message


def test_template_nested_too_deeply(tmp_path):
    message = refused(tmp_path, "kind: Job\nspec: " + "[" * 5000 + "]" * 5000 + "\n")
    assert message == f"{tmp_path / 'job.yaml'}: nested too deeply to read; fix the template"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "apiVersion: apps/v1\nkind: Deployment\n",
            "kind Deployment (apps/v1) is not a batch/v1 Job",
        ),
        ("- a\n- b\n", "expected a batch/v1 Job mapping, got list"),
        ("", "expected a batch/v1 Job mapping, got nothing"),
    ],
)
def test_template_that_is_not_a_job(tmp_path, template, expected):
    assert expected in refused(tmp_path, template)


def test_missing_template_file(tmp_path):
    message = refused(tmp_path, **{"kube-job-template-path": "nope.yaml"})
    assert f"cannot read {tmp_path / 'nope.yaml'}" in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"kube-contxt": "prod"}, "unknown key 'kube-contxt' for the kubernetes backend"),
        ({"namespace": "ML_Team"}, "'namespace' is \"ML_Team\"; expected a lowercase DNS label"),
        ({"resources": {"limits": {"memory": "2GB"}}}, "'resources.limits.memory' is \"2GB\""),
        ({"resources": {"limts": {}}}, "'resources' is"),
        ({"resources": {"limits": {"cpu": True}}}, "'resources.limits.cpu' is true"),
        ({"repository-uri": "https://hub/x"}, "'repository-uri' is \"https://hub/x\""),
        ({"poll-interval": 0}, "'poll-interval' is 0; expected a positive number"),
        ({"kube-context": ["a"]}, "'kube-context' is [\"a\"]; expected a string"),
    ],
)
def test_bad_config_values(tmp_path, values, expected):
    with pytest.raises(BackendError) as caught:
        config(tmp_path, **values)
    assert expected in caught.value.message
    assert caught.value.message.startswith("backend.json: ")


def test_project_without_docker_env_is_refused(tmp_path):
    with pytest.raises(BackendError, match="Kubernetes needs an image; add `docker_env"):
        KubernetesBackend(config(tmp_path)).manifest(submission(image=None))


def test_local_image_without_repository_is_refused(tmp_path):
    with pytest.raises(BackendError, match=r'exists only on this machine.*give "repository-uri"'):
        KubernetesBackend(config(tmp_path)).manifest(submission(image="sha256:" + "cd" * 32))
