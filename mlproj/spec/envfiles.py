"""Reading the environment files a project declares: ``python_env.yaml`` and conda YAML.

Both are checked as strictly as the MLproject: unknown keys and wrong types are problems with
file, line and key path. ``python_env.yaml``'s keys are MLflow's; the conda file follows conda's
environment format (``prefix`` and ``variables`` are accepted and not used).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.spec.wording import did_you_mean
from mlproj.spec.yamlnodes import (
    Collector,
    compose_file,
    describe,
    is_null,
    is_str,
    kind,
    mapping_entries,
    string_list,
    string_value,
)

if TYPE_CHECKING:
    from mlproj.spec.envmodel import CondaEnv, PythonEnv
    from mlproj.spec.problems import Problem
    from mlproj.spec.yamlnodes import Node

PYTHON_ENV_KEYS = ("python", "build_dependencies", "dependencies")
CONDA_KEYS = ("name", "channels", "dependencies", "prefix", "variables")


def load_python_env(path: Path) -> PythonEnv:
    """Read a ``python_env.yaml`` (keys ``python``, ``build_dependencies``, ``dependencies``).

    Raises:
        ProjectError: The file is missing, not YAML, or has unknown keys or wrong types.
    """
    env, problems = parse_python_env(path)
    if env is None:
        from mlproj.spec.problems import problems_error

        raise problems_error(problems)
    return env


def check_python_env(path: Path) -> list[Problem]:
    """Return every problem of a ``python_env.yaml`` (empty when it is valid)."""
    return parse_python_env(path)[1]


def load_conda_env(path: Path) -> CondaEnv:
    """Read a conda environment YAML (``name``, ``channels``, ``dependencies`` with ``pip:``).

    Raises:
        ProjectError: The file is missing, not YAML, or malformed.
    """
    env, problems = parse_conda_env(path)
    if env is None:
        from mlproj.spec.problems import problems_error

        raise problems_error(problems)
    return env


def check_conda_env(path: Path) -> list[Problem]:
    """Return every problem of a conda environment YAML (empty when it is valid)."""
    return parse_conda_env(path)[1]


def parse_python_env(
    path: Path, *, root: Path | None = None
) -> tuple[PythonEnv | None, list[Problem]]:
    """Parse a ``python_env.yaml``: the env when valid, and every problem.

    Args:
        path: The file.
        root: The project directory, to show the file relative to it in problems.
    """
    from mlproj.spec.envmodel import PythonEnv  # only projects that declare one load it

    col = Collector(path, root)
    node = compose_file(col, "the file is empty; add python and dependencies (see README)")
    entries = None if node is None else mapping_entries(col, node, "", PYTHON_ENV_KEYS)
    if entries is None:
        return None, col.in_order()
    python = None
    if "python" in entries:
        python = string_value(col, entries["python"][1], "python", what="a version string")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("build_dependencies", "dependencies"):
        if key in entries:
            lists[key] = string_list(col, entries[key][1], key) or ()
    if col.problems:
        return None, col.in_order()
    env = PythonEnv(
        file=path,
        python=python,
        build_dependencies=lists.get("build_dependencies", ()),
        dependencies=lists.get("dependencies", ()),
    )
    return env, []


def parse_conda_env(
    path: Path, *, root: Path | None = None
) -> tuple[CondaEnv | None, list[Problem]]:
    """Parse a conda environment YAML: the env when valid, and every problem.

    Args:
        path: The file.
        root: The project directory, to show the file relative to it in problems.
    """
    from mlproj.spec.envmodel import CondaEnv  # only projects that declare one load it

    col = Collector(path, root)
    node = compose_file(col, "the file is empty; add channels and dependencies (see README)")
    entries = None if node is None else mapping_entries(col, node, "", CONDA_KEYS)
    if entries is None:
        return None, col.in_order()
    name = None
    if "name" in entries and not is_null(entries["name"][1]):
        name = string_value(col, entries["name"][1], "name")
    channels: tuple[str, ...] | None = ()
    if "channels" in entries:
        channels = string_list(col, entries["channels"][1], "channels")
    if "prefix" in entries and not is_null(entries["prefix"][1]):
        string_value(col, entries["prefix"][1], "prefix", what="a path")
    if "variables" in entries and not is_null(entries["variables"][1]):
        mapping_entries(col, entries["variables"][1], "variables", None)
    deps: tuple[tuple[str, ...], tuple[str, ...]] | None = ((), ())
    if "dependencies" in entries:
        deps = _conda_dependencies(col, entries["dependencies"][1])
    if col.problems or channels is None or deps is None:
        return None, col.in_order()
    env = CondaEnv(file=path, name=name, channels=channels, dependencies=deps[0], pip=deps[1])
    return env, []


def _conda_dependencies(
    col: Collector, node: Node
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Split ``dependencies`` into conda specs and the lines of its one ``pip:`` section."""
    if is_null(node):
        return (), ()
    if kind(node) != "sequence":
        col.add(node, "dependencies", f"must be a list, not {describe(node)}")
        return None
    specs: list[str] = []
    pip: tuple[str, ...] | None = None
    for index, item in enumerate(node.value):
        path = f"dependencies[{index}]"
        if kind(item) == "mapping":
            if pip is not None:
                col.add(item, path, "a second pip section; put all pip requirements in one")
            pip = _pip_section(col, item, path) or ()
        elif is_str(item):
            specs.append(item.value)
        else:
            col.add(item, path, f"must be a package spec or a pip: list, not {describe(item)}")
    return tuple(specs), pip or ()


def _pip_section(col: Collector, node: Node, path: str) -> tuple[str, ...] | None:
    entries = mapping_entries(col, node, path, None)
    if entries is None:
        return None
    for key, (key_node, _) in entries.items():
        if key != "pip":
            message = f"unknown key {key!r} (expected pip){did_you_mean(key, ['pip'])}"
            col.add(key_node, f"{path}.{key}", message)
    if "pip" not in entries:
        return None
    return string_list(col, entries["pip"][1], f"{path}.pip")
