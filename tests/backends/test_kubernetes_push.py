"""``repository-uri``: the image is pushed for real, to a real registry on 127.0.0.1.

The registry is Debian's ``docker-registry`` (tests/setup/registry.sh installs it), started
here with a throw-away TLS certificate that Podman trusts through
``/etc/containers/certs.d/127.0.0.1:PORT/ca.crt`` (read on every push, so the shared Podman
service needs no restart). The push goes through the Docker API (Podman's service), as for a
user; the Job is then created on the stub API server (no cluster runs here).
Skipped where the registry, root or the Docker API are missing, except in CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlproj.backends.kube_image import push_image
from mlproj.errors import BackendError
from tests.backends.kube_stub import StubApi, running_stub
from tests.backends.test_kubernetes_backend import backend
from tests.backends.test_kubernetes_render import submission

BUSYBOX = "localhost/mlproj-busybox:2"
PODMAN_SOCKET = Path("/run/mlproj-podman.sock")
CERTS_D = Path("/etc/containers/certs.d")
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)


def _unavailable(reason: str) -> None:
    message = f"{reason}; run `bash tests/setup/registry.sh` and `bash tests/setup/podman.sh`"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the push test must run in CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def docker_api() -> None:
    if not os.environ.get("DOCKER_HOST") and PODMAN_SOCKET.exists():
        os.environ["DOCKER_HOST"] = f"unix://{PODMAN_SOCKET}"
    import docker

    try:
        docker.from_env(version="1.41").images.get(BUSYBOX)
    except Exception as exc:
        _unavailable(f"no Docker API with {BUSYBOX} ({exc})")


@pytest.fixture
def stub_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubApi]:
    with running_stub(tmp_path) as (api, kubeconfig):
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        yield api


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def registry(docker_api, tmp_path_factory) -> Iterator[tuple[str, ssl.SSLContext]]:
    """``127.0.0.1:PORT`` of a running TLS registry, and an SSL context that trusts it."""
    if shutil.which("docker-registry") is None or shutil.which("openssl") is None:
        _unavailable("docker-registry or openssl is not installed")
    if os.geteuid() != 0:
        _unavailable("trusting the registry's certificate needs root (/etc/containers/certs.d)")
    folder = tmp_path_factory.mktemp("registry")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    (folder / "config.yml").write_text(
        f"version: 0.1\nlog: {{level: warn}}\n"
        f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}}}\n"
        f"http: {{addr: '{address}', tls: {{certificate: {folder / 'cert.pem'}, "
        f"key: {folder / 'key.pem'}}}}}\n"
    )
    trust = CERTS_D / address
    trust.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "cert.pem", trust / "ca.crt")
    context = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    with (folder / "registry.log").open("wb") as log:
        server = subprocess.Popen(
            ["docker-registry", "serve", str(folder / "config.yml")], stdout=log, stderr=log
        )
    try:
        _wait_until_up(address, context, server)
        yield address, context
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(trust, ignore_errors=True)


def _wait_until_up(address: str, context: ssl.SSLContext, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"https://{address}/v2/", context=context, timeout=2)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _registry_digest(address: str, context: ssl.SSLContext, repo: str, tag: str) -> str:
    request = urllib.request.Request(
        f"https://{address}/v2/{repo}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": MANIFEST_TYPES},
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return str(response.headers["Docker-Content-Digest"])


def test_push_names_the_digest_the_registry_holds(registry):
    address, context = registry
    pushed = push_image(BUSYBOX, f"{address}/team/busybox")
    repository, _, digest = pushed.partition("@")
    assert repository == f"{address}/team/busybox"
    assert digest == _registry_digest(address, context, "team/busybox", "2")


def test_submit_pushes_then_creates_the_job_with_the_pushed_digest(registry, stub_api):
    address, context = registry
    chosen = backend(**{"repository-uri": f"{address}/team/wine"})
    chosen.submit(submission(image=BUSYBOX))
    (created,) = stub_api.calls("POST", "/namespaces/ml/jobs")
    image = created.body["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{address}/team/wine@" + _registry_digest(address, context, "team/wine", "2")


def test_push_to_a_registry_that_is_down_is_one_line(docker_api):
    address = f"127.0.0.1:{_free_port()}"
    with pytest.raises(BackendError) as caught:
        push_image(BUSYBOX, f"{address}/team/busybox")
    message = caught.value.message
    assert message.startswith(f"pushing {address}/team/busybox:2 failed: ")
    assert message.endswith("check the registry address and your login (`docker login`)")
    assert "\n" not in message


def test_push_of_an_image_that_is_not_here(docker_api):
    with pytest.raises(BackendError, match=r"^cannot tag image localhost/no-such-image:1 as "):
        push_image("localhost/no-such-image:1", "127.0.0.1:1/team/x")
