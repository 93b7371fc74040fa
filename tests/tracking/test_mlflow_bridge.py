"""The MLflow REST bridge over real HTTP (the real mlflow client is tested in tests/cli)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from mlproj.tracking.mlflow_bridge import MlflowBridge
from mlproj.tracking.models import RunStatus


@pytest.fixture
def served(store, make_run):
    run = store.create_run(make_run(params={"alpha": "0.5"}))
    bridge = MlflowBridge(store, run)
    bridge.start()
    yield run, bridge
    bridge.stop()


def call(bridge, method, path, body=None, query=None, token=None):
    env = bridge.variables()
    url = f"{env['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/{path}"
    if query:
        url += "?" + urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token or env['MLFLOW_TRACKING_TOKEN']}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_log_calls_land_in_the_run(store, served):
    run, bridge = served
    rid = run.run_id
    assert (
        call(bridge, "POST", "runs/log-parameter", {"run_id": rid, "key": "b", "value": "1"})[0]
        == 200
    )
    metric = {"run_id": rid, "key": "loss", "value": 0.5, "timestamp": "1764000000000", "step": 2}
    assert call(bridge, "POST", "runs/log-metric", metric)[0] == 200
    assert call(bridge, "POST", "runs/set-tag", {"run_id": rid, "key": "t", "value": "v"})[0] == 200
    batch = {
        "run_id": rid,
        "params": [{"key": "c", "value": "2"}],
        "metrics": [{"key": "acc", "value": "NaN", "timestamp": 1, "step": 0}],
        "tags": [{"key": "u", "value": "w"}],
    }
    assert call(bridge, "POST", "runs/log-batch", batch)[0] == 200
    status, got = call(bridge, "GET", "runs/get", query={"run_id": rid})
    assert status == 200
    info, data = got["run"]["info"], got["run"]["data"]
    assert info["status"] == "RUNNING"
    assert info["artifact_uri"].startswith("file:///")
    assert {p["key"]: p["value"] for p in data["params"]} == {"alpha": "0.5", "b": "1", "c": "2"}
    assert {m["key"]: m["value"] for m in data["metrics"]} == {"acc": "NaN", "loss": 0.5}
    history = call(
        bridge, "GET", "metrics/get-history", query={"run_id": rid, "metric_key": "loss"}
    )
    assert history[1]["metrics"] == [
        {"key": "loss", "value": 0.5, "timestamp": 1764000000000, "step": 2}
    ]
    recorded = store.get_run(rid)
    assert recorded.tags["t"] == "v"
    assert recorded.tags["u"] == "w"


def test_status_updates_of_the_served_run_are_left_to_its_runner(store, served):
    run, bridge = served
    body = {"run_id": run.run_id, "status": "FINISHED", "end_time": 5, "run_name": "renamed"}
    status, _got = call(bridge, "POST", "runs/update", body)
    assert status == 200
    recorded = store.get_run(run.run_id)
    assert recorded.status is RunStatus.RUNNING
    assert recorded.run_name == "renamed"


def test_created_runs_are_recorded_and_ended(store, served):
    run, bridge = served
    created = call(
        bridge,
        "POST",
        "runs/create",
        {"experiment_id": "0", "tags": [{"key": "mlflow.parentRunId", "value": run.run_id}]},
    )[1]["run"]["info"]
    child = created["run_id"]
    call(
        bridge, "POST", "runs/log-metric", {"run_id": child, "key": "m", "value": 1, "timestamp": 1}
    )
    call(bridge, "POST", "runs/update", {"run_id": child, "status": "FINISHED", "end_time": 7})
    ended = store.get_run(child)
    assert ended.status is RunStatus.FINISHED
    assert ended.metrics == {"m": 1.0}
    assert ended.tags["mlflow.parentRunId"] == run.run_id
    assert ended.source_uri == run.source_uri  # provenance copied from the served run
    left = call(bridge, "POST", "runs/create", {"experiment_id": "0"})[1]["run"]["info"]["run_id"]
    bridge.api.close()  # the entry point ended without ending its second run
    assert store.get_run(left).status is RunStatus.FAILED


def test_errors_answer_like_mlflow(store, served, make_run):
    run, bridge = served
    rid = run.run_id
    call(bridge, "POST", "runs/log-parameter", {"run_id": rid, "key": "alpha", "value": "0.5"})
    status, got = call(
        bridge, "POST", "runs/log-parameter", {"run_id": rid, "key": "alpha", "value": "0.9"}
    )
    assert (status, got["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    other = store.create_run(make_run()).run_id
    status, got = call(bridge, "POST", "runs/set-tag", {"run_id": other, "key": "t", "value": "x"})
    assert (status, got["error_code"]) == (403, "PERMISSION_DENIED")
    assert call(bridge, "GET", "runs/get", query={"run_id": other})[0] == 200  # reading is fine
    status, got = call(bridge, "GET", "runs/get", query={"run_id": "f" * 32})
    assert (status, got["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, got = call(bridge, "POST", "logged-models", {})
    assert (status, got["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    assert bridge.unsupported == {"POST /api/2.0/mlflow/logged-models": 1}
    status, got = call(bridge, "GET", "runs/get", query={"run_id": rid}, token="wrong")
    assert status == 401


def test_experiments(store, served):
    _, bridge = served
    status, got = call(bridge, "GET", "experiments/get-by-name", query={"experiment_name": "x"})
    assert (status, got["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    new_id = call(bridge, "POST", "experiments/create", {"name": "x"})[1]["experiment_id"]
    got = call(bridge, "GET", "experiments/get-by-name", query={"experiment_name": "x"})[1]
    assert got["experiment"]["experiment_id"] == new_id
    got = call(bridge, "GET", "experiments/get", query={"experiment_id": "0"})[1]
    assert got["experiment"]["name"] == "Default"
    assert call(bridge, "POST", "experiments/create", {"name": "x"})[0] == 400
