"""Parsing the MLproject node graph into the model, collecting every problem on the way.

The rules are MLflow's meaning made strict: MLflow ignores unknown keys and never checks types;
here both are problems with their line, key path and a "did you mean". What is accepted is
exactly what ``schemas/mlproject.schema.json`` describes (a test keeps them in agreement).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from mlproj.spec.command import template_problems
from mlproj.spec.model import EntryPoint, EnvKind, Parameter, ParamType
from mlproj.spec.params import type_problem
from mlproj.spec.wording import did_you_mean
from mlproj.spec.yamlnodes import (
    BOOL,
    FLOAT,
    INT,
    NULL,
    STR,
    TIMESTAMP,
    Collector,
    describe,
    is_null,
    join_path,
    kind,
    mapping_entries,
    report_unknown,
    string_list,
    string_value,
)

if TYPE_CHECKING:
    from mlproj.spec.envmodel import DockerEnv
    from mlproj.spec.yamlnodes import Node

TOP_KEYS = ("name", "python_env", "conda_env", "docker_env", "entry_points")
#: The environment keys in MLflow's order of precedence.
ENV_KEYS = {
    "docker_env": EnvKind.DOCKER,
    "python_env": EnvKind.PYTHON_ENV,
    "conda_env": EnvKind.CONDA,
}
DOCKER_KEYS = ("image", "volumes", "environment")
ENTRY_POINT_KEYS = ("command", "parameters")
PARAMETER_KEYS = ("type", "default")
TYPE_NAMES = tuple(ptype.value for ptype in ParamType)
#: Top-level keys MLflow knows that mlproj deliberately does not run.
UNSUPPORTED_KEYS = {"databricks_spark_job": "runs only on Databricks; mlproj does not support it"}
# Scalars a default may be: the text is taken as written (0.50 stays "0.50").
_DEFAULT_TAGS = (STR, INT, FLOAT, BOOL, TIMESTAMP)
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


# DeclaredEnv and ParsedSpec carry what parse_mlproject read to mlproj.spec.load, which turns it
# into the Project model: one function's answer, not records of their own, so named tuples
# (immutable like the model) rather than frozen dataclasses, which would add about 2 ms to the
# start of every `mlproj run`.


class DeclaredEnv(NamedTuple):
    """The environment key an MLproject declares.

    ``file`` and ``line`` are the declared path and where it is written (python_env and
    conda_env); ``docker`` is set for docker_env.
    """

    kind: EnvKind
    file: str | None = None
    line: int | None = None
    docker: DockerEnv | None = None


class ParsedSpec(NamedTuple):
    """What an MLproject file says, before env files are looked at."""

    name: str | None
    env: DeclaredEnv | None
    entry_points: dict[str, EntryPoint]


def parse_mlproject(col: Collector, node: Node) -> ParsedSpec | None:
    """Parse a composed MLproject; problems go to ``col``.

    Returns None when the top level is not a mapping (nothing else can be read); otherwise a
    spec built from the parts that are valid, with problems recorded for the others.
    """
    if kind(node) != "mapping":
        col.add(
            node,
            "",
            f"the top level must be a mapping (name:, entry_points:...), not {describe(node)}",
        )
        return None
    entries = mapping_entries(col, node, "", None) or {}
    for key, reason in UNSUPPORTED_KEYS.items():
        if key in entries:
            col.add(entries.pop(key)[0], key, reason)
    report_unknown(col, entries, "", TOP_KEYS)
    name = None
    if "name" in entries:
        name = string_value(col, entries["name"][1], "name")
    entry_points: dict[str, EntryPoint] = {}
    if "entry_points" in entries:
        entry_points = _entry_points(col, entries["entry_points"][1])
    return ParsedSpec(name=name, env=_declared_env(col, entries), entry_points=entry_points)


def _declared_env(col: Collector, entries: dict[str, tuple[Node, Node]]) -> DeclaredEnv | None:
    declared = [key for key in ENV_KEYS if key in entries]
    if len(declared) > 1:
        for key in declared[1:]:
            col.add(
                entries[key][0],
                key,
                f"a project declares at most one environment, and {declared[0]} is already "
                f"declared; keep one of {', '.join(declared)}",
            )
        return None
    if not declared:
        return None
    key = declared[0]
    key_node, value = entries[key]
    if key == "docker_env":
        docker = _docker_env(col, key_node, value)
        return None if docker is None else DeclaredEnv(EnvKind.DOCKER, docker=docker)
    path = string_value(col, value, key, what="a path relative to the project directory")
    if path is None:
        return None
    return DeclaredEnv(ENV_KEYS[key], file=path, line=value.start_mark.line + 1)


def _docker_env(col: Collector, key: Node, node: Node) -> DockerEnv | None:
    entries = mapping_entries(col, node, "docker_env", DOCKER_KEYS)
    if entries is None:
        return None
    if "image" not in entries:
        col.add(key, "docker_env", "image is required (for example image: python:3.11-slim)")
        return None
    image = string_value(col, entries["image"][1], "docker_env.image")
    volumes: tuple[str, ...] | None = ()
    if "volumes" in entries:
        volumes = string_list(col, entries["volumes"][1], "docker_env.volumes")
    environment: tuple[tuple[str, str | None], ...] | None = ()
    if "environment" in entries:
        environment = _docker_environment(col, entries["environment"][1])
    if image is None or volumes is None or environment is None:
        return None
    from mlproj.spec.envmodel import DockerEnv  # only docker_env projects load it

    return DockerEnv(image=image, volumes=volumes, environment=environment)


def _docker_environment(col: Collector, node: Node) -> tuple[tuple[str, str | None], ...] | None:
    """``environment``: a list of ``NAME`` (copied from the host) or ``[NAME, VALUE]``."""
    path = "docker_env.environment"
    if is_null(node):
        return ()
    if kind(node) != "sequence":
        col.add(node, path, f"must be a list of NAME or [NAME, VALUE], not {describe(node)}")
        return None
    result: list[tuple[str, str | None]] = []
    for index, item in enumerate(node.value):
        item_path = f"{path}[{index}]"
        if kind(item) == "sequence" and len(item.value) != 2:
            col.add(item, item_path, f"must be [NAME, VALUE], not a list of {len(item.value)}")
            continue
        name_node = item.value[0] if kind(item) == "sequence" else item
        name = _env_var_name(col, name_node, item_path)
        value = None
        if kind(item) == "sequence":
            value = _scalar_text(col, item.value[1], f"{item_path}[1]", "the variable's value")
            if value is None:
                continue
        if name is not None:
            result.append((name, value))
    return tuple(result) if len(result) == len(node.value) else None


def _env_var_name(col: Collector, node: Node, path: str) -> str | None:
    name = string_value(col, node, path, what="a variable NAME or [NAME, VALUE]")
    if name is not None and not re.match(_ENV_NAME, name):
        col.add(node, path, f"{name!r} is not an environment variable name (letters, digits, _)")
        return None
    return name


def _scalar_text(col: Collector, node: Node, path: str, what: str) -> str | None:
    """The text of a string, number, boolean or date scalar, as written."""
    if kind(node) != "scalar" or node.tag not in _DEFAULT_TAGS:
        col.add(node, path, f"{what} must be a single value, not {describe(node)}")
        return None
    text: str = node.value
    return text


def _entry_points(col: Collector, node: Node) -> dict[str, EntryPoint]:
    if is_null(node):
        return {}
    entries = mapping_entries(col, node, "entry_points", None)
    result: dict[str, EntryPoint] = {}
    for name, (key, value) in (entries or {}).items():
        entry = _entry_point(col, name, key, value)
        if entry is not None:
            result[name] = entry
    return result


def _entry_point(col: Collector, name: str, key: Node, node: Node) -> EntryPoint | None:
    """One entry point; problems about it as a whole are reported at its name's line."""
    path = join_path("entry_points", name)
    entries = mapping_entries(col, node, path, ENTRY_POINT_KEYS)
    if entries is None:
        return None
    declared: dict[str, Parameter | None] | None = {}
    if "parameters" in entries:
        declared = _parameters(col, entries["parameters"][1], join_path(path, "parameters"))
    if "command" not in entries:
        col.add(key, path, "command is required (for example command: python train.py)")
        return None
    command_node = entries["command"][1]
    command = string_value(col, command_node, join_path(path, "command"))
    if command is None or declared is None:
        return None
    # Check the template against every declared name, even those whose declaration has a
    # problem, so all problems show at once. With an unknown key (`paramters:`) the declared
    # names are unknown too, and "unknown placeholder" would only repeat that problem.
    if set(entries) <= set(ENTRY_POINT_KEYS):
        stand_ins = tuple(param or Parameter(pname) for pname, param in declared.items())
        for problem in template_problems(EntryPoint(name, command, stand_ins)):
            col.add(command_node, join_path(path, "command"), problem)
    parameters = tuple(param for param in declared.values() if param is not None)
    if len(parameters) != len(declared):
        return None
    return EntryPoint(name=name, command=command, parameters=parameters)


