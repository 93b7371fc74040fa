"""Loading a project directory: finding the MLproject, validating it, choosing the environment.

:func:`check_project` collects every problem of the project (MLproject and the environment file
it uses) so ``mlproj validate`` can show them all at once; :func:`load_project` raises them as
one error. A folder without an MLproject is a "convention project": named after the folder,
without declared entry points (files run with ``-e train.py``), environment found by convention.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.errors import ProjectError
from mlproj.spec.envfiles import parse_conda_env, parse_python_env
from mlproj.spec.model import EnvKind, EnvSpec, Project
from mlproj.spec.parse import DeclaredEnv, ParsedSpec, parse_mlproject
from mlproj.spec.wording import did_you_mean
from mlproj.spec.yamlnodes import Collector, compose_file

if TYPE_CHECKING:  # built only when a project has a problem
    from mlproj.spec.problems import Problem

#: Accepted names of the MLproject file, compared case-insensitively (MLflow accepts the first).
SPEC_FILE_NAMES = ("mlproject", "mlproject.yaml", "mlproject.yml")
#: Environment files found by convention when the MLproject declares none, in MLflow's order.
CONVENTION_ENV_FILES = (
    ("python_env.yaml", EnvKind.PYTHON_ENV),
    ("conda.yaml", EnvKind.CONDA),
    ("conda.yml", EnvKind.CONDA),
)
EMPTY_SPEC = "the file is empty; add a name and entry_points (see README)"


def find_spec_file(directory: Path) -> Path | None:
    """Return the project's MLproject file, or None for a convention project.

    Raises:
        ProjectError: The directory does not exist, or holds more than one candidate
            (``MLproject`` and ``MLproject.yaml``, or two spellings on a case-sensitive disk).
    """
    root = _project_root(directory)
    candidates = _spec_candidates(root)
    if len(candidates) > 1:
        from mlproj.spec.problems import problems_error

        raise problems_error([_ambiguity(root, candidates)])
    return candidates[0] if candidates else None


def check_project(directory: Path) -> tuple[Project | None, list[Problem]]:
    """Validate a project directory and return the project with every problem found.

    The project is None exactly when there are problems. Never raises for the project's
    content; only a missing directory is an error.

    Raises:
        ProjectError: ``directory`` does not exist or is not a directory.
    """
    root = _project_root(directory)
    candidates = _spec_candidates(root)
    if len(candidates) > 1:
        return None, [_ambiguity(root, candidates)]
    spec_file = candidates[0] if candidates else None
    problems: list[Problem] = []
    parsed: ParsedSpec | None = None
    if spec_file is not None:
        col = Collector(spec_file, root)
        node = compose_file(col, EMPTY_SPEC)
        parsed = None if node is None else parse_mlproject(col, node)
        problems.extend(col.problems)
        if parsed is None:  # unreadable: which environment it declares is unknown
            return None, problems
    env = _choose_env(root, spec_file, parsed, problems)
    problems.sort(key=lambda problem: problem.line or 0)  # in file order; sort() is stable
    if env is not None and env.file is not None:
        problems.extend(_env_file_problems(root, env))
    if problems or env is None:
        return None, problems
    project = Project(
        name=(parsed.name if parsed else None) or root.name,
        directory=root,
        spec_file=spec_file,
        env=env,
        entry_points=dict(parsed.entry_points) if parsed else {},
    )
    return project, []


def load_project(directory: Path) -> Project:
    """Load and validate a project directory.

    Raises:
        ProjectError: The directory is missing, or the project has problems (all of them are
            in the error's details).
    """
    project, problems = check_project(directory)
    if problems:
        from mlproj.spec.problems import problems_error

        raise problems_error(problems)
    assert project is not None  # check_project returns one when no problems
    return project


def _project_root(directory: Path) -> Path:
    if not directory.exists():
        raise ProjectError(f"project directory {directory} does not exist")
    if not directory.is_dir():
        raise ProjectError(f"project directory {directory} is not a directory")
    return directory.resolve()


def _spec_candidates(root: Path) -> list[Path]:
    return sorted(
        path for path in root.iterdir() if path.name.lower() in SPEC_FILE_NAMES and path.is_file()
    )


def _ambiguity(root: Path, candidates: list[Path]) -> Problem:
    from mlproj.spec.problems import Problem

    names = ", ".join(path.name for path in candidates)
    message = f"more than one MLproject file ({names}); keep one"
    return Problem(candidates[0], None, "", message, root)


def _choose_env(
    root: Path, spec_file: Path | None, parsed: ParsedSpec | None, problems: list[Problem]
) -> EnvSpec | None:
    """Apply MLflow's precedence: the declared key, then python_env.yaml, then conda.yaml."""
    declared = parsed.env if parsed else None
    if declared is not None:
        if declared.kind is EnvKind.DOCKER:
            return EnvSpec(EnvKind.DOCKER, docker=declared.docker)
        assert spec_file is not None  # a declared env comes from an MLproject
        file = _declared_env_file(root, spec_file, declared, problems)
        return None if file is None else EnvSpec(declared.kind, file=file)
    for name, kind in CONVENTION_ENV_FILES:
        if (root / name).is_file():
            return EnvSpec(kind, file=root / name)
    return EnvSpec(EnvKind.NONE)


def _declared_env_file(
    root: Path, spec_file: Path, declared: DeclaredEnv, problems: list[Problem]
) -> Path | None:
    """Resolve a declared python_env/conda_env path; it must exist inside the project."""
    assert declared.file is not None  # set for python_env and conda_env
    key = "python_env" if declared.kind is EnvKind.PYTHON_ENV else "conda_env"

    def problem(message: str) -> None:
        from mlproj.spec.problems import Problem

        problems.append(Problem(spec_file, declared.line, key, message, root))

    target = (root / declared.file).resolve()
    if not target.is_relative_to(root):
        problem(f"{declared.file!r} is outside the project directory; keep env files inside it")
        return None
    if not target.is_file():
        siblings = [p.name for p in target.parent.glob("*.y*ml")] if target.parent.is_dir() else []
        hint = did_you_mean(target.name, siblings)
        what = "is a directory" if target.is_dir() else "does not exist"
        problem(f"{declared.file!r} {what}; give the path of a YAML file in the project{hint}")
        return None
    return target


def _env_file_problems(root: Path, env: EnvSpec) -> list[Problem]:
    assert env.file is not None  # only called for file-based environments
    if env.kind is EnvKind.PYTHON_ENV:
        return parse_python_env(env.file, root=root)[1]
    return parse_conda_env(env.file, root=root)[1]
