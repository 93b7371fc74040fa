"""-P values: parsing, typing, and resolving paths against the right directory."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from mlproj.errors import ExitCode, ProjectError, UsageError
from mlproj.spec.model import EntryPoint, Parameter, ParamType
from mlproj.spec.params import (
    FLOAT_PATTERN,
    INT_PATTERN,
    ResolvedParams,
    is_float_text,
    is_int_text,
    parse_param_args,
    resolve_params,
)


def entry(*params: Parameter, name: str = "main") -> EntryPoint:
    return EntryPoint(name=name, command="python t.py", parameters=params)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(project_dir, caller_dir), each with its own data.csv."""
    project, caller = tmp_path / "project", tmp_path / "caller"
    for folder in (project, caller):
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "points.csv").write_text("x\n")
    return project, caller


def resolve(ep: EntryPoint, given: dict[str, str], dirs: tuple[Path, Path], **kw) -> ResolvedParams:
    return resolve_params(ep, given, project_dir=dirs[0], caller_dir=dirs[1], **kw)


# --- parse_param_args --------------------------------------------------------------------


def test_parse_param_args():
    assert parse_param_args(["alpha=0.5", "x=a=b", "empty=", "s=a b"]) == {
        "alpha": "0.5",
        "x": "a=b",
        "empty": "",
        "s": "a b",
    }
    assert parse_param_args([]) == {}


@pytest.mark.parametrize("arg", ["alpha", "=0.5", ""])
def test_parse_param_args_rejects_malformed(arg):
    with pytest.raises(UsageError, match="expected name=value") as caught:
        parse_param_args(["ok=1", arg])
    assert repr(arg) in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE == 112


def test_parse_param_args_rejects_repeats():
    with pytest.raises(UsageError, match="'alpha' is given twice"):
        parse_param_args(["alpha=1", "alpha=2"])


# --- typing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ptype", "good", "bad"),
    [
        (
            ParamType.INT,
            ["0", "-3", "+42", "007"],
            ["abc", "1.5", "1e3", " 1", "1_000", "", "0x1F"],
        ),
        (
            ParamType.FLOAT,
            ["0.5", "-1", ".5", "5.", "1e-3", "+2.5E+10"],
            ["abc", "nan", "inf", "1,5", "1_0.0", "", " 1.0", "e5"],
        ),
        (
            ParamType.BOOL,
            ["true", "False", "TRUE", "yes", "No", "on", "OFF", "1", "0"],
            ["maybe", "t", "2", "", "tRuE"],
        ),
        (ParamType.STRING, ["", "anything at all", "a'b\"c"], []),
    ],
)
def test_typed_values(dirs, ptype, good, bad):
    ep = entry(Parameter("p", ptype))
    for text in good:
        assert resolve(ep, {"p": text}, dirs).values == {"p": text}
    for text in bad:
        with pytest.raises(ProjectError) as caught:
            resolve(ep, {"p": text}, dirs)
        assert caught.value.message.startswith(
            f"parameter 'p' of entry point 'main': {text!r} is not a"
        )


@pytest.mark.parametrize(
    ("ptype", "text"),
    [(ParamType.FLOAT, "0.5\n"), (ParamType.INT, "3\n"), (ParamType.FLOAT, "1\n\n")],
)
def test_a_trailing_newline_is_not_a_number(ptype, text):
    """The pattern's "$" would match before a final newline: the whole text must be a number."""
    with pytest.raises(ProjectError, match="is not a"):
        resolve_params(
            entry(Parameter("p", ptype)), {"p": text}, project_dir=Path("/"), caller_dir=Path("/")
        )


def test_bad_value_message():
    with pytest.raises(ProjectError) as caught:
        resolve_params(
            entry(Parameter("alpha", ParamType.FLOAT)),
            {"alpha": "abc"},
            project_dir=Path("/"),
            caller_dir=Path("/"),
        )
    assert caught.value.message == "parameter 'alpha' of entry point 'main': 'abc' is not a float"
    assert caught.value.exit_code == ExitCode.PROJECT


