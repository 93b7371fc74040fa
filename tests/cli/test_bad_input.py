"""Bad input: one clear line, a documented exit code, no traceback, and no run left behind."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES

LINEAR = EXAMPLES / "linear_regression"
ENTRY = (
    "entry_points:\n  main:\n    parameters: {alpha: float}\n    command: python -c pass {alpha}\n"
)


def assert_clean_failure(mlproj, result, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("mlproj: error: ") or code == 113, result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert mlproj("runs", "list", "--json").json() == []


PROJECT_CASES = {
    "empty": ("", ["MLproject", "empty"]),
    "not yaml": ("entry_points: [unclosed\n", ["MLproject:"]),
    "not a mapping": ("- a\n- b\n", ["MLproject"]),
    "unknown key": (
        "name: x\nentry_point:\n  main: {command: ls}\n",
        ["entry_point", "entry_points"],
    ),
    "unknown nested key": (
        "entry_points:\n  main:\n    comand: ls\n",
        ["MLproject:3", "entry_points.main.comand", "command"],
    ),
    "bad type name": (
        "entry_points:\n  main:\n    parameters:\n      a: {type: flaot}\n    command: ls {a}\n",
        ["MLproject:4", "flaot", "float"],
    ),
    "wrong default type": (
        "entry_points:\n  main:\n    parameters:\n      a: {type: int, default: abc}\n"
        "    command: ls {a}\n",
        ["entry_points.main.parameters.a", "abc"],
    ),
    "two env keys": (
        "python_env: p.yaml\nconda_env: c.yaml\nentry_points:\n  main: {command: ls}\n",
        ["python_env", "conda_env"],
    ),
    "no command": ("entry_points:\n  main:\n    parameters: {a: float}\n", ["command"]),
    "unknown placeholder": (
        "entry_points:\n  main:\n    parameters: {a: float}\n    command: echo {b}\n",
        ["b", "entry_points.main.command"],
    ),
    "format spec": (
        "entry_points:\n  main:\n    parameters: {a: float}\n    command: echo {a:.2f}\n",
        ["entry_points.main.command"],
    ),
    # LibYAML's composer recursed until the process crashed (SIGSEGV) at this depth.
    "nested 100,000 levels deep": (
        "name: x\nentry_points:\n  main:\n    command: ls\n    a: " + "[" * 100_000 + "]" * 100_000,
        ["MLproject:5", "nests lists and mappings more than 200 levels deep"],
    ),
}


@pytest.mark.parametrize("case", sorted(PROJECT_CASES))
def test_invalid_project(mlproj, write_project, case):
    text, needles = PROJECT_CASES[case]
    project = write_project({"MLproject": text})
    result = mlproj("run", str(project), "-P", "a=1")
    assert_clean_failure(mlproj, result, 113, *needles)
    checked = mlproj("validate", str(project))
    assert checked.returncode == 113
    assert "Traceback" not in checked.stderr


def test_validate_lists_every_problem_at_once(mlproj, write_project):
    project = write_project(
        {
            "MLproject": "nmae: x\nentry_points:\n  main:\n    parameters:\n"
            "      a: {type: flaot}\n    command: echo {b}\n  other:\n    parameters: {}\n",
        }
    )
    result = mlproj("validate", str(project))
    assert result.returncode == 113
    for needle in ("nmae", "flaot", "{b}", "other"):
        assert needle in result.stderr, (needle, result.stderr)
    assert "4 problems" in result.stderr


def test_validate_accepts_the_examples(mlproj):
    for name in ("linear_regression", "convention"):
        result = mlproj("validate", str(EXAMPLES / name))
        assert result.returncode == 0, result.stderr
        assert "OK" in result.stdout


def test_unknown_entry_point(mlproj):
    result = mlproj("run", str(LINEAR), "-e", "trian")
    assert_clean_failure(mlproj, result, 113, "trian", "main")


def test_missing_required_params_are_all_listed(mlproj, write_project):
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n    parameters: {a: float, b: int, c: string}\n"
            "    command: echo {a} {b} {c}\n",
        }
    )
    result = mlproj("run", str(project), "-P", "b=2")
    assert_clean_failure(mlproj, result, 113, "'a'", "'c'")


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["-P", "alpha=abc"], 113, "alpha"),
        (["-P", "alpha"], 112, "alpha"),
        (["-P", "=1"], 112, "=1"),
        (["-P", "alpha=1", "-P", "alpha=2"], 112, "alpha"),
    ],
)
def test_bad_param_arguments(mlproj, write_project, args, code, needle):
    project = write_project({"MLproject": ENTRY})
    result = mlproj("run", str(project), *args)
    assert_clean_failure(mlproj, result, code, needle)


def test_path_param_that_does_not_exist(mlproj):
    result = mlproj("run", str(LINEAR), "-P", "data=nowhere.csv")
    assert_clean_failure(mlproj, result, 113, "nowhere.csv")


def test_missing_source_folder(mlproj, tmp_path):
    result = mlproj("run", str(tmp_path / "nope"))
    assert_clean_failure(mlproj, result, 114, "nope")


def test_env_manager_that_does_not_fit_is_an_error_not_a_fallback(mlproj):
    result = mlproj("run", str(LINEAR), "--env-manager", "conda")
    assert_clean_failure(mlproj, result, 115, "needs a conda YAML", "--env-manager local")
    unknown = mlproj("run", str(LINEAR), "--env-manager", "pyenv")
    assert_clean_failure(mlproj, unknown, 112, "pyenv")


def test_unknown_option_is_a_usage_error(mlproj):
    result = mlproj("run", str(LINEAR), "--no-such-option")
    assert result.returncode == 112
    assert "Traceback" not in result.stderr


def test_corrupt_store(mlproj, store_dir):
    store_dir.mkdir()
    (store_dir / "mlproj.db").write_bytes(b"this is not a database" * 100)
    result = mlproj("run", str(LINEAR), "-P", "epochs=5")
    assert result.returncode == 116
    assert "mlproj.db" in result.stderr
    assert "Traceback" not in result.stderr
    assert "rmse" not in result.stdout  # nothing ran
    listed = mlproj("runs", "list")
    assert listed.returncode == 116
    assert "Traceback" not in listed.stderr


def test_unknown_and_ambiguous_run_ids(mlproj):
    assert mlproj("runs", "show", "0123").returncode == 118
    for _ in range(20):  # enough runs that some one-character prefix is shared
        assert mlproj("run", str(LINEAR), "-e", "fail", "-P", "code=1", "-q").returncode == 1
    ids = [r["run_id"] for r in mlproj("runs", "list", "--json").json()]
    shared = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) > 1)
    result = mlproj("runs", "show", shared)
    assert result.returncode == 118
    assert "ambiguous" in result.stderr.lower() or "matches" in result.stderr


def test_bad_filter_and_status(mlproj):
    assert mlproj("run", str(LINEAR), "-P", "epochs=5", "-q").returncode == 0
    bad = mlproj("runs", "list", "--filter", "stauts = 'FINISHED'")
    assert bad.returncode == 112
    assert "stauts" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert mlproj("runs", "list", "--status", "DONE").returncode == 112
