"""``--build-image``: an image ``FROM`` the docker_env image with the project's code copied in.

The build context is the project folder less what its ``.dockerignore`` excludes (Docker's own
pattern rules, from the SDK), less every ``.git`` folder and the tracking store, which are never
copied whatever ``.dockerignore`` says. The image is tagged by a content hash of the base image id,
the generated Dockerfile and every file of the context (path, kind, executable bit, content), so
an unchanged project reuses its image and any change builds a new one.

Copied files are made readable by everyone (executable bits kept): the container runs as the
invoking user's uid by default, not as the root that owns the copies.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlproj.dockerapi import short_error
from mlproj.envs.base import OutputSink
from mlproj.errors import EnvError

if TYPE_CHECKING:
    from docker import DockerClient

#: The Dockerfile mlproj generates; it is sent with the context and never copied into the image.
DOCKERFILE_NAME = ".mlproj.Dockerfile"
_DOCKERFILE = "FROM {base}\nCOPY . {target}\nWORKDIR {target}\n"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BuildContext:
    """The files of a build context: paths relative to ``root``, sorted, as POSIX strings."""

    root: Path
    paths: tuple[str, ...]
    dockerfile: str

    def digest(self, base_image_id: str) -> str:
        """Content hash of the base image, the Dockerfile and every path of the context."""
        hasher = hashlib.sha256()
        hasher.update(f"{base_image_id}\0{self.dockerfile}\0".encode())
        for rel in self.paths:
            hasher.update(f"{rel}\0{_entry_digest(self.root / rel)}\0".encode())
        return hasher.hexdigest()


def _entry_digest(path: Path) -> str:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return f"link:{os.readlink(path)}"
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    executable = "x" if info.st_mode & 0o111 else "-"
    return f"file:{executable}:{hasher.hexdigest()}"


def collect_context(root: Path, *, base: str, target: str, never: Sequence[Path]) -> BuildContext:
    """The context of ``root`` for an image ``FROM base`` with the code at ``target``.

    Args:
        root: The project folder.
        base: The base image reference for the ``FROM`` line.
        target: Where the code goes in the image (also the working directory).
        never: Absolute paths never to copy (the tracking store's folder or files).
    """
    from docker.utils.build import exclude_paths

    patterns = _dockerignore(root)
    patterns += [".git", "**/.git", ".dockerignore"]
    for path in never:
        if path.is_relative_to(root) and path != root:
            patterns.append(path.relative_to(root).as_posix())
    kept = exclude_paths(str(root), patterns, dockerfile=DOCKERFILE_NAME)
    paths = sorted(
        Path(rel).as_posix() for rel in kept if rel not in (".dockerignore", DOCKERFILE_NAME)
    )
    dockerfile = _DOCKERFILE.format(base=base, target=target)
    return BuildContext(root, tuple(paths), dockerfile)


def _dockerignore(root: Path) -> list[str]:
    try:
        lines = (root / ".dockerignore").read_text().splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvError(f"{root / '.dockerignore'}: cannot be read ({exc})") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def image_tag(project_name: str, digest: str) -> str:
    """``mlproj-<project>:<first 16 hex digits of the content hash>``."""
    name = re.sub(r"[^a-z0-9._-]+", "-", project_name.lower()).strip(".-_") or "project"
    return f"mlproj-{name[:60]}:{digest[:16]}"


def _tar_context(context: BuildContext) -> IO[bytes]:
    """The context as an uncompressed tar, with mlproj's Dockerfile and .dockerignore added."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=64 * _CHUNK)  # noqa: SIM115 - returned
    with tarfile.open(fileobj=spool, mode="w") as tar:
        for rel in context.paths:
            info = tar.gettarinfo(str(context.root / rel), arcname=rel)
            _readable(info)
            if info.isfile():
                with (context.root / rel).open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
        ignore = f"{DOCKERFILE_NAME}\n.dockerignore\n"
        for name, text in ((DOCKERFILE_NAME, context.dockerfile), (".dockerignore", ignore)):
            data = text.encode()
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(data), 0o644
            tar.addfile(member, io.BytesIO(data))
    spool.seek(0)
    return spool


def _readable(info: tarfile.TarInfo) -> None:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isdir():
        info.mode = 0o755
    elif info.isfile():
        info.mode = 0o755 if info.mode & 0o111 else 0o644


def build_image(client: DockerClient, context: BuildContext, tag: str, output: OutputSink) -> str:
    """Build ``context`` as ``tag``, streaming the builder's output; returns the image id.

    Raises:
        EnvError: The build failed (the builder's message is in the error).
    """
    with _tar_context(context) as tar:
        try:
            events = client.api.build(
                fileobj=tar,
                custom_context=True,
                dockerfile=DOCKERFILE_NAME,
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
            )
            for event in _events(events):
                _show(event, output, tag)
            return str(client.images.get(tag).id)
        except EnvError:
            raise
        except Exception as exc:  # docker.errors.* and connection errors of the SDK
            raise EnvError(f"building image {tag} failed: {short_error(exc)}") from None


def _events(stream: Any) -> Iterator[dict[str, Any]]:
    for event in stream:
        if isinstance(event, dict):
            yield event


def _show(event: dict[str, Any], output: OutputSink, tag: str) -> None:
    if "error" in event:
        message = " ".join(str(event["error"]).split())
        raise EnvError(f"building image {tag} failed: {message}")
    text = event.get("stream")
    if isinstance(text, str) and text:
        output(text)
