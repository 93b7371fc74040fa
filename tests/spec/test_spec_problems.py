"""Problem and problems_error: how validation problems read."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlproj.errors import ExitCode, ProjectError
from mlproj.spec.problems import Problem, did_you_mean, problems_error


def test_problem_with_line_and_key_path():
    root = Path("/p")
    problem = Problem(root / "MLproject", 12, "entry_points.train.command", "is empty", root)
    assert str(problem) == "MLproject:12 entry_points.train.command: is empty"


def test_problem_without_line_or_key_path():
    assert str(Problem(Path("/p/MLproject"), None, "", "the file is empty")) == (
        "MLproject: the file is empty"
    )
    assert str(Problem(Path("/p/MLproject"), 3, "", "bad")) == "MLproject:3: bad"
    assert str(Problem(Path("/p/MLproject"), None, "name", "bad")) == "MLproject name: bad"


def test_file_is_shown_relative_to_project_dir():
    root = Path("/p")
    problem = Problem(root / "envs" / "conda.yaml", 2, "channels", "bad", root)
    assert str(problem).startswith("envs/conda.yaml:2 channels")
    outside = Problem(Path("/elsewhere/conda.yaml"), 2, "", "bad", root)
    assert outside.shown_file == "conda.yaml"


def test_root_does_not_change_equality():
    a = Problem(Path("/p/MLproject"), 1, "", "x", Path("/p"))
    assert a == Problem(Path("/p/MLproject"), 1, "", "x")


def test_one_problem_is_the_message():
    problem = Problem(Path("/p/MLproject"), 1, "name", "bad", Path("/p"))
    error = problems_error([problem])
    assert isinstance(error, ProjectError)
    assert error.exit_code == ExitCode.PROJECT == 113
    assert error.message == "MLproject:1 name: bad"


def test_many_problems_are_all_in_details():
    root = Path("/p")
    problems = [
        Problem(root / "MLproject", 1, "name", "bad", root),
        Problem(root / "MLproject", 5, "entry_points", "worse", root),
        Problem(root / "conda.yaml", 2, "channels", "awful", root),
    ]
    error = problems_error(problems)
    assert error.message == "3 problems in MLproject, conda.yaml: MLproject:1 name: bad"
    assert error.details == tuple(str(p) for p in problems)


def test_problems_error_needs_a_problem():
    with pytest.raises(ValueError, match="at least one"):
        problems_error([])


def test_did_you_mean():
    assert did_you_mean("flaot", ["string", "float"]) == "; did you mean 'float'?"
    assert did_you_mean("zzz", ["string", "float"]) == ""
