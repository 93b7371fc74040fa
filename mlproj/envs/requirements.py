"""What a Python environment must contain, from python_env.yaml, a conda YAML or requirements.txt.

A conda YAML used with the virtualenv or uv manager is converted: its python pin and its
``pip:`` section are used, and every other conda package is listed in ``dropped`` so the user is
told, never left to find out.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from mlproj.errors import EnvError
from mlproj.spec.envfiles import load_conda_env, load_python_env
from mlproj.spec.model import EnvKind, Project

#: Conda packages a virtualenv provides by itself: not reported as dropped.
_PROVIDED = frozenset({"python", "pip", "setuptools", "wheel"})
_FILE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
_EDITABLE_OPTIONS = ("-e", "--editable")


@dataclass(frozen=True, slots=True)
class PythonRequirements:
    """The python version request and requirement lines of a Python environment.

    ``file`` is the env file they come from (None for a plain ``requirements.txt`` project or
    none at all); relative paths in the lines resolve against ``base_dir`` (the project folder,
    where MLflow runs pip too).
    """

    base_dir: Path
    file: Path | None
    python: str | None
    build_dependencies: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """The file the python pin comes from, as shown in messages."""
        return self.file.name if self.file else "the project"


def python_requirements(project: Project, manager: str) -> PythonRequirements:
    """Read what a project's Python environment needs (the files were validated when loading).

    Raises:
        EnvError: The project declares docker_env, which a Python environment cannot honour.
    """
    env = project.env
    base = project.directory
    if env.kind is EnvKind.PYTHON_ENV and env.file is not None:
        spec = load_python_env(env.file)
        return PythonRequirements(
            base, env.file, spec.python, spec.build_dependencies, spec.dependencies
        )
    if env.kind is EnvKind.CONDA and env.file is not None:
        conda = load_conda_env(env.file)
        dropped = tuple(d for d in conda.dependencies if _conda_name(d) not in _PROVIDED)
        python = conda.python.lstrip() if conda.python else None
        return PythonRequirements(base, env.file, python, (), conda.pip, dropped)
    if env.kind is EnvKind.DOCKER:
        raise EnvError(
            f"--env-manager {manager}: the project declares docker_env; run it with "
            "--env-manager docker (or local to ignore the image)"
        )
    requirements = base / "requirements.txt"
    deps = ("-r requirements.txt",) if requirements.is_file() else ()
    return PythonRequirements(base, None, None, (), deps)


def _conda_name(spec: str) -> str:
    for stop in "=<>!~ [":
        spec = spec.split(stop, maxsplit=1)[0]
    return spec.split("::")[-1].strip().lower()


def install_args(lines: tuple[str, ...]) -> list[str]:
    """Requirement lines as installer arguments: option lines split, requirements kept whole.

    ``-r requirements.txt`` becomes two arguments so pip and uv read the file relative to the
    working directory (the project); ``pkg>=1; python_version > "3"`` stays one argument.
    """
    args: list[str] = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        args.extend(shlex.split(text) if text.startswith("-") else [text])
    return args


def referenced_paths(lines: tuple[str, ...], base_dir: Path) -> list[tuple[str, Path]]:
    """Local files and folders the lines name: (``"file"``/``"editable"``/``"path"``, path).

    Requirement files (``-r``/``-c``) are followed recursively, their own relative references
    resolving against their folder as pip does.

    Raises:
        EnvError: A referenced requirement file does not exist.
    """
    found: list[tuple[str, Path]] = []
    _collect(lines, base_dir, found, depth=0)
    return found


def _collect(lines: tuple[str, ...], base: Path, found: list[tuple[str, Path]], depth: int) -> None:
    for line in lines:
        text = line.split(" #")[0].strip()
        if not text or text.startswith("#"):
            continue
        try:
            words = shlex.split(text) if text.startswith("-") else [text]
        except ValueError:
            continue  # unbalanced quotes: the installer will report the line
        option, value = _option(words)
        if option in _FILE_OPTIONS and value:
            path = (base / value).resolve()
            if ("file", path) in found:
                continue
            if not path.is_file():
                raise EnvError(
                    f"requirement file {value!r} ({path}) does not exist; "
                    "fix the -r/-c line or add the file"
                )
            found.append(("file", path))
            if depth < 10:
                nested = tuple(path.read_text(errors="replace").splitlines())
                _collect(nested, path.parent, found, depth + 1)
        elif option in _EDITABLE_OPTIONS and value and _is_local(value):
            found.append(("editable", _local(value, base)))
        elif option is None and _is_local(value):
            found.append(("path", _local(value, base)))


def _option(words: list[str]) -> tuple[str | None, str]:
    first = words[0]
    if first.startswith("-"):
        if "=" in first:
            option, _, value = first.partition("=")
            return option, value
        return first, words[1] if len(words) > 1 else ""
    return None, first


def _is_local(value: str) -> bool:
    target = value.split(" @ ", 1)[-1].strip()
    return target.startswith((".", "/", "~", "file:"))


def _local(value: str, base: Path) -> Path:
    target = value.split(" @ ", 1)[-1].strip().split(";")[0].strip()
    target = target.removeprefix("file://").removeprefix("file:").split("[")[0]
    return (base / Path(target).expanduser()).resolve()
