"""The few calls of MLflow's REST API (2.0) that MLflow's client makes to log into a run.

:class:`MlflowApi` turns one request (method, path, query, JSON body) into store calls and a JSON
answer shaped as MLflow's server answers, so an unchanged ``mlflow`` package, pointed at
:mod:`mlproj.tracking.mlflow_bridge`, logs into the mlproj run. Covered: runs get, create, update,
log-parameter, log-metric, set-tag, delete-tag, log-batch; metrics get-history; experiments get,
get-by-name, create. Artifacts need no call: the run's ``artifact_uri`` is its artifact folder as
a ``file://`` URI, which MLflow's client writes into directly.

Writes go only to the run being served and the runs its code creates (``mlflow.start_run()``
after ending the first one, or nested runs); reading any run of the store is allowed. Status
changes of the served run are ignored: its runner records how it ended, from the exit status.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlproj.errors import MlprojError, NotFoundError, UsageError
from mlproj.tracking.db import now_ms
from mlproj.tracking.history import Experiment, Metric
from mlproj.tracking.locks import RunnerLock
from mlproj.tracking.models import NewRun, Run, RunStatus
from mlproj.tracking.store import FAILURE_TAG, Store

PREFIX = "/api/2.0/mlflow/"
ORPHAN_MESSAGE = "the entry point ended without ending this MLflow run"
_STATUSES = {status.value for status in RunStatus}
Json = dict[str, Any]


class ApiError(Exception):
    """An error answer: HTTP status, MLflow error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class Request:
    """One call: ``path`` is what follows :data:`PREFIX` (``runs/get``)."""

    method: str
    path: str
    query: dict[str, str]
    body: Json


