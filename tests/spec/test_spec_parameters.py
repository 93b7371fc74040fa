"""Parameter declarations in the MLproject: shorthand, long form, types and defaults."""

from __future__ import annotations

import pytest

from mlproj.spec.load import check_project, load_project
from mlproj.spec.model import Parameter, ParamType


def declare(make_project, parameters: str, command: str = "python t.py") -> object:
    """Load an MLproject whose entry point `main` declares ``parameters`` (a YAML flow map)."""
    text = f"entry_points:\n  main:\n    parameters: {parameters}\n    command: {command}\n"
    return make_project({"MLproject": text})


def params_of(make_project, parameters: str) -> tuple[Parameter, ...]:
    entry = load_project(declare(make_project, parameters)).entry_points["main"]
    return entry.parameters


def problems_of(make_project, parameters: str) -> list[str]:
    return [str(problem) for problem in check_project(declare(make_project, parameters))[1]]


def test_shorthand_is_a_required_parameter_of_that_type(make_project):
    assert params_of(make_project, "{data_file: path, alpha: float}") == (
        Parameter("data_file", ParamType.PATH, None),
        Parameter("alpha", ParamType.FLOAT, None),
    )


def test_long_form_type_defaults_to_string(make_project):
    assert params_of(make_project, "{a: {default: x}, b: {}}") == (
        Parameter("a", ParamType.STRING, "x"),
        Parameter("b", ParamType.STRING, None),
    )


@pytest.mark.parametrize("type_name", ["string", "float", "int", "path", "uri", "bool"])
def test_every_type_name(make_project, type_name):
    assert params_of(make_project, f"{{p: {type_name}}}")[0].type == ParamType(type_name)


@pytest.mark.parametrize(
    ("declaration", "default"),
    [
        ("{type: float, default: 0.1}", "0.1"),
        ("{type: float, default: 0.50}", "0.50"),  # the text as written, not str(0.5)
        ("{type: float, default: 1e-3}", "1e-3"),
        ("{type: float, default: .5}", ".5"),
        ("{type: float, default: 5}", "5"),
        ("{type: int, default: 32}", "32"),
        ("{type: int, default: '-7'}", "-7"),
        ("{type: bool, default: true}", "true"),
        ("{type: bool, default: False}", "False"),
        ("{type: bool, default: yes}", "yes"),
        ("{type: bool, default: 1}", "1"),
        ("{type: string, default: 'hello world'}", "hello world"),
        ("{type: string, default: ''}", ""),
        ("{type: string, default: 2024-01-31}", "2024-01-31"),
        ("{default: 3.10}", "3.10"),
        ("{type: path, default: data/does/not/exist.csv}", "data/does/not/exist.csv"),
        ("{type: uri, default: 's3://bucket/key'}", "s3://bucket/key"),
    ],
)
def test_defaults_keep_their_text(make_project, declaration, default):
    assert params_of(make_project, f"{{p: {declaration}}}")[0].default == default


@pytest.mark.parametrize("default", ["null", "~", ""])
def test_null_default_means_required(make_project, default):
    (param,) = params_of(make_project, f"{{p: {{type: int, default: {default}}}}}")
    assert param.default is None
    assert param.required


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("{type: int, default: abc}", "'abc' is not an int"),
        ("{type: int, default: 1.5}", "'1.5' is not an int"),
        ("{type: float, default: fast}", "'fast' is not a float"),
        ("{type: float, default: 1_000.0}", "'1_000.0' is not a float"),
        ("{type: float, default: true}", "'true' is not a float"),
        ("{type: bool, default: maybe}", "'maybe' is not a bool (use true or false)"),
        ("{type: string, default: [1, 2]}", "default must be a single value, not a list"),
        ("{type: string, default: {a: 1}}", "default must be a single value, not a mapping"),
    ],
)
def test_defaults_of_the_wrong_type(make_project, declaration, message):
    assert problems_of(make_project, f"{{p: {declaration}}}") == [
        f"MLproject:3 entry_points.main.parameters.p.default: {message}"
    ]


@pytest.mark.parametrize(
    ("declaration", "key_path", "message"),
    [
        (
            "{type: flaot}",
            "p.type",
            "unknown type 'flaot' (expected one of string, float, int, path, uri, bool); "
            "did you mean 'float'?",
        ),
        (
            "integer",
            "p",
            "unknown type 'integer' (expected one of string, float, int, path, uri, bool); "
            "did you mean 'int'?",
        ),
        (
            "{type: 3}",
            "p.type",
            "type must be a type name (expected one of string, float, int, "
            "path, uri, bool), not the number 3",
        ),
        (
            "{type: float, defualt: 1}",
            "p.defualt",
            "unknown key (expected type, default); did you mean 'default'?",
        ),
        (
            "[float]",
            "p",
            "must be a type name (alpha: float) or a mapping with type and default, not a list",
        ),
        (
            "",
            "p",
            "must be a type name (alpha: float) or a mapping with type and default, not empty",
        ),
    ],
)
def test_bad_declarations(make_project, declaration, key_path, message):
    assert problems_of(make_project, f"{{p: {declaration}}}") == [
        f"MLproject:3 entry_points.main.parameters.{key_path}: {message}"
    ]


def test_parameters_must_be_a_mapping(make_project):
    assert problems_of(make_project, "[a, b]") == [
        "MLproject:3 entry_points.main.parameters: must be a mapping, not a list"
    ]


def test_line_numbers_of_parameters_in_block_style(make_project):
    root = make_project(
        {
            "MLproject": """\
                entry_points:
                  main:
                    parameters:
                      good: float
                      bad:
                        type: float
                        default: not-a-number
                    command: python t.py {good} {bad}
                """
        }
    )
    (problem,) = check_project(root)[1]
    assert (problem.line, problem.key_path) == (7, "entry_points.main.parameters.bad.default")


def test_a_parameter_named_with_a_dash(make_project):
    root = declare(
        make_project, "{batch-size: {type: int, default: 32}}", "python t.py {batch-size}"
    )
    assert load_project(root).entry_points["main"].parameters[0].name == "batch-size"
