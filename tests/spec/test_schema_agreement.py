"""The published JSON schemas and the parser accept exactly the same files.

Every valid fixture must pass both the parser and jsonschema; every invalid one must fail both.
What JSON Schema cannot express is listed separately and tested against the parser only, each
with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlproj.spec import params, parse
from mlproj.spec.envfiles import check_python_env
from mlproj.spec.load import check_project
from mlproj.spec.model import ParamType

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
MLPROJECT_SCHEMA = json.loads((REPO / "schemas" / "mlproject.schema.json").read_text())
PYTHON_ENV_SCHEMA = json.loads((REPO / "schemas" / "python_env.schema.json").read_text())

MINIMAL_ENV_FILES = {
    "python_env": 'python: "3.11"\n',
    "conda_env": "channels: [conda-forge]\ndependencies: [python=3.11]\n",
}


def fixtures(kind: str, group: str) -> list[Path]:
    return sorted((FIXTURES / kind / group).glob("*.yaml"))


def ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def schema_errors(schema: dict[str, object], text: str) -> list[str]:
    instance = yaml.safe_load(text)
    validator = jsonschema.Draft202012Validator(schema)
    return [error.message for error in validator.iter_errors(instance)]


def project_from(tmp_path: Path, text: str) -> Path:
    """A project folder with this MLproject, and the env files it declares (so they exist)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "MLproject").write_text(text)
    data = yaml.safe_load(text)
    if isinstance(data, dict):
        for key, content in MINIMAL_ENV_FILES.items():
            value = data.get(key)
            if isinstance(value, str) and value.strip() and "/" not in value:
                (root / value).write_text(content)
    return root


def parser_problems(tmp_path: Path, text: str) -> list[str]:
    _, problems = check_project(project_from(tmp_path, text))
    return [str(problem) for problem in problems]


def test_schemas_are_valid_draft_2020_12():
    for schema in (MLPROJECT_SCHEMA, PYTHON_ENV_SCHEMA):
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_corpus_is_large_enough():
    assert len(fixtures("mlproject", "valid")) >= 10
    assert len(fixtures("mlproject", "invalid")) >= 15


@pytest.mark.parametrize(
    "path", fixtures("mlproject", "valid"), ids=ids(fixtures("mlproject", "valid"))
)
def test_valid_mlproject_passes_parser_and_schema(path, tmp_path):
    text = path.read_text()
    assert parser_problems(tmp_path, text) == []
    assert schema_errors(MLPROJECT_SCHEMA, text) == []


@pytest.mark.parametrize(
    "path", fixtures("mlproject", "invalid"), ids=ids(fixtures("mlproject", "invalid"))
)
def test_invalid_mlproject_fails_parser_and_schema(path, tmp_path):
    text = path.read_text()
    assert parser_problems(tmp_path, text) != []
    assert schema_errors(MLPROJECT_SCHEMA, text) != []


# Invalid files the schema cannot catch: it sees only the loaded data, one file at a time.
PARSER_ONLY_INVALID = {
    # Placeholders live inside a string; JSON Schema cannot relate them to parameter names.
    "unknown placeholder": "entry_points: {main: {command: 'python t.py {alhpa}'}}",
    "format spec": (
        "entry_points: {main: {parameters: {a: float}, command: 'python t.py {a:.2f}'}}"
    ),
    "positional placeholder": "entry_points: {main: {command: 'python t.py {}'}}",
    "unbalanced brace": "entry_points: {main: {command: 'python t.py {a'}}",
    "unclosed quote in a shell template": (
        'entry_points: {main: {command: "python t.py \'oops | cat"}}'
    ),
    # Whether a file exists, or where a path leads, is not a property of the data.
    "env file missing": "python_env: envs/missing.yaml",
    "env file outside the project": "conda_env: ../conda.yaml",
    # yaml.safe_load keeps the last of two equal keys, so the schema never sees the first.
    "duplicate key": "name: a\nname: b\n",
    # JSON has string keys only; YAML's 1 is an integer key that jsonschema does not check.
    "integer entry point name": "entry_points: {1: {command: python t.py}}",
    # YAML 1.1 reads these as numbers of the right type, but the command would receive the
    # text as written, which the program cannot parse as that type.
    "int default in hex": "entry_points: {main: {parameters: {n: {type: int, default: 0x1F}},"
    " command: 'python t.py {n}'}}",
    "int default with a fraction": "entry_points: {main: {parameters: {n: {type: int, "
    "default: 1.0}}, command: 'python t.py {n}'}}",
    "float default infinity": "entry_points: {main: {parameters: {x: {type: float, "
    "default: .inf}}, command: 'python t.py {x}'}}",
}


