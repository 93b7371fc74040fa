"""Real git repositories for the source tests, served over file://, git daemon, HTTP and "ssh".

* :class:`Upstream` builds a project repository with commits, an annotated and a lightweight
  tag and a branch, and publishes it as a bare repository under ``served/``.
* ``git_daemon`` serves ``served/`` with a real ``git daemon`` on 127.0.0.1 (free port).
* ``http_git`` serves it with ``git http-backend`` behind a tiny stdlib HTTP server on
  127.0.0.1, optionally requiring HTTP Basic credentials (to prove tokens work and never leak).
* ``fake_ssh`` is a stand-in for the ``ssh`` program (GIT_SSH_COMMAND) that runs the requested
  git command locally, so ``git@host:org/repo`` and ``ssh://`` URLs go through git's real ssh
  transport code without an ssh server.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import Result

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}

MLPROJECT = """name: shown
entry_points:
  main:
    parameters:
      word: {type: string, default: hello}
    command: "python show.py {word}"
"""
# Prints what the run saw: its folder, arguments and the VERSION file of the commit.
SHOW_PY = """import json, os, sys
print(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:],
                  "version": open("VERSION").read().strip()}))
"""


def git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    """Run git as a test helper (never through mlproj) and return its stdout."""
    env = {**os.environ, **IDENTITY}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


@dataclass
class Upstream:
    """A project repository (``work``) and its published bare copy ``served/<name>.git``."""

    work: Path
    served: Path
    name: str = "project"
    commits: dict[str, str] = field(default_factory=dict)

    @property
    def bare(self) -> Path:
        return self.served / f"{self.name}.git"

    def commit(self, files: dict[str, str], message: str) -> str:
        for rel, text in files.items():
            target = self.work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        sha = git("rev-parse", "HEAD", cwd=self.work)
        self.commits[message] = sha
        return sha

    def publish(self) -> None:
        """Push every branch and tag to the bare repository (created on first use)."""
        if not self.bare.exists():
            git("init", "-q", "--bare", "-b", "main", str(self.bare))
        git("push", "-q", "--force", str(self.bare), "refs/heads/*:refs/heads/*", cwd=self.work)
        git("push", "-q", "--force", "--tags", str(self.bare), cwd=self.work)


def make_upstream(root: Path, name: str = "project") -> Upstream:
    """A repository with ``sub/`` holding the project: v1 (annotated), v2 (lightweight), dev."""
    work = root / f"{name}-work"
    git("init", "-q", "-b", "main", str(work))
    up = Upstream(work=work, served=root / "served", name=name)
    up.commit({"sub/MLproject": MLPROJECT, "sub/show.py": SHOW_PY, "sub/VERSION": "one\n"}, "one")
    git("tag", "-a", "v1", "-m", "release one", cwd=work)
    up.commit({"sub/VERSION": "two\n"}, "two")
    git("tag", "v2", cwd=work)
    git("checkout", "-q", "-b", "dev", cwd=work)
    up.commit({"sub/VERSION": "dev\n"}, "dev")
    git("checkout", "-q", "main", cwd=work)
    up.publish()
    return up


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    return make_upstream(tmp_path)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def mlproj(mlproj: Callable[..., Result], cache_dir: Path) -> Callable[..., Result]:
    """The CLI with a private cache folder for this test."""

    def call(*args: str, **env: str) -> Result:
        env.setdefault("MLPROJ_CACHE_DIR", str(cache_dir))
        return mlproj(*args, **env)

    return call


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class Daemon:
    """A running ``git daemon``; ``url(name)`` is ``git://127.0.0.1:PORT/<name>``."""

    port: int
    process: subprocess.Popen[bytes] | None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def git_daemon(upstream: Upstream) -> Iterator[Daemon]:
    """``git daemon`` serving ``upstream.served`` on a free port of 127.0.0.1."""
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--export-all",
            "--reuseaddr",
            "--informative-errors",
            f"--base-path={upstream.served}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(upstream.served),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    daemon = Daemon(port, process)
    try:
        wait_for_port(port)
        yield daemon
    finally:
        daemon.stop()


@dataclass
class HttpGit:
    """A ``git http-backend`` server; records every request line and Authorization header."""

    port: int
    server: ThreadingHTTPServer
    requests: list[str] = field(default_factory=list)
    auth_seen: list[str] = field(default_factory=list)

    def url(self, name: str, userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self.port}/{name}"


def _handler(served: Path, state: dict[str, object]) -> type[BaseHTTPRequestHandler]:
    class GitHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            http: HttpGit = state["http"]  # type: ignore[assignment]
            http.requests.append(f"{self.command} {self.path}")
            header = self.headers.get("Authorization")
            if header:
                http.auth_seen.append(header)
            wanted = state.get("auth")
            if wanted and header != wanted:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(served),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(length),
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            done = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return GitHandler


@pytest.fixture
def http_git(upstream: Upstream) -> Iterator[Callable[..., HttpGit]]:
    """Start ``git http-backend`` over HTTP on 127.0.0.1; ``http_git(auth=("u", "token"))``."""
    started: list[HttpGit] = []

    def start(auth: tuple[str, str] | None = None) -> HttpGit:
        state: dict[str, object] = {}
        if auth:
            raw = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            state["auth"] = f"Basic {raw}"
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream.served, state))
        http = HttpGit(port=server.server_address[1], server=server)
        state["http"] = http
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(http)
        return http

    yield start
    for http in started:
        http.server.shutdown()
        http.server.server_close()


FAKE_SSH = """#!/bin/sh
# Stand-in for ssh: git calls `ssh [options] [user@]host command`; run the command locally in
# the served folder, so git's ssh transport really runs (upload-pack over the pipes).
for last; do :; done
echo "$@" >> "{log}"
cd "{served}" && exec sh -c "$last"
"""


@pytest.fixture
def fake_ssh(upstream: Upstream, tmp_path: Path) -> dict[str, str]:
    """Environment making git's ssh transport reach ``upstream.served`` without an ssh server."""
    script = tmp_path / "fake-ssh"
    log = tmp_path / "ssh.log"
    script.write_text(FAKE_SSH.replace("{served}", str(upstream.served)).replace("{log}", str(log)))
    script.chmod(0o755)
    return {"GIT_SSH_COMMAND": str(script), "GIT_SSH_VARIANT": "simple"}


def run_json(result: Result) -> dict[str, object]:
    """The JSON line the test project printed."""
    import json

    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def only_run(mlproj: Callable[..., Result]) -> dict:
    listed = mlproj("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = listed.json()
    assert len(runs) == 1, runs
    return runs[0]


def python() -> str:
    return sys.executable


def have_git() -> bool:
    return shutil.which("git") is not None
