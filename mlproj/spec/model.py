"""The MLproject model: frozen dataclasses produced by :mod:`mlproj.spec.load`.

Nothing here reads files or runs anything; the model is what every other layer consumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class ParamType(str, Enum):
    """Parameter types of the MLproject format (`bool` is an mlproj extension MLflow tolerates)."""

    STRING = "string"
    FLOAT = "float"
    INT = "int"
    PATH = "path"
    URI = "uri"
    BOOL = "bool"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One declared entry-point parameter. ``default is None`` means required."""

    name: str
    type: ParamType = ParamType.STRING
    default: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """A named command template with its declared parameters (in declaration order)."""

    name: str
    command: str
    parameters: tuple[Parameter, ...] = ()
    #: True for an undeclared entry point given as a file (`-e train.py`, `-e run.sh`).
    is_file: bool = False

    def parameter(self, name: str) -> Parameter | None:
        for param in self.parameters:
            if param.name == name:
                return param
        return None


class EnvKind(str, Enum):
    """What isolation a project declares (by MLflow's precedence)."""

    DOCKER = "docker"
    PYTHON_ENV = "python_env"
    CONDA = "conda"
    NONE = "none"  # nothing declared: the project's requirements or the current interpreter


@dataclass(frozen=True, slots=True)
class DockerEnv:
    """`docker_env`: image plus volumes and environment (``value is None`` copies the host's)."""

    image: str
    volumes: tuple[str, ...] = ()
    environment: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """The environment a project declares.

    ``file`` is the absolute path of the python_env or conda YAML (declared or found by
    convention); ``docker`` is set for ``EnvKind.DOCKER``.
    """

    kind: EnvKind
    file: Path | None = None
    docker: DockerEnv | None = None


@dataclass(frozen=True, slots=True)
class Project:
    """A loaded, validated project.

    ``spec_file`` is None for a convention project (no MLproject file): it then has no declared
    entry points and runs files given with ``-e``.
    """

    name: str
    directory: Path
    spec_file: Path | None
    env: EnvSpec
    entry_points: dict[str, EntryPoint] = field(default_factory=dict)

    def entry_point(self, name: str) -> EntryPoint | None:
        return self.entry_points.get(name)


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