class MlflowApi:
    """Answers MLflow client calls for one served run (see the module docstring)."""

    def __init__(
        self, store: Store, run: Run, artifact_view: tuple[str, str] | None = None
    ) -> None:
        self.store, self.run = store, run
        #: (host prefix, child prefix): artifact paths as a container sees the mounted store.
        self.artifact_view = artifact_view
        self.unsupported: dict[str, int] = {}
        self._created: dict[str, RunnerLock] = {}
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], Callable[[Request], Json]] = {
            ("GET", "runs/get"): self._get_run,
            ("POST", "runs/create"): self._create_run,
            ("POST", "runs/update"): self._update_run,
            ("POST", "runs/log-parameter"): self._log_param,
            ("POST", "runs/log-metric"): self._log_metric,
            ("POST", "runs/set-tag"): self._set_tag,
            ("POST", "runs/delete-tag"): self._delete_tag,
            ("POST", "runs/log-batch"): self._log_batch,
            ("GET", "metrics/get-history"): self._metric_history,
            ("GET", "experiments/get"): self._get_experiment,
            ("GET", "experiments/get-by-name"): self._experiment_by_name,
            ("POST", "experiments/create"): self._create_experiment,
        }

    def handle(self, request: Request) -> tuple[int, Json]:
        """The HTTP status and JSON body answering ``request``."""
        route = self._routes.get((request.method, request.path))
        try:
            if route is None:
                name = f"{request.method} {PREFIX}{request.path}"
                with self._lock:
                    self.unsupported[name] = self.unsupported.get(name, 0) + 1
                raise ApiError(404, "ENDPOINT_NOT_FOUND", f"mlproj does not implement {name}")
            return 200, route(request)
        except ApiError as exc:
            return exc.status, {"error_code": exc.code, "message": exc.message}
        except NotFoundError as exc:
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": exc.message}
        except MlprojError as exc:
            # 400, not 500: MLflow's client retries 5xx answers for minutes.
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": exc.message}

    def close(self) -> None:
        """End the runs the code created and left running (FAILED), and drop their locks."""
        with self._lock:
            created, self._created = self._created, {}
        for run_id, lock in created.items():
            if self.store.get_run(run_id).status is RunStatus.RUNNING:
                self.store.set_tags(run_id, {FAILURE_TAG: ORPHAN_MESSAGE})
                self.store.finish_run(run_id, RunStatus.FAILED, None)
            lock.release()

    # Runs ----------------------------------------------------------------------------------

    def _get_run(self, request: Request) -> Json:
        return {"run": self._run_json(_run_id(request))}

    def _create_run(self, request: Request) -> Json:
        body = request.body
        tags = {str(t["key"]): str(t.get("value", "")) for t in body.get("tags", [])}
        experiment = self._experiment(str(body.get("experiment_id") or self.run.experiment_id))
        new = NewRun(
            experiment_name=experiment.name,
            run_name=body.get("run_name") or tags.get("mlflow.runName"),
            entry_point=self.run.entry_point,
            command=self.run.command,
            source_uri=self.run.source_uri,
            source_version=self.run.source_version,
            source_commit=self.run.source_commit,
            source_dirty=self.run.source_dirty,
            source_subdir=self.run.source_subdir,
            env_manager=self.run.env_manager,
            env_key=self.run.env_key,
            user=str(body.get("user_id") or self.run.user),
            host=self.run.host,
            mlproj_version=self.run.mlproj_version,
            tags={**tags, "mlproj.mlflow.created_by": self.run.run_id},
        )
        run = self.store.create_run(new)
        with self._lock:
            self._created[run.run_id] = self.store.hold_runner_lock(run.run_id)
        return {"run": self._run_json(run.run_id)}

    def _update_run(self, request: Request) -> Json:
        run_id = self._writable(request)
        name = request.body.get("run_name")
        if name:
            self.store.set_run_name(run_id, str(name))
        status = str(request.body.get("status", ""))
        with self._lock:
            lock = self._created.get(run_id)
        if lock is not None and status in _STATUSES and RunStatus(status).is_terminal:
            end = request.body.get("end_time")
            self.store.finish_run(run_id, RunStatus(status), None, _int(end) if end else None)
            with self._lock:
                self._created.pop(run_id, None)
            lock.release()
        run = self._run_json(run_id)
        return {"run_info": run["info"]}

    def _log_param(self, request: Request) -> Json:
        body = request.body
        self.store.log_params(self._writable(request), {_key(body): str(body.get("value", ""))})
        return {}

    def _log_metric(self, request: Request) -> Json:
        self.store.log_metrics(self._writable(request), [_metric(request.body)])
        return {}

    def _set_tag(self, request: Request) -> Json:
        body = request.body
        self.store.set_tags(self._writable(request), {_key(body): str(body.get("value", ""))})
        return {}

    def _delete_tag(self, request: Request) -> Json:
        self.store.delete_tag(self._writable(request), _key(request.body))
        return {}

    def _log_batch(self, request: Request) -> Json:
        run_id, body = self._writable(request), request.body
        params = {_key(p): str(p.get("value", "")) for p in body.get("params", [])}
        metrics = [_metric(m) for m in body.get("metrics", [])]
        tags = {_key(t): str(t.get("value", "")) for t in body.get("tags", [])}
        if params:
            self.store.log_params(run_id, params)
        if metrics:
            self.store.log_metrics(run_id, metrics)
        if tags:
            self.store.set_tags(run_id, tags)
        return {}

    def _metric_history(self, request: Request) -> Json:
        key = request.query.get("metric_key") or ""
        history = self.store.metric_history(_run_id(request), key)
        return {"metrics": [_metric_json(metric) for metric in history]}

    # Experiments ---------------------------------------------------------------------------

    def _get_experiment(self, request: Request) -> Json:
        wanted = request.query.get("experiment_id") or ""
        return {"experiment": self._experiment_json(self._experiment(wanted))}

    def _experiment_by_name(self, request: Request) -> Json:
        wanted = request.query.get("experiment_name") or ""
        for experiment in self.store.list_experiments():
            if experiment.name == wanted:
                return {"experiment": self._experiment_json(experiment)}
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"no experiment named '{wanted}'")

    def _create_experiment(self, request: Request) -> Json:
        name = str(request.body.get("name") or "")
        try:
            experiment = self.store.create_experiment(name)
        except UsageError as exc:
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", exc.message) from None
        return {"experiment_id": experiment.experiment_id}

    # Helpers -------------------------------------------------------------------------------

    def _writable(self, request: Request) -> str:
        run_id = _run_id(request)
        with self._lock:
            allowed = run_id == self.run.run_id or run_id in self._created
        if not allowed:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"run {run_id} is not the run mlproj serves ({self.run.run_id}) nor one its "
                "code created; log into it with mlproj itself",
            )
        return run_id

    def _experiment(self, experiment_id: str) -> Experiment:
        for experiment in self.store.list_experiments():
            if experiment.experiment_id == experiment_id:
                return experiment
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"no experiment with id '{experiment_id}'")

    def _child_uri(self, path: Path) -> str:
        """``file://`` URI of a store path as the entry point sees it (host or container)."""
        if self.artifact_view is not None:
            host, child = self.artifact_view
            if path == Path(host) or path.is_relative_to(host):
                return Path(child, path.relative_to(host)).as_uri()
        return path.as_uri()

    def _experiment_json(self, experiment: Experiment) -> Json:
        return {
            "experiment_id": experiment.experiment_id,
            "name": experiment.name,
            "artifact_location": self._child_uri(self.store.runs_dir),
            "lifecycle_stage": "active",
            "creation_time": experiment.creation_time,
            "last_update_time": experiment.creation_time,
            "tags": [],
        }

    def _run_json(self, run_id: str) -> Json:
        run = self.store.get_run(run_id)
        if run.run_id == self.run.run_id:
            run = replace(run, status=RunStatus.RUNNING)  # alive while we serve it
        info: Json = {
            "run_id": run.run_id,
            "run_uuid": run.run_id,
            "run_name": run.run_name,
            "experiment_id": run.experiment_id,
            "user_id": run.user,
            "status": run.status.value,
            "start_time": run.start_time,
            "artifact_uri": self._child_uri(Path(run.artifact_uri)),
            "lifecycle_stage": "active",
        }
        if run.end_time is not None:
            info["end_time"] = run.end_time
        data = {
            "metrics": [_metric_json(m) for m in self.store.latest_metrics(run.run_id)],
            "params": [{"key": k, "value": v} for k, v in run.params.items()],
            "tags": [{"key": k, "value": v} for k, v in run.tags.items()],
        }
        return {"info": info, "data": data}