@pytest.mark.parametrize("text", PARSER_ONLY_INVALID.values(), ids=PARSER_ONLY_INVALID.keys())
def test_parser_only_invalid(text, tmp_path):
    assert schema_errors(MLPROJECT_SCHEMA, text) == []  # else it belongs in fixtures/invalid
    assert parser_problems(tmp_path, text) != []


# Valid files the schema rejects: yaml.safe_load makes a date object, which has no JSON type,
# while the parser takes the value's text as written.
PARSER_ONLY_VALID = {
    "date default": "entry_points: {main: {parameters: {day: {type: string, "
    "default: 2024-01-31}}, command: 'python t.py {day}'}}",
    "date environment value": "docker_env: {image: i, environment: [[SINCE, 2024-01-31]]}",
}


@pytest.mark.parametrize("text", PARSER_ONLY_VALID.values(), ids=PARSER_ONLY_VALID.keys())
def test_parser_only_valid(text, tmp_path):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text), MLPROJECT_SCHEMA)
    assert parser_problems(tmp_path, text) == []


@pytest.mark.parametrize(
    "path", fixtures("python_env", "valid"), ids=ids(fixtures("python_env", "valid"))
)
def test_valid_python_env_passes_parser_and_schema(path):
    assert check_python_env(path) == []
    assert schema_errors(PYTHON_ENV_SCHEMA, path.read_text()) == []


@pytest.mark.parametrize(
    "path", fixtures("python_env", "invalid"), ids=ids(fixtures("python_env", "invalid"))
)
def test_invalid_python_env_fails_parser_and_schema(path):
    assert check_python_env(path) != []
    assert schema_errors(PYTHON_ENV_SCHEMA, path.read_text()) != []


def test_schema_names_the_parsers_keys_and_types():
    defs = MLPROJECT_SCHEMA["$defs"]
    assert tuple(MLPROJECT_SCHEMA["properties"]) == parse.TOP_KEYS
    assert tuple(defs["dockerEnv"]["properties"]) == parse.DOCKER_KEYS
    assert tuple(defs["entryPoint"]["properties"]) == parse.ENTRY_POINT_KEYS
    long_form = defs["parameter"]["oneOf"][1]
    assert tuple(long_form["properties"]) == parse.PARAMETER_KEYS
    assert defs["typeName"]["enum"] == [ptype.value for ptype in ParamType]
    assert tuple(PYTHON_ENV_SCHEMA["properties"]) == (
        "python",
        "build_dependencies",
        "dependencies",
    )


def test_schema_uses_the_parsers_value_patterns():
    rules = {
        rule["if"]["properties"]["type"]["const"]: rule["then"]["properties"]["default"]["anyOf"]
        for rule in MLPROJECT_SCHEMA["$defs"]["parameter"]["oneOf"][1]["allOf"]
    }
    assert {"pattern": params.INT_PATTERN, "type": "string"} in rules["int"]
    assert {"pattern": params.FLOAT_PATTERN, "type": "string"} in rules["float"]
    assert {"enum": list(params.BOOL_WORDS)} in rules["bool"]
    for pattern in (params.INT_PATTERN, params.FLOAT_PATTERN):
        re.compile(pattern)
