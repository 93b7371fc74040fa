"""Environments: what isolation a project declares, and how to build, cache and enter it.

:func:`select_environment` picks the kind from ``--env-manager`` or, when it is not given, from
what the project declares (MLflow's precedence: docker_env, python_env, conda, else local).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mlproj.envs.base import EnvDescription, Environment, OutputSink, Prepared
from mlproj.errors import EnvError, UsageError
from mlproj.spec.model import EnvKind, Project

if TYPE_CHECKING:
    from mlproj.envs.docker import DockerOptions

#: Every manager name `--env-manager` accepts.
MANAGERS = ("local", "virtualenv", "uv", "conda", "docker")

_DEFAULT_FOR_KIND = {
    EnvKind.DOCKER: "docker",
    EnvKind.PYTHON_ENV: "virtualenv",
    EnvKind.CONDA: "conda",
    EnvKind.NONE: "local",
}

__all__ = [
    "MANAGERS",
    "EnvDescription",
    "Environment",
    "OutputSink",
    "Prepared",
    "default_manager",
    "select_environment",
]


def default_manager(project: Project) -> str:
    """The manager used when ``--env-manager`` is not given."""
    return _DEFAULT_FOR_KIND[project.env.kind]


def select_environment(
    project: Project,
    manager: str | None,
    *,
    docker: DockerOptions | None = None,
    pinned: Sequence[str] | None = None,
) -> Environment:
    """The environment that runs ``project`` under ``manager`` (or the project's default).

    ``docker`` carries the docker-only options of ``mlproj run``; giving any of them for another
    manager is an error, not an option silently ignored. ``pinned`` (an installed set, as
    ``pip freeze`` prints it) makes a virtualenv or uv environment install exactly that instead
    of the project's requirements; other managers do not use it.
    """
    chosen = manager or default_manager(project)
    if chosen not in MANAGERS:
        raise UsageError(
            f"--env-manager: unknown manager '{chosen}' (expected one of {', '.join(MANAGERS)})"
        )
    if chosen == "docker":
        from mlproj.envs.docker import DockerOptions, docker_environment

        return docker_environment(project, docker or DockerOptions())
    if docker is not None and docker.given():
        raise UsageError(
            f"{', '.join(docker.given())}: docker options, but this run uses env manager "
            f"'{chosen}'; drop them or run a docker_env project"
        )
    if chosen == "local":
        from mlproj.envs.local import LocalEnvironment

        return LocalEnvironment()
    if chosen in ("virtualenv", "uv"):
        from mlproj.envs.venv import PythonEnvironment

        return PythonEnvironment(project, chosen, pinned=pinned)
    if chosen == "conda":
        from mlproj.envs.conda import CondaEnvironment

        return CondaEnvironment(project)
    declared = f" (the project declares {project.env.kind.value})" if manager is None else ""
    raise EnvError(
        f"env manager '{chosen}'{declared} is not available yet in this version of mlproj; "
        "run with --env-manager local to use the current environment"
    )
