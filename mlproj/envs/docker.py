"""``docker_env``: the entry point runs in a container of the project's image (Docker API).

This module owns everything about the image and what the container sees; starting, following
and stopping the container is the docker backend's job (``mlproj/backends/docker.py``), which
the runner hands a :class:`ContainerRun`.

What the container sees (README.md, "Docker projects"):

* the project at :data:`PROJECT_DIR`, its working directory: mounted read-only, or copied into
  a built image with ``--build-image``;
* the tracking store's folder at :data:`STORE_DIR`, read-write, with ``MLPROJ_*`` variables
  pointing there, so tracking from inside the container lands in the same run;
* ``docker_env.volumes`` and ``-A volume=...`` mounts, and ``path`` parameters: values inside
  the project, the store or a mounted folder are rewritten to their container path; other
  paths are mounted at the same path, so the program gets a path that exists;
* the uid:gid of the user running mlproj, unless ``--image-user``; files it writes to mounted
  folders are then the user's, not root's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlproj import dockerapi
from mlproj.envs.base import EnvDescription, OutputSink, Prepared
from mlproj.envs.dockerargs import (
    DockerArgs,
    Volume,
    parse_docker_args,
    parse_volume,
    resolve_environment,
)
from mlproj.errors import EnvError, ProjectError
from mlproj.spec.envmodel import DockerEnv
from mlproj.spec.model import EntryPoint, ParamType, Project
from mlproj.spec.params import ResolvedParams

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image

#: Where the project's code is in the container (its working directory).
PROJECT_DIR = "/mlproj/project"
#: Where the tracking store's folder is mounted in the container.
STORE_DIR = "/mlproj/store"
_RESERVED = ("/mlproj",)
_SQLITE = "sqlite:///"


@dataclass(frozen=True, slots=True)
class DockerOptions:
    """The docker options of ``mlproj run``; the runner adds where the caller and store are."""

    args: tuple[str, ...] = ()
    build_image: bool = False
    keep_container: bool = False
    image_user: bool = False
    caller_dir: Path = field(default_factory=Path.cwd)
    #: The tracking store's database file and run folders: mounted, never copied into an image.
    store_db: Path | None = None
    store_runs: Path | None = None
    #: False when the run goes to a backend whose own engine runs it (a cluster pulls the image
    #: itself): no local Docker API is needed unless an image is built here.
    check_engine: bool = True

    def given(self) -> list[str]:
        """The docker-only options that were given (for "not a docker project" errors)."""
        flags = [("-A/--docker-args", bool(self.args)), ("--build-image", self.build_image)]
        flags += [("--keep-container", self.keep_container), ("--image-user", self.image_user)]
        return [name for name, on in flags if on]


@dataclass(frozen=True, slots=True)
class ContainerRun:
    """What the docker backend runs: an image id, the argv, ``containers.create`` keywords."""

    image: str
    command: tuple[str, ...]
    options: dict[str, Any]
    keep: bool


@dataclass(frozen=True, slots=True)
class _Image:
    """The base image as pulled or found, and the image built on it, if any."""

    base_id: str
    digest: str | None = None
    built_tag: str | None = None
    built_id: str | None = None
    engine: str | None = None


def docker_environment(project: Project, options: DockerOptions) -> DockerEnvironment:
    """The docker environment of ``project``, checked, with the Docker API known to answer.

    Raises:
        EnvError: The project has no docker_env, an option or mount is wrong, a copied variable
            is not set, or no Docker API answers at ``DOCKER_HOST``.
        ProjectError: ``docker_env.volumes`` has a malformed entry.
    """
    if project.env.docker is None:
        raise EnvError(
            "--env-manager docker: the project declares no docker_env; add docker_env.image to "
            "its MLproject, or choose another --env-manager"
        )
    environment = DockerEnvironment(project, project.env.docker, options, os.environ)
    if options.check_engine or options.build_image:
        dockerapi.client()
    return environment


class DockerEnvironment:
    """A project's ``docker_env``: image resolution, pull, ``--build-image``, container config."""

    manager = "docker"

    def __init__(
        self, project: Project, docker: DockerEnv, options: DockerOptions, env: Mapping[str, str]
    ) -> None:
        self._project = project
        self._docker = docker
        self._options = options
        self._args: DockerArgs = parse_docker_args(
            options.args, caller_dir=options.caller_dir, host_env=env
        )
        self._variables = {**resolve_environment(docker.environment, env)}
        self._variables.update(self._args.environment)
        self._volumes = (*_project_volumes(project, docker), *self._args.volumes)
        _check_targets(self._volumes)
        self._store_dir = options.store_db.parent if options.store_db else None
        self._path_mounts: tuple[Volume, ...] = ()
        self._image: _Image | None = None

    def key(self) -> str | None:
        return self._docker.image

    def python(self) -> str:
        return "python"  # the image's own interpreter, first on the container's PATH

    def wrap(self, argv: Sequence[str]) -> list[str]:
        return list(argv)  # the argv runs as the container's command, not through a wrapper

    def variables(self) -> dict[str, str]:
        return {}  # container variables go through the API (see container_run), not the host

    def prepare(self, output: OutputSink) -> Prepared:
        """Find the image (pulling it when missing), then build the code image if asked.

        The image ids, digest and built tag are returned as details for the run record.
        """
        started = time.monotonic()
        client = dockerapi.client()
        base = _find_or_pull(client, self._docker.image, output)
        image = _Image(base_id=str(base.id), digest=_digest(base), engine=dockerapi.engine())
        created = False
        if self._options.build_image:
            image, created = self._build(client, image, output)
        self._image = image
        seconds = time.monotonic() - started
        return Prepared(created=created, seconds=seconds, details=_image_details(image))

    def _build(
        self, client: DockerClient, image: _Image, output: OutputSink
    ) -> tuple[_Image, bool]:
        # Imported here: hashing and tar writing are only needed with --build-image.
        from mlproj.envs.dockerbuild import build_image, collect_context, image_tag

        context = collect_context(
            self._project.directory,
            base=self._docker.image,
            target=PROJECT_DIR,
            never=self._never(),
        )
        tag = image_tag(self._project.name, context.digest(image.base_id))
        existing = _find(client, tag)
        if existing is not None:
            output(f"mlproj: reusing image {tag} ({existing.id}): the code has not changed\n")
            return replace(image, built_tag=tag, built_id=str(existing.id)), False
        output(f"mlproj: building image {tag} FROM {self._docker.image} with the project code\n")
        built_id = build_image(client, context, tag, output)
        return replace(image, built_tag=tag, built_id=built_id), True

    def _never(self) -> list[Path]:
        db, runs = self._options.store_db, self._options.store_runs
        if db is None:
            return []
        never = [db, *(Path(f"{db}{suffix}") for suffix in ("-wal", "-shm", "-journal"))]
        never += [runs] if runs else []
        if db.parent != self._project.directory:
            never.append(db.parent)
        return never

    def localize(self, entry: EntryPoint, params: ResolvedParams) -> ResolvedParams:
        """Rewrite ``path`` / local ``uri`` values to where the container sees them.

        Paths inside the project, the store or a mounted folder get their container path; other
        existing ``path`` values are mounted at the same path.

        Raises:
            EnvError: A path value is ``/`` (it cannot be mounted over the container's root).
        """
        values = dict(params.values)
        mounts: list[Volume] = []
        for name, value in params.values.items():
            declared = entry.parameter(name)
            if declared is None or declared.type not in (ParamType.PATH, ParamType.URI):
                continue
            if not value.startswith("/"):
                continue  # a URI with a scheme: passed through
            inside = self.container_path(value)
            if inside is not None:
                values[name] = inside
            elif declared.type is ParamType.PATH:
                mounts.append(_same_path_mount(name, value))
        self._path_mounts = tuple(mounts)
        return replace(params, values=values)

    def container_path(self, host_path: str) -> str | None:
        """The container path of a host path under the store, a bind mount or the project."""
        path = os.path.abspath(host_path)
        roots = [(str(self._project.directory), PROJECT_DIR)]
        roots += [(v.source, v.target) for v in self._volumes if v.is_bind]
        if self._store_dir is not None:
            roots.append((str(self._store_dir), STORE_DIR))
        for host, inside in sorted(roots, key=lambda pair: len(pair[0]), reverse=True):
            if path == host or path.startswith(host.rstrip("/") + "/"):
                return inside + path[len(host.rstrip("/")) :]
        return None

    def container_run(self, argv: Sequence[str], variables: Mapping[str, str]) -> ContainerRun:
        """The container that runs ``argv`` with the run's ``MLPROJ_*`` ``variables``.

        Values of ``variables`` that are store paths (plain, ``file://`` or ``sqlite:///``) are
        rewritten to the container's paths. Call after :meth:`prepare`.
        """
        if self._image is None:
            raise EnvError("the docker image was not prepared before the run")  # runner bug
        environment = {"PYTHONUNBUFFERED": "1", **self._variables}
        environment.update({key: self._inside(value) for key, value in variables.items()})
        options: dict[str, Any] = {
            "working_dir": PROJECT_DIR,
            "environment": environment,
            "volumes": [volume.spec() for volume in self._mounts()],
            # An init process as PID 1 forwards Ctrl-C/SIGTERM to the entry point (a PID 1
            # ignores them) and reaps orphans, as a local process group would behave.
            "init": True,
        }
        if not self._options.image_user:
            options["user"] = f"{os.getuid()}:{os.getgid()}"
        options.update(self._args.options)
        if _is_other_user(options.get("user")):
            # A uid the image does not know gets HOME=/, which it cannot write (pip, caches).
            environment.setdefault("HOME", "/tmp")  # noqa: S108 - inside the container
        image = self._image.built_id or self._image.base_id
        return ContainerRun(image, tuple(argv), options, self._options.keep_container)

    def host_endpoint(self) -> tuple[str, str, tuple[str, str] | None] | str:
        """Where a server on the host can listen so the container reaches it (the MLflow bridge).

        Returns ``(listen address, address the container uses, (store path on the host, in the
        container))``, or why there is none (a container without network).
        """
        network = str(self._args.options.get("network_mode") or "")
        view = (str(self._store_dir), STORE_DIR) if self._store_dir is not None else None
        if network == "host":
            return "127.0.0.1", "127.0.0.1", view  # the container shares the host's loopback
        if network == "none" or network.startswith("container:"):
            return f"the container runs with network '{network}', so it cannot reach the host"
        gateway = _gateway(network or _default_network())
        if gateway is None:
            return f"no gateway address found for the container's network '{network or 'default'}'"
        return gateway, gateway, view

    def _inside(self, value: str) -> str:
        prefix = next((p for p in (_SQLITE, "file://") if value.startswith(p)), "")
        rest = value[len(prefix) :]
        if not rest.startswith("/") or self._store_dir is None:
            return value
        store = str(self._store_dir)
        if rest == store or rest.startswith(store.rstrip("/") + "/"):
            return prefix + STORE_DIR + rest[len(store.rstrip("/")) :]
        return value

    def _mounts(self) -> list[Volume]:
        mounts = list(self._volumes)
        if not self._options.build_image:
            mounts.append(Volume(str(self._project.directory), PROJECT_DIR, "ro"))
        if self._store_dir is not None:
            mounts.append(Volume(str(self._store_dir), STORE_DIR, "rw"))
        return mounts + list(self._path_mounts)

    def describe(self) -> EnvDescription:
        details = {"image": self._docker.image}
        if self._image is not None:
            details.update(_image_details(self._image))
        details["project_path"] = PROJECT_DIR + (
            " (copied into the image)" if self._options.build_image else " (read-only mount)"
        )
        user = self._args.options.get("user")
        default = "image's user" if self._options.image_user else f"{os.getuid()}:{os.getgid()}"
        details["user"] = str(user or default)
        details["docker_host"] = dockerapi.endpoint()
        extra = {
            "volumes": " ".join(volume.spec() for volume in self._volumes),
            "environment": " ".join(sorted(self._variables)),  # names only, never values
            "docker_args": " ".join(self._args.recorded),
            "keep_container": "true" if self._options.keep_container else "",
        }
        details.update({key: value for key, value in extra.items() if value})
        return EnvDescription(manager=self.manager, key=self.key(), details=details)