def _run_id(request: Request) -> str:
    found = (
        request.body.get("run_id")
        or request.body.get("run_uuid")
        or request.query.get("run_id")
        or request.query.get("run_uuid")
    )
    if not found:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "the request names no run_id")
    return str(found)


def _key(item: Json) -> str:
    key = item.get("key")
    if not isinstance(key, str) or not key:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"missing or empty key in {item!r}")
    return key


def _int(value: Any) -> int:
    try:
        return int(value)  # proto3 JSON may spell 64-bit integers as strings
    except (TypeError, ValueError):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{value!r} is not an integer") from None


def _metric(item: Json) -> Metric:
    key = _key(item)
    try:
        value = float(item.get("value"))  # type: ignore[arg-type]  # checked just below
    except (TypeError, ValueError):
        raise ApiError(
            400, "INVALID_PARAMETER_VALUE", f"metric {key!r}: {item.get('value')!r} is no number"
        ) from None
    timestamp = item.get("timestamp")
    return Metric(key, value, _int(item.get("step", 0)), _int(timestamp) if timestamp else now_ms())


def _metric_json(metric: Metric) -> Json:
    value: float | str = metric.value
    if math.isnan(metric.value):
        value = "NaN"
    elif math.isinf(metric.value):
        value = "Infinity" if metric.value > 0 else "-Infinity"
    return {"key": metric.key, "value": value, "timestamp": metric.timestamp, "step": metric.step}
