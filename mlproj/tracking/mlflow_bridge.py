"""A tiny MLflow tracking server on 127.0.0.1, alive for one run, so MLflow code logs into it.

Why a server: the child's ``mlflow`` package is whatever its environment holds (any version, no
mlproj installed beside it), and the one interface every version speaks is the REST API behind
``MLFLOW_TRACKING_URI=http://...``. MLflow's file store would need converting after the fact
(and MLflow 3 refuses it unless told), and a tracking plugin would need mlproj installed in the
child's environment. With ``MLFLOW_RUN_ID`` set, both ``mlflow.log_param(...)`` alone and
``with mlflow.start_run():`` resume the mlproj run instead of creating one.

The port is taken when the bridge is made, before the child starts; the HTTP machinery is
imported and served from a background thread, so its ~25 ms import overlaps the child's start.
Requests need ``Authorization: Bearer <token>`` (``MLFLOW_TRACKING_TOKEN``), so other local
users cannot write into the run.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from mlproj.tracking.mlflow_api import PREFIX, MlflowApi, Request

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Variables of the caller that would send MLflow's client elsewhere or change its credentials.
OVERRIDDEN = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_AWS_SIGV4",
    "MLFLOW_TRACKING_AUTH",
    "MLFLOW_EXPERIMENT_NAME",
)
_READY_TIMEOUT = 10.0


class MlflowBridge:
    """Serves :class:`MlflowApi` over HTTP on an ephemeral port of 127.0.0.1."""

    def __init__(self, api: MlflowApi) -> None:
        self.api = api
        self.token = secrets.token_hex(16)
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._server: ThreadingHTTPServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="mlproj-mlflow", daemon=True)

    def start(self) -> None:
        """Start serving in the background (requests queue on the socket until then)."""
        self._thread.start()

    def variables(self) -> dict[str, str]:
        """What the child needs so that MLflow's client logs into the served run."""
        return {
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{self.port}",
            "MLFLOW_TRACKING_TOKEN": self.token,
            "MLFLOW_RUN_ID": self.api.run.run_id,
            "MLFLOW_EXPERIMENT_ID": self.api.run.experiment_id,
            # MLflow prints "View run at http://127.0.0.1:port" otherwise: a dead link later.
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        }

    def stop(self) -> None:
        """Stop serving, close the socket, end the runs the child left running."""
        if self._ready.wait(_READY_TIMEOUT) and self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        else:
            self._socket.close()
        self.api.close()

    def _serve(self) -> None:
        try:
            from http.server import ThreadingHTTPServer

            handler = _handler_class(self.api, self.token)
            server = ThreadingHTTPServer(("127.0.0.1", self.port), handler, False)
            server.socket.close()
            server.socket = self._socket  # already bound and listening
            self._server = server
        finally:
            self._ready.set()  # stop() must never wait for a server that will not come
        server.serve_forever(poll_interval=0.05)


def _handler_class(api: MlflowApi, token: str) -> type[BaseHTTPRequestHandler]:
    from http.server import BaseHTTPRequestHandler

    expected = f"Bearer {token}"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: MLflow's client reuses its connection

        def do_GET(self) -> None:  # the name http.server looks up
            self._answer("GET")

        def do_POST(self) -> None:  # the name http.server looks up
            self._answer("POST")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            status, body = self._dispatch(method, raw)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method: str, raw: bytes) -> tuple[int, dict[str, Any]]:
            if self.headers.get("Authorization") != expected:
                return 401, {"error_code": "UNAUTHENTICATED", "message": "bad or missing token"}
            url = urlsplit(self.path)
            if not url.path.startswith(PREFIX):
                return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": url.path}
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return 400, {"error_code": "MALFORMED_REQUEST", "message": "body is no object"}
            query = dict(parse_qsl(url.query))
            return api.handle(Request(method, url.path[len(PREFIX) :], query, body))

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request access log (it would land on mlproj's stderr)."""

    return Handler