def _default_network() -> str:
    """The network a container joins when none is given: Podman's "podman", Docker's "bridge"."""
    return "podman" if "libpod" in dockerapi.engine().lower() else "bridge"


def _gateway(network: str) -> str | None:
    """The host's address on ``network`` (its IPv4 gateway), or None when it has none."""
    try:
        attrs = dockerapi.client().networks.get(network).attrs
    except Exception:  # any API failure means "no address": the bridge is optional
        return None
    for config in (attrs.get("IPAM") or {}).get("Config") or []:
        gateway = config.get("Gateway") or ""
        if gateway and ":" not in gateway:  # IPv4: what the container's default route uses
            return str(gateway)
    return None


def _project_volumes(project: Project, docker: DockerEnv) -> list[Volume]:
    where = "MLproject docker_env.volumes"
    return [
        parse_volume(text, base=project.directory, where=f"{where}[{index}]", error=ProjectError)
        for index, text in enumerate(docker.volumes)
    ]


def _check_targets(volumes: Sequence[Volume]) -> None:
    for volume in volumes:
        target = volume.target.rstrip("/") or "/"
        if target == "/" or any(target == r or target.startswith(r + "/") for r in _RESERVED):
            raise EnvError(
                f"volume '{volume.spec()}': the container path {volume.target} is reserved "
                f"(mlproj mounts the project at {PROJECT_DIR} and the store at {STORE_DIR}); "
                "mount it elsewhere"
            )


