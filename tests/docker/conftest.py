"""Docker tests talk to a real Docker API: Podman's service from tests/setup/podman.sh in CI.

The endpoint is DOCKER_HOST, or the socket tests/setup/podman.sh starts when DOCKER_HOST is not
set. Tests that need it are skipped when no Docker API answers, except in CI (CI=true), where a
missing Docker API or base image fails them: CI must run them for real.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

PODMAN_SOCKET = Path("/run/mlproj-podman.sock")
BUSYBOX = "localhost/mlproj-busybox:2"
PYTHON = "localhost/mlproj-python:bookworm"
SETUP = "bash tests/setup/podman.sh"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    message = f"{reason}; run `{SETUP}` (as root) and set DOCKER_HOST"
    if in_ci():
        pytest.fail(f"docker tests must run in CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_client():
    """A Docker SDK client on the tests' Docker API, with both base images present."""
    if not os.environ.get("DOCKER_HOST") and PODMAN_SOCKET.exists():
        os.environ["DOCKER_HOST"] = f"unix://{PODMAN_SOCKET}"
    import docker

    try:
        client = docker.from_env(version="1.41")
        client.ping()
    except Exception as exc:
        _unavailable(
            f"no Docker API at {os.environ.get('DOCKER_HOST', 'the default socket')} ({exc})"
        )
    for image in (BUSYBOX, PYTHON):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            _unavailable(f"the test image {image} is missing")
    return client


@pytest.fixture
def no_leftovers(docker_client, store_dir: Path) -> Iterator[None]:
    """Fails the test when a container of one of its runs is left behind (and removes it)."""
    yield
    runs = store_dir / "runs"
    run_ids = {p.name for p in runs.iterdir()} if runs.is_dir() else set()
    # The low-level listing: the high-level one inspects each container, which races with the
    # containers of tests running in parallel being removed.
    listed = docker_client.api.containers(all=True, filters={"label": "mlproj.run_id"})
    left = [c["Id"] for c in listed if (c.get("Labels") or {}).get("mlproj.run_id") in run_ids]
    for container_id in left:
        docker_client.api.remove_container(container_id, force=True)
    assert not left, f"containers left behind: {[c[:12] for c in left]}"
