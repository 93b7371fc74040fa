"""The one place mlproj connects to a Docker Engine API (Docker Engine, or Podman's service).

Like :mod:`mlproj.process` for child processes, this module is the gateway that both
``envs/docker.py`` (images: pull, build) and ``backends/docker.py`` (containers: run, stop)
go through. The endpoint comes from ``DOCKER_HOST`` (and ``DOCKER_TLS_VERIFY`` /
``DOCKER_CERT_PATH``) exactly as for the ``docker`` CLI; nothing here depends on Podman.

The ``docker`` SDK is imported only when a client is asked for, so commands that do not run a
docker project never load it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlproj.errors import EnvError

if TYPE_CHECKING:
    from docker import DockerClient

#: Where the SDK looks when ``DOCKER_HOST`` is not set.
DEFAULT_HOST = "unix:///var/run/docker.sock"
#: Any version both old and new engines accept for /_ping (it is not versioned).
_PROBE_VERSION = "1.41"


def endpoint() -> str:
    """The Docker API endpoint mlproj talks to, for messages and the run record."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def short_error(exc: BaseException) -> str:
    """One line from a Docker SDK or connection error (the API's explanation when it has one)."""
    text = str(getattr(exc, "explanation", None) or exc)
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


@dataclass(frozen=True, slots=True)
class _Connection:
    """The client of this process and the server it talks to."""

    client: DockerClient
    server: str


def client() -> DockerClient:
    """A client for the Docker API of :func:`endpoint`, checked with a ping (one per process).

    Raises:
        EnvError: The SDK is not installed, or no Docker API answers at the endpoint.
    """
    return _connect().client


def engine() -> str:
    """The engine's ``Server`` header (``Docker/27.3.1 (linux)``, ``Libpod/4.3.1 (linux)``)."""
    return _connect().server


@functools.lru_cache(maxsize=1)
def _connect() -> _Connection:
    try:
        import docker
    except ImportError:  # pragma: no cover - a declared dependency, absent only when broken
        raise EnvError(
            "docker projects need the 'docker' Python package; install it with "
            "`python3 -m pip install docker`"
        ) from None
    # The API version comes from the ping's API-Version header: the SDK's own negotiation
    # calls /version, which takes about 0.5 s on Podman.
    explicit = os.environ.get("DOCKER_API_VERSION")
    try:
        probe = docker.from_env(version=explicit or _PROBE_VERSION)
        response = probe.api.get(probe.api.base_url + "/_ping")
        response.raise_for_status()
    except Exception as exc:  # DockerException, and requests/urllib3 errors the SDK lets through
        raise EnvError(_unreachable(exc)) from None
    version = explicit or response.headers.get("API-Version") or _PROBE_VERSION
    found = probe if version == (explicit or _PROBE_VERSION) else docker.from_env(version=version)
    return _Connection(found, response.headers.get("Server", "unknown engine"))


def _unreachable(exc: BaseException) -> str:
    return (
        f"no Docker API answers at {endpoint()} ({_root_cause(exc)}); start Docker Engine, or "
        "Podman's service (`podman system service --time=0 unix:///run/podman.sock &`), and "
        "point DOCKER_HOST at it"
    )


def _root_cause(exc: BaseException, depth: int = 0) -> str:
    """The innermost OS error of a connection failure (`Connection refused`), else one line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    inner = [arg for arg in exc.args if isinstance(arg, BaseException)]
    inner += [e for e in (exc.__cause__, exc.__context__) if e is not None]
    for candidate in inner if depth < 8 else []:
        found = _root_cause(candidate, depth + 1)
        if found != short_error(candidate):
            return found
    for attr in ("reason",):  # urllib3's MaxRetryError keeps the cause in .reason
        nested = getattr(exc, attr, None)
        if isinstance(nested, BaseException) and depth < 8:
            return _root_cause(nested, depth + 1)
    return short_error(exc)