def _is_other_user(user: object) -> bool:
    """True for a user set by mlproj or -A that is not root (the image may not know it)."""
    return isinstance(user, str) and user.split(":")[0] not in ("0", "root")


def _same_path_mount(name: str, value: str) -> Volume:
    if os.path.abspath(value) == "/":
        raise EnvError(
            f"parameter '{name}': the path / cannot be mounted into the container; "
            "give a folder or file below it"
        )
    return Volume(value, value, "rw")


def _find(client: DockerClient, ref: str) -> Image | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(ref)
    except ImageNotFound:
        return None
    except Exception as exc:  # docker.errors.APIError (bad reference), connection errors
        raise EnvError(f"image '{ref}': {dockerapi.short_error(exc)}") from None


def _find_or_pull(client: DockerClient, ref: str, output: OutputSink) -> Image:
    found = _find(client, ref)
    if found is not None:
        return found
    output(f"mlproj: image {ref} is not on the Docker host; pulling it\n")
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(ref)
    try:
        for event in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if isinstance(event, dict) and "error" in event:
                raise RuntimeError(" ".join(str(event["error"]).split()))
            _show_pull(event, output)
        pulled = _find(client, ref)
    except Exception as exc:  # docker.errors.*, connection errors, the stream's error event
        raise EnvError(_pull_failed(ref, dockerapi.short_error(exc))) from None
    if pulled is None:
        raise EnvError(_pull_failed(ref, "the pull ended without the image"))
    return pulled


def _pull_failed(ref: str, reason: str) -> str:
    return (
        f"image '{ref}' is not on the Docker host at {dockerapi.endpoint()} and could not be "
        f"pulled ({reason}); build or load it there (docker build, docker load, podman import) "
        "or fix docker_env.image"
    )


def _show_pull(event: object, output: OutputSink) -> None:
    if not isinstance(event, dict) or ("progressDetail" in event and event.get("progress")):
        return  # per-chunk progress bars: too many lines for a log
    words = [str(event.get(key)) for key in ("id", "status") if event.get(key)]
    if words:
        output(" ".join(words) + "\n")


def _digest(image: Image) -> str | None:
    digests = image.attrs.get("RepoDigests") or []
    return str(digests[0]) if digests else None


def _image_details(image: _Image) -> dict[str, str]:
    details = {
        "image_id": image.base_id,
        "image_digest": image.digest,
        "built_image": image.built_tag,
        "built_image_id": image.built_id,
        "engine": image.engine,
    }
    return {key: value for key, value in details.items() if value}
