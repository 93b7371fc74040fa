"""The image a Kubernetes Job runs: the project's own, or pushed to ``repository-uri`` first.

A cluster pulls images from a registry; it cannot see the images of the machine that submits.
Without ``repository-uri`` the Job names the ``docker_env`` image as it is (the cluster must be
able to pull it). With it, the local image (typically the one ``--build-image`` made, with the
project's code inside) is tagged ``<repository-uri>:<tag>`` and pushed through the Docker API,
and the Job names the pushed digest, so the pod runs exactly the bytes that were pushed.
"""

from __future__ import annotations

import re

from mlproj import dockerapi
from mlproj.errors import BackendError

_LOCAL_ID = re.compile(r"^(sha256:)?[0-9a-f]{12,64}$")
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def is_local_id(image: str) -> bool:
    """True for an image id (``sha256:...``): it exists on this machine only."""
    return bool(_LOCAL_ID.match(image))


def push_tag(image: str) -> str:
    """The tag the image gets under ``repository-uri``: its own tag, or its short id."""
    if is_local_id(image):
        return image.removeprefix("sha256:")[:12]
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def planned_image(image: str, repository_uri: str | None) -> str:
    """The reference the Job will name (before any push: ``--dry-run`` shows this).

    Raises:
        BackendError: ``image`` is a local id and there is no ``repository-uri`` to push it to.
    """
    if repository_uri is not None:
        return f"{repository_uri}:{push_tag(image)}"
    if is_local_id(image):
        raise BackendError(
            f"image {image[:19]} exists only on this machine (built with --build-image?); "
            'give "repository-uri" in --backend-config so it is pushed where the cluster pulls from'
        )
    return image


def push_image(image: str, repository_uri: str) -> str:
    """Tag ``image`` as ``repository_uri:<tag>`` and push it; returns ``repository_uri@digest``.

    Raises:
        EnvError: No Docker API answers.
        BackendError: The image is not on this machine, or the registry refused the push.
    """
    client = dockerapi.client()
    tag = push_tag(image)
    try:
        client.images.get(image).tag(repository_uri, tag=tag)
    except Exception as exc:  # docker.errors.ImageNotFound, APIError
        raise BackendError(
            f"cannot tag image {image} as {repository_uri}:{tag}: {dockerapi.short_error(exc)}"
        ) from None
    digest = None
    try:
        for event in client.api.push(repository_uri, tag=tag, stream=True, decode=True):
            if event.get("error") or event.get("errorDetail"):
                detail = event.get("error") or event["errorDetail"].get("message", "")
                raise BackendError(_push_failed(repository_uri, tag, str(detail)))
            digest = _digest(event) or digest
    except BackendError:
        raise
    except Exception as exc:  # connection errors while streaming
        raise BackendError(_push_failed(repository_uri, tag, dockerapi.short_error(exc))) from None
    return f"{repository_uri}@{digest}" if digest else f"{repository_uri}:{tag}"


def _digest(event: dict[str, object]) -> str | None:
    """The pushed manifest's digest: Docker sends it as ``aux``, Podman only in a status line."""
    aux = event.get("aux")
    if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
        return str(aux["Digest"])
    found = _DIGEST.search(str(event.get("status") or ""))
    return found.group(1) if found else None


def _push_failed(repository: str, tag: str, detail: str) -> str:
    line = " ".join(detail.split())[:300]
    return (
        f"pushing {repository}:{tag} failed: {line}; check the registry address and "
        "your login (`docker login`)"
    )
