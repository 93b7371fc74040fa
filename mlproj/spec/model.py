"""The MLproject model: frozen dataclasses produced by :mod:`mlproj.spec.load`.

Nothing here reads files or runs anything; the model is what every other layer consumes. What a
declared environment holds (``docker_env``, ``python_env.yaml``, a conda YAML) is in
:mod:`mlproj.spec.envmodel`, loaded only by projects that declare one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlproj.spec.envmodel import DockerEnv


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