# --- what is recorded and what goes into the command ----------------------------------------


def test_given_values_and_defaults(dirs):
    ep = entry(
        Parameter("alpha", ParamType.FLOAT, "0.50"),
        Parameter("epochs", ParamType.INT),
        Parameter("label", ParamType.STRING, "base line"),
    )
    resolved = resolve(ep, {"epochs": "10", "zeta": "z z", "alpha_x": "1"}, dirs)
    assert resolved.given == {
        "alpha": "0.50",
        "epochs": "10",
        "label": "base line",
        "zeta": "z z",
        "alpha_x": "1",
    }
    assert list(resolved.given) == ["alpha", "epochs", "label", "zeta", "alpha_x"]
    assert resolved.values == {"alpha": "0.50", "epochs": "10", "label": "base line"}
    assert resolved.extra == {"zeta": "z z", "alpha_x": "1"}


def test_missing_required_are_listed_together(dirs):
    ep = entry(
        Parameter("data_file", ParamType.PATH),
        Parameter("alpha", ParamType.FLOAT),
        Parameter("seed", ParamType.INT, "1"),
    )
    with pytest.raises(ProjectError) as caught:
        resolve(ep, {}, dirs)
    assert caught.value.message == (
        "entry point 'main' is missing required parameters 'data_file', 'alpha': "
        "pass -P data_file=... -P alpha=..."
    )


def test_all_problems_at_once(dirs):
    ep = entry(
        Parameter("need", ParamType.STRING),
        Parameter("alpha", ParamType.FLOAT),
        Parameter("n", ParamType.INT),
        Parameter("data", ParamType.PATH),
    )
    with pytest.raises(ProjectError) as caught:
        resolve(ep, {"alpha": "x", "n": "1.5", "data": "missing.csv"}, dirs)
    error = caught.value
    assert error.message.startswith("4 problems with the parameters of entry point 'main': ")
    assert len(error.details) == 4
    assert error.details[0].startswith("entry point 'main' is missing required parameter 'need'")
    assert "'x' is not a float" in error.details[1]
    assert "'1.5' is not an int" in error.details[2]
    assert "path 'missing.csv' does not exist" in error.details[3]


# --- paths and URIs ------------------------------------------------------------------------


def test_path_from_command_line_resolves_against_caller_dir(dirs):
    caller = dirs[1]
    ep = entry(Parameter("data", ParamType.PATH, "data/points.csv"))
    resolved = resolve(ep, {"data": "data/points.csv"}, dirs)
    assert resolved.values == {"data": str(caller / "data" / "points.csv")}
    assert resolved.given == {"data": "data/points.csv"}


def test_path_default_resolves_against_project_dir(dirs):
    project, _ = dirs
    ep = entry(Parameter("data", ParamType.PATH, "data/points.csv"))
    resolved = resolve(ep, {}, dirs)
    assert resolved.values == {"data": str(project / "data" / "points.csv")}
    assert resolved.given == {"data": "data/points.csv"}


def test_path_absolute_and_file_uri(dirs):
    project, caller = dirs
    target = str(project / "data" / "points.csv")
    ep = entry(Parameter("data", ParamType.PATH))
    assert resolve(ep, {"data": target}, dirs).values == {"data": target}
    assert resolve(ep, {"data": "file://" + target}, dirs).values == {"data": target}
    assert resolve(ep, {"data": "./data/../data"}, dirs).values == {"data": str(caller / "data")}


def test_path_must_exist(dirs):
    project, caller = dirs
    ep = entry(Parameter("data", ParamType.PATH, "nope.csv"))
    with pytest.raises(ProjectError) as caught:
        resolve(ep, {"data": "missing.csv"}, dirs)
    assert caught.value.message == (
        "parameter 'data' of entry point 'main': path 'missing.csv' does not exist "
        f"(looked for {caller / 'missing.csv'})"
    )
    with pytest.raises(ProjectError) as caught:
        resolve(ep, {}, dirs)
    assert caught.value.message == (
        "parameter 'data' of entry point 'main': default path 'nope.csv' does not exist "
        f"(looked for {project / 'nope.csv'})"
    )


