"""python_env.yaml and conda environment files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlproj.errors import ProjectError
from mlproj.spec.envfiles import (
    check_conda_env,
    check_python_env,
    load_conda_env,
    load_python_env,
)
from mlproj.spec.envmodel import CondaEnv, PythonEnv


def write(tmp_path: Path, text: str, name: str = "env.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_python_env_docs_example(tmp_path):
    path = write(
        tmp_path,
        """\
# Python version required to run the project.
python: "3.8.15"
build_dependencies:
  - pip
  - setuptools
  - wheel==0.37.1
dependencies:
  - mlflow==2.3
  - scikit-learn==1.0.2
  - -r requirements.txt
""",
    )
    assert load_python_env(path) == PythonEnv(
        file=path,
        python="3.8.15",
        build_dependencies=("pip", "setuptools", "wheel==0.37.1"),
        dependencies=("mlflow==2.3", "scikit-learn==1.0.2", "-r requirements.txt"),
    )
    assert check_python_env(path) == []


def test_python_env_everything_optional(tmp_path):
    path = write(tmp_path, "dependencies:\nbuild_dependencies: []\n")
    assert load_python_env(path) == PythonEnv(file=path, python=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "python: 3.10\n",
            "env.yaml:1 python: must be a version string, not the number 3.10; quote it to keep "
            'the text: "3.10"',
        ),
        (
            'python: "3.11"\ndependancies: [numpy]\n',
            "env.yaml:2 dependancies: unknown key (expected python, build_dependencies, "
            "dependencies); did you mean 'dependencies'?",
        ),
        (
            "dependencies: numpy\n",
            "env.yaml:1 dependencies: must be a list of strings, not a string",
        ),
        (
            "dependencies:\n  - numpy\n  - 2\n",
            "env.yaml:3 dependencies[1]: must be a string, not the number 2; quote it to keep the "
            'text: "2"',
        ),
        ("", "env.yaml: the file is empty; add python and dependencies (see README)"),
        ("- numpy\n", "env.yaml:1: must be a mapping, not a list"),
        ("python: [3.11\n", None),
    ],
)
def test_python_env_problems(tmp_path, text, expected):
    path = write(tmp_path, text)
    problems = check_python_env(path)
    assert len(problems) == 1
    if expected is None:
        assert "is not valid YAML" in str(problems[0])
    else:
        assert str(problems[0]) == expected
    with pytest.raises(ProjectError) as caught:
        load_python_env(path)
    assert caught.value.message == str(problems[0])


def test_python_env_all_problems_at_once(tmp_path):
    path = write(tmp_path, "python: 3.9\nbuild_dependencies: [1]\nextra: x\n")
    assert [p.line for p in check_python_env(path)] == [1, 2, 3]
    with pytest.raises(ProjectError) as caught:
        load_python_env(path)
    assert caught.value.message.startswith("3 problems in env.yaml: env.yaml:1 python")
    assert len(caught.value.details) == 3


def test_missing_file_is_a_problem(tmp_path):
    (problem,) = check_python_env(tmp_path / "nope.yaml")
    assert "cannot be read" in problem.message
    with pytest.raises(ProjectError, match="cannot be read"):
        load_conda_env(tmp_path / "nope.yaml")


def test_conda_env(tmp_path):
    path = write(
        tmp_path,
        """\
name: tutorial
channels:
  - conda-forge
dependencies:
  - python=3.11
  - numpy>=1.24
  - pip
  - pip:
    - mlflow>=2.0
    - -r requirements.txt
prefix: /opt/conda/envs/tutorial
variables:
  OMP_NUM_THREADS: 1
""",
        name="conda.yaml",
    )
    env = load_conda_env(path)
    assert env == CondaEnv(
        file=path,
        name="tutorial",
        channels=("conda-forge",),
        dependencies=("python=3.11", "numpy>=1.24", "pip"),
        pip=("mlflow>=2.0", "-r requirements.txt"),
    )
    assert env.python == "=3.11"
    assert check_conda_env(path) == []


def test_conda_env_minimal(tmp_path):
    path = write(tmp_path, "dependencies:\n  - python=3.10\n")
    assert load_conda_env(path) == CondaEnv(file=path, name=None, dependencies=("python=3.10",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "dependencies:\n  - pip:\n    - a\n  - pip:\n    - b\n",
            "env.yaml:4 dependencies[1]: a second pip section; put all pip requirements in one",
        ),
        (
            "dependencies:\n  - pipp:\n    - a\n",
            "env.yaml:2 dependencies[0].pipp: unknown key 'pipp' (expected pip); "
            "did you mean 'pip'?",
        ),
        (
            "dependencies:\n  - 3\n",
            "env.yaml:2 dependencies[0]: must be a package spec or a pip: list, not the number 3",
        ),
        ("dependencies: numpy\n", "env.yaml:1 dependencies: must be a list, not a string"),
        ("channels: conda-forge\n", "env.yaml:1 channels: must be a list of strings, not a string"),
        (
            "name: x\nchanel: [a]\n",
            "env.yaml:2 chanel: unknown key (expected name, channels, dependencies, prefix, "
            "variables); did you mean 'channels'?",
        ),
        ("variables: [A]\n", "env.yaml:1 variables: must be a mapping, not a list"),
        ("", "env.yaml: the file is empty; add channels and dependencies (see README)"),
    ],
)
def test_conda_env_problems(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert [str(p) for p in check_conda_env(path)] == [expected]
    with pytest.raises(ProjectError, match=r"env\.yaml"):
        load_conda_env(path)


def test_env_files_do_not_need_a_project(tmp_path):
    # The env layer reads these files directly; problems then show the file's name.
    sub = tmp_path / "deep" / "dir"
    sub.mkdir(parents=True)
    (problem,) = check_conda_env(write(sub, "channels: 3\n", name="conda.yml"))
    assert str(problem).startswith("conda.yml:1 channels")
