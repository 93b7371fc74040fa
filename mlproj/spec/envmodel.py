"""What a declared environment holds: ``docker_env``, a ``python_env.yaml``, a conda YAML.

Apart from :mod:`mlproj.spec.model` because only projects that declare an environment need
these records: a project that declares none never loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class DockerEnv:
    """`docker_env`: image plus volumes and environment (``value is None`` copies the host's)."""

    image: str
    volumes: tuple[str, ...] = ()
    environment: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class PythonEnv:
    """A parsed `python_env.yaml`."""

    file: Path
    python: str | None
    build_dependencies: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CondaEnv:
    """A parsed conda environment YAML.

    ``dependencies`` are the conda specs; ``pip`` the requirement lines of the `pip:` section.
    """

    file: Path
    name: str | None
    channels: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()

    @property
    def python(self) -> str | None:
        """The python pin (`python=3.11`, `python>=3.10`...) as written after the name, if any."""
        for dep in self.dependencies:
            name = dep.split("=")[0].split("<")[0].split(">")[0].split("!")[0].strip()
            if name == "python":
                return dep[len("python") :].strip() or None
        return None
