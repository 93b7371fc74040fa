"""submit, status and cancel through the real ``kubernetes`` client, against a stub API server.

The server (``kube_stub.py``) is a stub of the Kubernetes API on 127.0.0.1, not a cluster:
the client, its kubeconfig loading, HTTP, serialisation and error handling are real; what the
server answers is recorded-shape JSON. No cluster can run on these machines.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlproj.backends.base import JobPhase, wait_for
from mlproj.backends.config import BackendConfig
from mlproj.backends.kube_render import render_job
from mlproj.backends.kubernetes import KubernetesBackend
from mlproj.errors import BackendError
from tests.backends.kube_stub import StubApi, recorded, running_stub, write_kubeconfig
from tests.backends.test_kubernetes_render import RUN_ID, submission

RUNS = recorded("runs.json")


@pytest.fixture
def stub_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubApi]:
    """The stub API, with ``KUBECONFIG`` pointing at it."""
    with running_stub(tmp_path) as (api, kubeconfig):
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        yield api


def backend(**values) -> KubernetesBackend:
    return KubernetesBackend.from_config(BackendConfig(values))


def test_submit_creates_the_rendered_job(stub_api):
    chosen = backend(resources={"requests": {"cpu": "1"}})
    job_id = chosen.submit(submission())
    name = f"mlproj-wine-quality-{RUN_ID[:8]}"
    assert job_id == f"ml/{name}"  # the context's namespace
    (created,) = stub_api.calls("POST", "/namespaces/ml/jobs")
    assert created.body == render_job(submission(), chosen.config)
    assert created.body["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "1"}
    }
    states = chosen.status([job_id])
    assert states[job_id].phase is JobPhase.SCHEDULED  # created, no pod yet
    assert states[job_id].reason == "no pod yet"


def test_namespace_from_config_wins(stub_api):
    assert backend(namespace="vision").submit(submission()).startswith("vision/")
    assert stub_api.calls("POST", "/namespaces/vision/jobs")


def test_submitting_the_same_run_twice_is_one_clear_line(stub_api):
    chosen = backend()
    chosen.submit(submission())
    with pytest.raises(BackendError) as caught:
        chosen.submit(submission())
    assert caught.value.message == (
        f"Kubernetes API: creating Job mlproj-wine-quality-{RUN_ID[:8]} in namespace ml: "
        f'409 Conflict: jobs.batch "mlproj-wine-quality-{RUN_ID[:8]}" already exists'
    )


def test_status_of_many_jobs_is_one_job_call_and_one_pod_call(stub_api):
    stub_api.load_recorded()
    ids = [f"ml/{name}" for name in RUNS.values()] + ["ml/mlproj-forgotten-00000000"]
    states = backend().status(ids)
    assert len(stub_api.calls("GET", "/namespaces/ml/jobs")) == 1
    assert len(stub_api.calls("GET", "/namespaces/ml/pods")) == 1
    (call,) = stub_api.calls("GET", "/namespaces/ml/jobs")
    assert call.query["labelSelector"][0].startswith("mlproj.job in (")
    assert "ml/mlproj-forgotten-00000000" not in states  # the API does not know it: left out
    phases = {scenario: states[f"ml/{name}"].phase for scenario, name in RUNS.items()}
    assert phases == {
        "pending": JobPhase.SCHEDULED,
        "unschedulable": JobPhase.SCHEDULED,
        "running": JobPhase.RUNNING,
        "succeeded": JobPhase.FINISHED,
        "failed": JobPhase.FAILED,
        "deadline": JobPhase.FAILED,
        "oomkilled": JobPhase.FAILED,
        "deleting": JobPhase.KILLED,
        "suspended": JobPhase.SCHEDULED,
    }
    oom = states[f"ml/{RUNS['oomkilled']}"]
    assert (oom.native, oom.exit_code) == ("Failed", 137)
    assert "OOMKilled" in oom.reason
    assert backend().status([]) == {}


def test_cancel_deletes_in_the_foreground_and_is_idempotent(stub_api):
    stub_api.load_recorded()
    chosen = backend()
    job_id = f"ml/{RUNS['running']}"
    chosen.cancel(job_id)
    (deleted,) = stub_api.calls("DELETE", RUNS["running"])
    # a query parameter (or, from older clients, DeleteOptions in the body)
    policy = deleted.query.get("propagationPolicy", [None])[0] or deleted.body["propagationPolicy"]
    assert policy == "Foreground"
    assert chosen.status([job_id])[job_id].phase is JobPhase.KILLED
    chosen.cancel("ml/mlproj-gone-00000000")  # already gone: not an error


def test_wait_for_polls_all_jobs_at_once(stub_api):
    stub_api.load_recorded()
    ids = [f"ml/{RUNS[s]}" for s in ("succeeded", "failed", "oomkilled")]
    states = wait_for(
        backend(),
        ids,
        done=lambda s: all(x.phase.is_terminal for x in s.values()),
        sleep=lambda _: None,
    )
    assert [states[i].exit_code for i in ids] == [0, 3, 137]
    assert len(stub_api.calls("GET", "/jobs")) == 1


def test_kube_context_picks_the_namespace(stub_api):
    assert backend(**{"kube-context": "other"}).submit(submission()).startswith("default/")


# --- bad input ------------------------------------------------------------------------------


def test_unknown_context(stub_api):
    with pytest.raises(BackendError) as caught:
        backend(**{"kube-context": "prod"}).status(["ml/x"])
    message = caught.value.message
    assert message.startswith("no Kubernetes cluster configured: context 'prod' of ")
    assert 'set KUBECONFIG, or "kube-context" in --backend-config' in message


def test_no_kubeconfig_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(BackendError, match=r"^no Kubernetes cluster configured: the current"):
        backend().submit(submission())


def test_api_server_down(tmp_path, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kc", url)))
    with pytest.raises(BackendError) as caught:
        backend().status(["ml/x"])
    assert caught.value.message.startswith(f"Kubernetes API at {url} unreachable while listing")
    assert "\n" not in caught.value.message


def test_missing_client_names_the_extra(stub_api, monkeypatch):
    monkeypatch.setitem(
        sys.modules, "kubernetes", None
    )  # what `import kubernetes` sees uninstalled
    with pytest.raises(BackendError) as caught:
        backend().submit(submission())
    assert caught.value.message == (
        "the kubernetes backend needs the 'kubernetes' Python package: "
        "pip install 'mlproj[kubernetes]'"
    )
    assert not stub_api.requests
    # Rendering (--dry-run) does not need the client.
    assert "kind: Job" in backend().manifest(submission())


def test_invalid_template_value_is_refused_by_the_api(stub_api, tmp_path):
    (tmp_path / "job.yaml").write_text(
        "kind: Job\nspec:\n  template:\n    spec:\n      containers: [{name: c, ports: 80}]\n"
    )
    # Refused by the client's own model validation (kubernetes >= 33), or by the API (422).
    message = r"^Kubernetes (client|API): creating Job .*containers.0.ports"
    with pytest.raises(BackendError, match=message):
        backend(**{"kube-job-template-path": str(Path(tmp_path / "job.yaml"))}).submit(submission())


def add_pod(stub_api, key: tuple[str, str], phase: str) -> str:
    """A pod of the Job ``key`` (namespace, name) in the stub, as the cluster would make it."""
    pod = f"{key[1]}-x7k2p"
    stub_api.pods.append(
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": pod,
                "namespace": key[0],
                "labels": {"mlproj.job": key[1]},
                "creationTimestamp": "2026-11-25T10:00:00Z",
            },
            "status": {"phase": phase},
        }
    )
    return pod


KUBE_PROJECT = {
    "MLproject": (
        "name: kube-e2e\ndocker_env:\n  image: localhost/mlproj-busybox:2\n"
        "entry_points:\n  main:\n    parameters:\n      alpha: {type: float, default: 0.5}\n"
        '    command: "python train.py --alpha {alpha}"\n'
    ),
    "train.py": "print('hi')\n",
}


def test_mlproj_run_on_kubernetes_end_to_end(stub_api, mlproj, write_project, monkeypatch):
    """The CLI against the stub: submit, SCHEDULED until the Job completes, then FINISHED."""
    monkeypatch.setenv("MLPROJ_POLL_INTERVAL", "0.2")
    project = write_project(KUBE_PROJECT)
    done = mlproj("run", str(project), "-b", "kubernetes", "--detach", "-P", "alpha=0.7")
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    [(key, job)] = list(stub_api.jobs.items())
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "train.py", "--alpha", "0.7"]
    assert {"name": "MLPROJ_RUN_ID", "value": run_id} in container["env"]
    run = mlproj("runs", "show", run_id, "--json").json()
    assert run["status"] == "SCHEDULED"
    assert run["tags"]["mlproj.backend.job_id"] == f"{key[0]}/{key[1]}"
    job["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    pod = add_pod(stub_api, key, "Succeeded")
    stub_api.logs[(key[0], pod)] = "hi from the pod\n"
    waited = mlproj("runs", "wait", run_id)
    assert waited.returncode == 0, waited.stderr
    run = mlproj("runs", "show", run_id, "--json").json()
    assert (run["status"], run["exit_code"]) == ("FINISHED", 0)
    assert run["tags"]["mlproj.backend.state"] == "Complete"
    assert mlproj("runs", "logs", run_id).stdout == "hi from the pod\n"  # the pod's output


def test_cancel_on_kubernetes_deletes_the_job_and_kills_the_run(stub_api, mlproj, write_project):
    project = write_project(KUBE_PROJECT)
    run_id = mlproj("run", str(project), "-b", "kubernetes", "--detach").stdout.strip()
    cancelled = mlproj("runs", "cancel", run_id, "--timeout", "10")
    assert cancelled.returncode == 0, cancelled.stderr
    assert stub_api.calls("DELETE", "")
    run = mlproj("runs", "show", run_id, "--json").json()
    assert run["status"] == "KILLED"


def test_an_attached_kubernetes_run_shows_the_pod_output_as_it_comes(
    stub_api, write_project, store_dir, tmp_path, monkeypatch
):
    import select
    import subprocess
    import time

    from tests.conftest import mlproj_env

    monkeypatch.setenv("MLPROJ_POLL_INTERVAL", "0.2")
    project = write_project(KUBE_PROJECT)
    attached = subprocess.Popen(
        [sys.executable, "-m", "mlproj", "run", str(project), "-b", "kubernetes"],
        cwd=tmp_path,
        env=mlproj_env(store_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not stub_api.jobs:
        assert attached.poll() is None, attached.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [(key, job)] = list(stub_api.jobs.items())
    pod = add_pod(stub_api, key, "Running")
    job["status"] = {"active": 1}
    stub_api.logs[(key[0], pod)] = "epoch 1\n"
    assert attached.stdout is not None
    ready, _, _ = select.select([attached.stdout], [], [], 60)
    assert ready, "nothing shown while the pod runs"
    assert attached.stdout.readline() == "epoch 1\n"  # shown while the pod still runs
    stub_api.logs[(key[0], pod)] = "epoch 1\nepoch 2\n"
    job["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    out, err = attached.communicate(timeout=60)
    assert attached.returncode == 0, err
    assert out == "epoch 2\n"
