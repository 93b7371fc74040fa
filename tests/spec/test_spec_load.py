"""Loading projects: finding the MLproject, validating it, choosing the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlproj.errors import ProjectError
from mlproj.spec.envmodel import DockerEnv
from mlproj.spec.load import check_project, find_spec_file, load_project
from mlproj.spec.model import EnvKind, ParamType

REPO = Path(__file__).resolve().parents[2]
MAIN = """
entry_points:
  main:
    command: python train.py
"""
PYTHON_ENV = 'python: "3.11"\n'
CONDA = "channels: [conda-forge]\ndependencies: [python=3.11]\n"


def messages(directory: Path) -> list[str]:
    project, problems = check_project(directory)
    assert (project is None) == bool(problems)
    return [str(problem) for problem in problems]


# --- finding the MLproject file ------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["MLproject", "MLProject", "mlproject", "MLPROJECT", "MLproject.yaml", "MLproject.yml"]
)
def test_spec_file_names(make_project, name):
    root = make_project({name: MAIN})
    assert find_spec_file(root) == root.resolve() / name
    assert load_project(root).spec_file == root.resolve() / name


def test_no_spec_file_is_none(make_project):
    root = make_project({"train.py": ""})
    assert find_spec_file(root) is None


def test_a_directory_named_mlproject_is_not_the_spec(make_project):
    root = make_project({"MLproject/readme.txt": "not a spec"})
    assert find_spec_file(root) is None


def test_two_spec_files_are_ambiguous(make_project):
    root = make_project({"MLproject": MAIN, "MLproject.yaml": MAIN})
    with pytest.raises(ProjectError, match=r"more than one MLproject file .*MLproject.yaml"):
        find_spec_file(root)
    assert messages(root) == [
        "MLproject: more than one MLproject file (MLproject, MLproject.yaml); keep one"
    ]


def test_missing_directory_raises(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        check_project(tmp_path / "nope")
    with pytest.raises(ProjectError, match="does not exist"):
        find_spec_file(tmp_path / "nope")
    (tmp_path / "file").write_text("")
    with pytest.raises(ProjectError, match="not a directory"):
        load_project(tmp_path / "file")


# --- convention projects -------------------------------------------------------------------


def test_convention_project(make_project):
    root = make_project({"train.py": "print(1)\n"}, name="my-folder")
    project = load_project(root)
    assert project.name == "my-folder"
    assert project.spec_file is None
    assert project.entry_points == {}
    assert project.env.kind is EnvKind.NONE
    assert project.directory == root.resolve()


@pytest.mark.parametrize(
    ("files", "kind", "file"),
    [
        ({"python_env.yaml": PYTHON_ENV}, EnvKind.PYTHON_ENV, "python_env.yaml"),
        ({"conda.yaml": CONDA}, EnvKind.CONDA, "conda.yaml"),
        ({"conda.yml": CONDA}, EnvKind.CONDA, "conda.yml"),
        (
            {"python_env.yaml": PYTHON_ENV, "conda.yaml": CONDA},
            EnvKind.PYTHON_ENV,
            "python_env.yaml",
        ),
        ({"conda.yaml": CONDA, "conda.yml": CONDA}, EnvKind.CONDA, "conda.yaml"),
    ],
)
def test_convention_env_files(make_project, files, kind, file):
    for with_spec in (False, True):
        root = make_project({**files, **({"MLproject": MAIN} if with_spec else {})})
        env = load_project(root).env
        assert env.kind is kind
        assert env.file == root.resolve() / file
        assert env.file.is_absolute()


def test_convention_env_file_is_validated(make_project):
    root = make_project({"python_env.yaml": "python: 3.10\n"})
    assert messages(root) == [
        "python_env.yaml:1 python: must be a version string, not the number 3.10; "
        'quote it to keep the text: "3.10"'
    ]


# --- declared environments -----------------------------------------------------------------


def test_declared_env_beats_convention_files(make_project):
    root = make_project(
        {
            "MLproject": "conda_env: envs/my_env.yaml\n",
            "envs/my_env.yaml": CONDA,
            "python_env.yaml": PYTHON_ENV,
        }
    )
    env = load_project(root).env
    assert env.kind is EnvKind.CONDA
    assert env.file == root.resolve() / "envs" / "my_env.yaml"


def test_declared_python_env(make_project):
    root = make_project({"MLproject": "python_env: py.yaml\n", "py.yaml": PYTHON_ENV})
    assert load_project(root).env.kind is EnvKind.PYTHON_ENV


def test_docker_env_beats_env_files(make_project):
    root = make_project(
        {
            "MLproject": """
                docker_env:
                  image: mlflow-docker-example-environment
                  volumes: ["/local/path:/container/mount/path"]
                  environment: [["NEW_ENV_VAR", "new_var_value"], "VAR_TO_COPY", [PORT, 8080]]
            """,
            "python_env.yaml": "this is: [not valid",
        }
    )
    env = load_project(root).env
    assert env.kind is EnvKind.DOCKER
    assert env.file is None
    assert env.docker == DockerEnv(
        image="mlflow-docker-example-environment",
        volumes=("/local/path:/container/mount/path",),
        environment=(("NEW_ENV_VAR", "new_var_value"), ("VAR_TO_COPY", None), ("PORT", "8080")),
    )


def test_two_env_keys_are_a_problem_at_the_second(make_project):
    root = make_project(
        {
            "MLproject": "name: x\npython_env: a.yaml\nconda_env: b.yaml\ndocker_env: {image: i}\n",
            "a.yaml": PYTHON_ENV,
            "b.yaml": CONDA,
        }
    )
    assert messages(root) == [
        f"MLproject:{line} {key}: a project declares at most one environment, and docker_env is "
        "already declared; keep one of docker_env, python_env, conda_env"
        for line, key in ((2, "python_env"), (3, "conda_env"))
    ]


def test_declared_env_file_missing(make_project):
    root = make_project({"MLproject": "name: x\nconda_env: conda.yml\n", "conda.yaml": CONDA})
    assert messages(root) == [
        "MLproject:2 conda_env: 'conda.yml' does not exist; give the path of a YAML file in the "
        "project; did you mean 'conda.yaml'?"
    ]


def test_declared_env_file_is_a_directory(make_project):
    root = make_project({"MLproject": "python_env: envs\n", "envs/x.yaml": PYTHON_ENV})
    assert messages(root) == [
        "MLproject:1 python_env: 'envs' is a directory; give the path of a YAML file in the project"
    ]


@pytest.mark.parametrize("path", ["../conda.yaml", "sub/../../conda.yaml", "/etc/hostname"])
def test_declared_env_file_may_not_escape(make_project, tmp_path, path):
    (tmp_path / "conda.yaml").write_text(CONDA)
    root = make_project({"MLproject": f"conda_env: {path}\n", "sub/x": ""})
    assert messages(root) == [
        f"MLproject:1 conda_env: {path!r} is outside the project directory; "
        "keep env files inside it"
    ]


def test_declared_env_file_problems_are_included(make_project):
    root = make_project(
        {
            "MLproject": "name: x\nconda_env: envs/conda.yaml\nentry_points: {main: {}}\n",
            "envs/conda.yaml": "name: env\nchanels: [conda-forge]\n",
        }
    )
    assert messages(root) == [
        "MLproject:3 entry_points.main: command is required (for example command: python train.py)",
        "envs/conda.yaml:2 chanels: unknown key (expected name, channels, dependencies, prefix, "
        "variables); did you mean 'channels'?",
    ]
    with pytest.raises(ProjectError) as caught:
        load_project(root)
    assert caught.value.message.startswith("2 problems in MLproject, envs/conda.yaml: MLproject:3")
    assert len(caught.value.details) == 2


# --- the MLproject file itself ------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n", "---\n"])
def test_empty_file(make_project, text):
    root = make_project({"MLproject": text})
    assert messages(root) == [
        "MLproject: the file is empty; add a name and entry_points (see README)"
    ]


def test_not_yaml_reports_the_line(make_project):
    root = make_project({"MLproject": "name: x\nentry_points:\n  main: [unclosed\n\n"})
    (problem,) = check_project(root)[1]
    assert problem.line == 5
    assert "is not valid YAML" in problem.message


def test_tab_indentation_is_not_yaml(make_project):
    root = make_project({"MLproject": "name: x\nentry_points:\n\tmain: {}\n"})
    (problem,) = check_project(root)[1]
    assert problem.line == 3
    assert str(problem).startswith("MLproject:3: is not valid YAML")


def test_top_level_must_be_a_mapping(make_project):
    root = make_project({"MLproject": "- main\n- train\n"})
    assert messages(root) == [
        "MLproject:1: the top level must be a mapping (name:, entry_points:...), not a list"
    ]


def test_unknown_keys_everywhere_with_did_you_mean(make_project):
    root = make_project(
        {
            "MLproject": """\
                name: x
                entrypoints: {}
                docker_env:
                  image: i
                  volume: []
                """
        }
    )
    assert messages(root) == [
        "MLproject:2 entrypoints: unknown key (expected name, python_env, conda_env, docker_env, "
        "entry_points); did you mean 'entry_points'?",
        "MLproject:5 docker_env.volume: unknown key (expected image, volumes, environment); "
        "did you mean 'volumes'?",
    ]


def test_databricks_spark_job_is_named_as_unsupported(make_project):
    root = make_project({"MLproject": "databricks_spark_job: {python_file: a.py}\n"})
    assert messages(root) == [
        "MLproject:1 databricks_spark_job: runs only on Databricks; mlproj does not support it"
    ]


def test_name_defaults_to_folder_and_must_be_a_string(make_project):
    assert load_project(make_project({"MLproject": MAIN}, name="folder")).name == "folder"
    assert load_project(make_project({"MLproject": "name: My Project\n"})).name == "My Project"
    root = make_project({"MLproject": "name: [a]\n"})
    assert messages(root) == ["MLproject:1 name: must be a string, not a list"]


def test_entry_points_are_optional_and_may_be_empty(make_project):
    assert load_project(make_project({"MLproject": "name: x\n"})).entry_points == {}
    assert load_project(make_project({"MLproject": "entry_points:\n"})).entry_points == {}


def test_entry_points_keep_declaration_order(make_project):
    root = make_project(
        {
            "MLproject": """
                entry_points:
                  zeta: {command: a}
                  alpha: {command: b}
                  main: {command: c}
            """
        }
    )
    assert list(load_project(root).entry_points) == ["zeta", "alpha", "main"]


def test_entry_point_problems(make_project):
    root = make_project(
        {
            "MLproject": """\
                entry_points:
                  no_command:
                    parameters: {a: float}
                  blank: {command: "  "}
                  number: {command: 42}
                  text: python train.py
                  7: {command: x}
                  "": {command: x}
                """
        }
    )
    assert messages(root) == [
        "MLproject:2 entry_points.no_command: command is required (for example command: "
        "python train.py)",
        "MLproject:4 entry_points.blank.command: is empty (expected a string)",
        "MLproject:5 entry_points.number.command: must be a string, not the number 42; quote it "
        'to keep the text: "42"',
        "MLproject:6 entry_points.text: must be a mapping, not a string",
        "MLproject:7 entry_points: keys must be strings, not the number 7",
        "MLproject:8 entry_points: keys must not be empty",
    ]


def test_duplicate_keys_are_a_problem(make_project):
    root = make_project({"MLproject": "name: a\nentry_points:\n  m: {command: x}\nname: b\n"})
    assert messages(root) == ["MLproject:4 name: duplicate key (first at line 1)"]


def test_merge_keys_work_like_safe_load(make_project):
    root = make_project(
        {
            "MLproject": """
                entry_points:
                  train: &base
                    parameters: {alpha: {type: float, default: 0.5}}
                    command: python train.py {alpha}
                  again:
                    <<: *base
                  other:
                    <<: *base
                    command: python other.py {alpha}
            """
        }
    )
    entry_points = load_project(root).entry_points
    assert entry_points["again"].command == "python train.py {alpha}"
    assert entry_points["other"].command == "python other.py {alpha}"
    assert entry_points["other"].parameters == entry_points["train"].parameters


def test_all_problems_at_once(make_project):
    root = make_project(
        {
            "MLproject": """\
                name: x
                conda_env: missing.yaml
                entry_points:
                  main:
                    parameters:
                      alpha: {type: flaot, default: 0.5}
                      epochs: {type: int, default: ten}
                    command: python train.py {alpha} {epochs} {unknown}
                  other: {comand: x}
                """
        }
    )
    found = messages(root)
    assert [message.split(" ", 1)[0] for message in found] == [
        "MLproject:2",
        "MLproject:6",
        "MLproject:7",
        "MLproject:8",
        "MLproject:9",
        "MLproject:9",
    ]
    with pytest.raises(ProjectError) as caught:
        load_project(root)
    assert caught.value.message.startswith("6 problems in MLproject: MLproject:")
    assert caught.value.details == tuple(found)


def test_command_template_problems_have_the_command_line(make_project):
    root = make_project(
        {
            "MLproject": """\
                entry_points:
                  main:
                    parameters:
                      alpha: float
                    command: |
                      python train.py {alpha:.2f} {alhpa}
                """
        }
    )
    assert messages(root) == [
        "MLproject:5 entry_points.main.command: placeholder {alpha:.2f} has a format spec; "
        "values are passed exactly as given, write {alpha}",
        "MLproject:5 entry_points.main.command: unknown placeholder {alhpa}: not a parameter of "
        "entry point 'main' (declared: alpha); did you mean 'alpha'?",
    ]


def test_example_projects_are_valid():
    folders = [path for path in (REPO / "example_projects").iterdir() if path.is_dir()]
    assert folders
    for folder in folders:
        assert messages(folder) == [], folder


def test_loaded_model(make_project):
    root = make_project(
        {
            "MLproject": """
                name: tutorial
                conda_env: conda.yaml
                entry_points:
                  main:
                    parameters:
                      alpha: {type: float, default: 0.50}
                      data_file: path
                    command: "python train.py {alpha} {data_file}"
            """,
            "conda.yaml": CONDA,
        }
    )
    project = load_project(root)
    main = project.entry_point("main")
    assert main is not None
    assert main.command == "python train.py {alpha} {data_file}"
    assert [(p.name, p.type, p.default) for p in main.parameters] == [
        ("alpha", ParamType.FLOAT, "0.50"),
        ("data_file", ParamType.PATH, None),
    ]
    assert not main.is_file


def test_byte_order_mark_is_tolerated(make_project):
    root = make_project({})
    (root / "MLproject").write_bytes("\ufeffname: bom\n".encode())
    assert load_project(root).name == "bom"


def test_non_utf8_file_is_a_problem(make_project):
    root = make_project({})
    (root / "MLproject").write_bytes(b"name: \xff\xfe\n")
    assert messages(root) == ["MLproject: is not UTF-8 text; save it as UTF-8"]


def test_two_yaml_documents_are_a_problem(make_project):
    root = make_project({"MLproject": "name: a\n---\nname: b\n"})
    (problem,) = check_project(root)[1]
    assert problem.line == 2
    assert "expected a single document" in problem.message
