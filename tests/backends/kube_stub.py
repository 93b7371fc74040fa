"""A stub of the Kubernetes API on 127.0.0.1 that the real ``kubernetes`` client talks to.

This is not a cluster: nothing is scheduled and no pod runs. It answers the five calls the
kubernetes backend makes (create, list and delete Jobs; list pods) over real HTTP, from JSON in
the shape the API server returns (``kube_responses/``), and records every request so tests can
count calls. Created Jobs are checked against the real batch/v1 Job schema
(``kubernetes-validate``, strict), as the API server would, and refused with a 422 otherwise.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RESPONSES = Path(__file__).resolve().parent / "kube_responses"
K8S_VERSION = "1.37.0"

_JOBS = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?$")
_PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")
_POD_LOG = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$")
_IN = re.compile(r"^\s*([\w./-]+)\s+in\s+\(([^)]*)\)\s*$")


def recorded(name: str) -> Any:
    """One of the recorded-shape responses (``joblist.json``, ``podlist.json``, ``runs.json``)."""
    return json.loads((RESPONSES / name).read_text())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class StubApi:
    """The stub's state: Jobs and pods per namespace, and the requests it received."""

    jobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    #: (namespace, pod name) -> what ``GET .../pods/NAME/log`` answers.
    logs: dict[tuple[str, str], str] = field(default_factory=dict)

    def load_recorded(self) -> None:
        """Serve the recorded Job and pod lists (namespace ``ml``)."""
        for job in recorded("joblist.json")["items"]:
            self.jobs[(job["metadata"]["namespace"], job["metadata"]["name"])] = job
        self.pods.extend(recorded("podlist.json")["items"])

    def calls(self, method: str, suffix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]


def _matches(resource: dict[str, Any], selector: str) -> bool:
    labels = resource.get("metadata", {}).get("labels") or {}
    for term in filter(None, selector.split(",") if " in " not in selector else [selector]):
        found = _IN.match(term)
        if found:
            values = {v.strip() for v in found.group(2).split(",")}
            if labels.get(found.group(1)) not in values:
                return False
        elif labels.get(term.split("=")[0]) != term.split("=")[-1]:
            return False
    return True


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    api: StubApi

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def _reply(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _request(self) -> Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request = Request(
            self.command, parts.path, parse_qs(parts.query), json.loads(raw or "null")
        )
        self.api.requests.append(request)
        return request

    def do_GET(self) -> None:
        request = self._request()
        selector = request.query.get("labelSelector", [""])[0]
        log = _POD_LOG.match(request.path)
        if log:
            text = self.api.logs.get((log.group(1), log.group(2)))
            if text is None:
                self._reply(404, _status(404, "NotFound", f'pods "{log.group(2)}" not found'))
                return
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        jobs, pods = _JOBS.match(request.path), _PODS.match(request.path)
        if jobs and not jobs.group(2):
            items = [j for (ns, _), j in self.api.jobs.items() if ns == jobs.group(1)]
            kind, version = "JobList", "batch/v1"
        elif pods:
            items = [p for p in self.api.pods if p["metadata"]["namespace"] == pods.group(1)]
            kind, version = "PodList", "v1"
        else:
            self._reply(404, _status(404, "NotFound", "the server could not find it"))
            return
        chosen = [i for i in items if _matches(i, selector)]
        body = {"kind": kind, "apiVersion": version, "metadata": {"resourceVersion": "1"}}
        self._reply(200, {**body, "items": chosen})

    def do_POST(self) -> None:
        import kubernetes_validate

        request = self._request()
        found = _JOBS.match(request.path)
        if not found or found.group(2):
            self._reply(404, _status(404, "NotFound", "the server could not find it"))
            return
        job, namespace = request.body, found.group(1)
        name = job["metadata"]["name"]
        try:
            kubernetes_validate.validate(job, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            self._reply(422, _status(422, "Invalid", f'Job.batch "{name}" is invalid: {exc}'))
            return
        if (namespace, name) in self.api.jobs:
            message = f'jobs.batch "{name}" already exists'
            self._reply(409, _status(409, "AlreadyExists", message))
            return
        stored = copy.deepcopy(job)
        stored["metadata"].update(namespace=namespace, uid="0000-stub", resourceVersion="7")
        stored["status"] = {}
        self.api.jobs[(namespace, name)] = stored
        self._reply(201, stored)

    def do_DELETE(self) -> None:
        request = self._request()
        found = _JOBS.match(request.path)
        key = (found.group(1), found.group(2)) if found else ("", "")
        if key not in self.api.jobs:
            message = f'jobs.batch "{key[1]}" not found'
            self._reply(404, _status(404, "NotFound", message))
            return
        job = self.api.jobs[key]
        job["metadata"]["deletionTimestamp"] = "2026-11-25T10:10:00Z"
        job["metadata"]["finalizers"] = ["foregroundDeletion"]
        self._reply(200, job)


def serve() -> tuple[StubApi, ThreadingHTTPServer]:
    """Start the stub on a free port of 127.0.0.1 (stop it with ``server.shutdown()``)."""
    api = StubApi()
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return api, server


def write_kubeconfig(path: Path, server: str, namespace: str = "ml") -> Path:
    """A kubeconfig whose current context ``stub`` points at ``server``."""
    import yaml

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stub", "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {"token": "not-a-secret"}}],
        "contexts": [
            {
                "name": "stub",
                "context": {"cluster": "stub", "user": "tester", "namespace": namespace},
            },
            {"name": "other", "context": {"cluster": "stub", "user": "tester"}},
        ],
        "current-context": "stub",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.contextmanager
def running_stub(folder: Path) -> Iterator[tuple[StubApi, Path]]:
    """The stub API running, and a kubeconfig in ``folder`` pointing at it (set KUBECONFIG)."""
    api, server = serve()
    try:
        yield api, write_kubeconfig(folder / "kubeconfig", api.url)
    finally:
        server.shutdown()
        server.server_close()