@pytest.mark.parametrize("value", ["s3://bucket/key", "gs://b/x.csv", "models:/m/1"])
def test_remote_path_that_cannot_be_downloaded_is_refused(dirs, value):
    with pytest.raises(ProjectError, match="is a remote URI that mlproj cannot download"):
        resolve(entry(Parameter("data", ParamType.PATH)), {"data": value}, dirs)


@pytest.mark.parametrize("value", ["https://example.com/x.csv", "HTTP://host:8000/d/x.csv"])
def test_http_path_is_left_for_download(dirs, value):
    resolved = resolve(entry(Parameter("data", ParamType.PATH)), {"data": value}, dirs)
    assert resolved.remote == {"data": value}
    assert resolved.given == {"data": value}


@pytest.mark.parametrize(
    "value", ["s3://bucket/key", "file:///tmp/x", "https://example.com/a?b=c", "runs:/abc/model"]
)
def test_uri_with_scheme_passes_as_is(dirs, value):
    resolved = resolve(entry(Parameter("u", ParamType.URI)), {"u": value}, dirs)
    assert resolved.values == {"u": value}


def test_local_uri_becomes_absolute_without_existence_check(dirs):
    project, caller = dirs
    ep = entry(Parameter("u", ParamType.URI, "out/report.html"))
    assert resolve(ep, {"u": "x/y.txt"}, dirs).values == {"u": str(caller / "x" / "y.txt")}
    assert resolve(ep, {}, dirs).values == {"u": str(project / "out" / "report.html")}
    assert resolve(ep, {}, dirs).given == {"u": "out/report.html"}


def test_relative_dirs_are_made_absolute(tmp_path, dirs, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ep = entry(Parameter("data", ParamType.PATH))
    resolved = resolve_params(
        ep, {"data": "points.csv"}, project_dir=Path("project"), caller_dir=Path("caller/data")
    )
    assert resolved.values == {"data": str(tmp_path / "caller" / "data" / "points.csv")}


# --- undeclared parameters -----------------------------------------------------------------


def test_strict_rejects_undeclared(dirs):
    ep = entry(
        Parameter("alpha", ParamType.FLOAT, "0.5"), Parameter("l1_ratio", ParamType.FLOAT, "0")
    )
    with pytest.raises(ProjectError) as caught:
        resolve(ep, {"alpah": "1", "other": "2"}, dirs, strict=True)
    assert caught.value.message == (
        "entry point 'main' does not declare 'alpah', 'other' (declared: alpha, l1_ratio); "
        "remove them or drop --strict-params; did you mean 'alpha'?"
    )
    assert resolve(ep, {"alpha": "1"}, dirs, strict=True).extra == {}


def test_file_entry_points_take_everything_as_extra(dirs):
    ep = EntryPoint(name="train.py", command="python train.py", is_file=True)
    resolved = resolve(ep, {"n": "4", "name": "a b"}, dirs, strict=True)
    assert resolved == ResolvedParams(
        given={"n": "4", "name": "a b"}, values={}, extra={"n": "4", "name": "a b"}
    )


#: Every character the two number patterns treat specially, plus some they refuse.
_NUMBER_ALPHABET = "07+-.eE x\n\u00b2"
_NUMBER_SAMPLES = [
    *("".join(chars) for n in range(5) for chars in itertools.product(_NUMBER_ALPHABET, repeat=n)),
    *("12345.678e+90", "-.5E-3", "+1.", "1e5e3", "1.2.3", "0x1F", "1_000", "inf", "nan", "\u0663"),
]


def test_number_checks_say_what_the_schema_patterns_say():
    """is_int_text / is_float_text replace the patterns at run time; the schema publishes them."""
    for text in _NUMBER_SAMPLES:
        assert is_int_text(text) == bool(re.fullmatch(INT_PATTERN, text)), repr(text)
        assert is_float_text(text) == bool(re.fullmatch(FLOAT_PATTERN, text)), repr(text)
