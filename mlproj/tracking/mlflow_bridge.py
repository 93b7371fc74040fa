"""A tiny MLflow tracking server on 127.0.0.1, alive for one run, so MLflow code logs into it.

Why a server: the child's ``mlflow`` package is whatever its environment holds (any version, no
mlproj installed beside it), and the one interface every version speaks is the REST API behind
``MLFLOW_TRACKING_URI=http://...``. MLflow's file store would need converting after the fact
(and MLflow 3 refuses it unless told), and a tracking plugin would need mlproj installed in the
child's environment. With ``MLFLOW_RUN_ID`` set, both ``mlflow.log_param(...)`` alone and
``with mlflow.start_run():`` resume the mlproj run instead of creating one.

The port is taken when the bridge is made, before the child starts. A background thread
accepts connections with a plain loop (not ``socketserver``'s polling one) and loads the HTTP
machinery (``http.server`` costs ~25 ms to import) only when the first MLflow call arrives, so a
run that never calls MLflow pays for a listening socket and one thread; stopping the bridge
costs one round trip on 127.0.0.1. Until that first call, the bridge uses only the C half of the
socket module (``_socket``, as ``socket.py`` itself does): importing ``socket`` costs ~4 ms, as
it builds enums of every constant, and would delay every run's start.
Requests need ``Authorization: Bearer <token>`` (``MLFLOW_TRACKING_TOKEN``), so other local
users cannot write into the run.
"""

from __future__ import annotations

import _socket
import contextlib
import os
import select
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    import socket
    from http.server import BaseHTTPRequestHandler

    from mlproj.tracking.mlflow_api import MlflowApi
    from mlproj.tracking.models import Run
    from mlproj.tracking.store import Store

#: Variables of the caller that would send MLflow's client elsewhere or change its credentials.
OVERRIDDEN = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_AWS_SIGV4",
    "MLFLOW_TRACKING_AUTH",
    "MLFLOW_EXPERIMENT_NAME",
)
_JOIN_TIMEOUT = 10.0


class MlflowBridge:
    """Serves :class:`~mlproj.tracking.mlflow_api.MlflowApi` for one run on 127.0.0.1.

    One thread accepts connections and one thread serves each (MLflow's client keeps its
    connection open). :meth:`stop` wakes the accepting thread by connecting to it, so stopping
    takes a round trip rather than a polling interval.
    """

    def __init__(
        self,
        store: Store,
        run: Run,
        listen: str = "127.0.0.1",
        url_host: str | None = None,
        artifact_view: tuple[str, str] | None = None,
    ) -> None:
        """``listen``: the address to serve on; ``url_host``: how the child reaches it (a
        container reaches the host at its network's gateway); ``artifact_view``: a host path
        prefix and what the child sees there instead (the store mounted in a container).
        """
        self.store, self.run = store, run
        self.token = os.urandom(16).hex()
        self.api: MlflowApi | None = None  # made by the serving thread at the first call
        self.listen, self.url_host = listen, url_host or listen
        self.artifact_view = artifact_view
        self._listener = _listen(listen)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="mlproj-mlflow", daemon=True)

    def start(self) -> None:
        """Start serving in the background (connections wait in the socket's queue until then)."""
        self._thread.start()

    def variables(self) -> dict[str, str]:
        """What the child needs so that MLflow's client logs into the served run."""
        return {
            "MLFLOW_TRACKING_URI": f"http://{self.url_host}:{self.port}",
            "MLFLOW_TRACKING_TOKEN": self.token,
            "MLFLOW_RUN_ID": self.run.run_id,
            "MLFLOW_EXPERIMENT_ID": self.run.experiment_id,
            # MLflow prints "View run at http://127.0.0.1:port" otherwise: a dead link later.
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        }

    @property
    def unsupported(self) -> dict[str, int]:
        """MLflow calls that were refused because mlproj does not implement them, with counts."""
        return dict(self.api.unsupported) if self.api is not None else {}

    def stop(self) -> None:
        """Stop accepting, close the socket, end the runs the child left running."""
        self._stopping.set()
        if self._thread.is_alive():
            with contextlib.suppress(OSError):  # wake accept(); it sees the flag and returns
                _wake(self.listen, self.port)
            self._thread.join(_JOIN_TIMEOUT)
        self._listener.close()
        if self.api is not None:
            self.api.close()

    def _serve(self) -> None:
        try:  # sleep until a first connection is queued: the MLflow client's, or stop()'s
            select.select([self._listener], [], [])
        except (OSError, ValueError):
            return
        if self._stopping.is_set():
            return
        import socket

        # The same listening socket, as a socket.socket: accept() returns connection objects.
        listener = self._listener = socket.socket(fileno=self._listener.detach())
        handler = None
        while not self._stopping.is_set():
            try:
                connection, address = listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                connection.close()
                return
            if handler is None:  # the first MLflow call: only now load the HTTP machinery
                from mlproj.tracking.mlflow_api import MlflowApi

                self.api = MlflowApi(self.store, self.run, self.artifact_view)
                handler = _handler_class(self.api, self.token)
            worker = threading.Thread(
                target=_serve_connection, args=(handler, connection, address), daemon=True
            )
            worker.start()


def _listen(address: str) -> _socket.socket:
    """A TCP socket listening on ``address`` at a free port, as ``socket.create_server`` makes."""
    listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        listener.bind((address, 0))
        listener.listen()
    except OSError:
        listener.close()
        raise
    return listener


def _wake(address: str, port: int) -> None:
    """Connect to the bridge once and hang up.

    A plain ``connect`` to the numeric address: ``socket.create_connection`` would resolve it
    with ``getaddrinfo``, which loads the IDNA codec (~3 ms) on every run's way out.
    """
    waker = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        waker.settimeout(_JOIN_TIMEOUT)
        waker.connect((address, port))
    finally:
        waker.close()


def _serve_connection(
    handler: type[BaseHTTPRequestHandler], connection: socket.socket, address: Any
) -> None:
    try:
        handler(connection, address, None)  # type: ignore[arg-type]  # no server object needed
    except OSError:
        pass  # the client went away mid-request
    finally:
        connection.close()


def _handler_class(api: MlflowApi, token: str) -> type[BaseHTTPRequestHandler]:
    import json
    from http.server import BaseHTTPRequestHandler

    from mlproj.tracking.mlflow_api import PREFIX, Request

    expected = f"Bearer {token}"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: MLflow's client reuses its connection
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every answer back for 40 ms.
        disable_nagle_algorithm = True

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