def _parameters(col: Collector, node: Node, path: str) -> dict[str, Parameter | None] | None:
    """The declared parameters by name; None for a parameter whose declaration is invalid."""
    if is_null(node):
        return {}
    entries = mapping_entries(col, node, path, None)
    if entries is None:
        return None
    return {
        name: _parameter(col, name, value, join_path(path, name))
        for name, (_, value) in entries.items()
    }


def _parameter(col: Collector, name: str, node: Node, path: str) -> Parameter | None:
    """``alpha: float`` (required) or ``alpha: {type: float, default: 0.5}``."""
    if kind(node) == "scalar" and node.tag == STR:
        shorthand = _param_type(col, node, path)
        return None if shorthand is None else Parameter(name=name, type=shorthand)
    if kind(node) != "mapping":
        col.add(
            node,
            path,
            f"must be a type name (alpha: float) or a mapping with type and "
            f"default, not {describe(node)}",
        )
        return None
    entries = mapping_entries(col, node, path, PARAMETER_KEYS)
    if entries is None:
        return None
    ptype: ParamType | None = ParamType.STRING
    if "type" in entries:
        ptype = _param_type(col, entries["type"][1], join_path(path, "type"))
    default = None
    if "default" in entries and ptype is not None:
        default_node = entries["default"][1]
        default = _default(col, ptype, default_node, join_path(path, "default"))
        if default is None and not is_null(default_node):
            return None
    return None if ptype is None else Parameter(name=name, type=ptype, default=default)


def _param_type(col: Collector, node: Node, path: str) -> ParamType | None:
    expected = f"expected one of {', '.join(TYPE_NAMES)}"
    if kind(node) != "scalar" or node.tag != STR:
        col.add(node, path, f"type must be a type name ({expected}), not {describe(node)}")
        return None
    text: str = node.value
    if text not in TYPE_NAMES:
        col.add(node, path, f"unknown type {text!r} ({expected}){did_you_mean(text, TYPE_NAMES)}")
        return None
    return ParamType(text)


def _default(col: Collector, ptype: ParamType, node: Node, path: str) -> str | None:
    """The default's text as written; None for ``null`` (required) or a recorded problem."""
    if kind(node) == "scalar" and node.tag == NULL:
        return None
    text = _scalar_text(col, node, path, "default")
    if text is None:
        return None
    problem = type_problem(ptype, text)
    if problem is not None:
        col.add(node, path, problem)
        return None
    return text
