"""`mlproj run` end to end: real processes, a real store, the example projects."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import EXAMPLES, REPO

LINEAR = EXAMPLES / "linear_regression"
RUN_SCHEMA = json.loads((REPO / "schemas" / "run.schema.json").read_text())


def only_run(mlproj) -> dict:
    listed = mlproj("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = listed.json()
    assert len(runs) == 1, runs
    return runs[0]


def test_run_example_records_params_as_typed(mlproj):
    result = mlproj("run", str(LINEAR), "-P", "learning_rate=0.10", "-P", "epochs=50")
    assert result.returncode == 0, result.stderr
    assert "rmse" in result.stdout
    assert "mlproj: run " in result.stderr  # our messages go to stderr, stdout stays the program's
    assert "mlproj" not in result.stdout
    run = only_run(mlproj)
    assert run["status"] == "FINISHED"
    assert run["exit_code"] == 0
    assert run["params"]["learning_rate"] == "0.10"  # the user's text, not a re-formatted float
    assert run["params"]["epochs"] == "50"
    assert run["params"]["label"] == "baseline"  # defaults are recorded too
    assert run["entry_point"] == "main"
    assert (run["env"]["manager"], run["env"]["key"]) == ("local", None)
    assert "python" in run["env"]["details"]
    assert run["source"]["uri"] == str(LINEAR)
    assert run["end_time"] is not None
    jsonschema.validate(run, RUN_SCHEMA)


def test_json_output_matches_published_schema(mlproj):
    assert mlproj("run", str(LINEAR), "-e", "fail", "-P", "code=4").returncode == 4
    listed = mlproj("runs", "list", "--json").json()
    jsonschema.validate(listed, {"type": "array", "items": RUN_SCHEMA})
    shown = mlproj("runs", "show", listed[0]["run_id"][:6], "--json").json()
    jsonschema.validate(shown, RUN_SCHEMA)
    assert shown == listed[0]


@pytest.mark.parametrize("code", [1, 3, 42])
def test_exit_code_of_entry_point_is_propagated(mlproj, code):
    result = mlproj("run", str(LINEAR), "-e", "fail", "-P", f"code={code}")
    assert result.returncode == code
    assert f"failing on purpose with exit code {code}" in result.stderr
    run = only_run(mlproj)
    assert run["status"] == "FAILED"
    assert run["exit_code"] == code


def test_shell_template_with_a_pipe(mlproj):
    result = mlproj("run", str(LINEAR), "-e", "summary")
    assert result.returncode == 0, result.stderr
    assert "rows: 40" in result.stdout
    assert "columns: x,y" in result.stdout


NASTY = [
    "two words",
    'it\'s "quoted"',
    "a; rm -rf /tmp/nothing",
    "$(echo injected)",
    "`echo injected`",
    "line one\nline two",
    "*",
    "--looks-like-an-option",
    "{alpha}",
    "",
]


@pytest.mark.parametrize("value", NASTY)
def test_parameter_values_arrive_as_one_literal_argument(mlproj, value):
    result = mlproj("run", str(LINEAR), "-e", "show_args", "-P", f"value={value}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [value]
    assert only_run(mlproj)["params"]["value"] == value


@pytest.mark.parametrize("value", ["two words", "$(echo injected) | cat", "a\nb", "'"])
def test_values_stay_literal_in_shell_templates(mlproj, write_project, value):
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n    parameters: {v: string}\n"
            "    command: python show.py {v} | cat\n",
            "show.py": "import json, sys\nprint(json.dumps(sys.argv[1:]))\n",
        }
    )
    result = mlproj("run", str(project), "-P", f"v={value}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [value]


def test_undeclared_params_are_appended_and_recorded(mlproj):
    result = mlproj("run", str(LINEAR), "-e", "show_args", "-P", "value=x", "-P", "extra=1 2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["x", "--extra", "1 2"]
    assert only_run(mlproj)["params"] == {"value": "x", "extra": "1 2"}


def test_strict_params_refuses_undeclared(mlproj):
    result = mlproj(
        "run", str(LINEAR), "-e", "show_args", "-P", "value=x", "-P", "extra=1", "--strict-params"
    )
    assert result.returncode == 113
    assert "extra" in result.stderr
    assert mlproj("runs", "list", "--json").json() == []


def test_child_gets_run_identity(mlproj, write_project, store_dir):
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n    command: python env.py\n",
            "env.py": "import json, os\nprint(json.dumps({k: v for k, v in os.environ.items()"
            " if k.startswith('MLPROJ_')}))\n",
        }
    )
    result = mlproj("run", str(project))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    run = only_run(mlproj)
    assert seen["MLPROJ_RUN_ID"] == run["run_id"]
    assert seen["MLPROJ_EXPERIMENT_ID"] == run["experiment_id"]
    assert Path(seen["MLPROJ_TRACKING_URI"]) == store_dir


def test_working_directory_is_the_project_and_path_defaults_resolve_there(mlproj, tmp_path):
    result = mlproj("run", str(LINEAR), "-P", "epochs=5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = only_run(mlproj)
    assert run["params"]["data"] == "data/points.csv"
    assert str(LINEAR / "data" / "points.csv") in run["command"]


def test_path_param_from_command_line_resolves_against_caller(mlproj, tmp_path):
    data = tmp_path / "mine.csv"
    data.write_text("x,y\n0,1\n1,4\n2,7\n")
    result = mlproj("run", str(LINEAR), "-P", "data=mine.csv", "-P", "epochs=5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(data) in only_run(mlproj)["command"]


def test_logs_are_saved_with_the_run(mlproj):
    assert mlproj("run", str(LINEAR), "-e", "fail", "-P", "code=2").returncode == 2
    run_id = only_run(mlproj)["run_id"]
    assert mlproj("runs", "logs", run_id).stdout == ""
    err = mlproj("runs", "logs", run_id, "--stderr")
    assert err.stdout == "failing on purpose with exit code 2\n"
    assert mlproj("run", str(LINEAR), "-P", "epochs=5", "-q").returncode == 0
    newest = mlproj("runs", "list", "--json").json()[0]
    assert "rmse" in mlproj("runs", "logs", newest["run_id"]).stdout


def test_quiet_prints_no_mlproj_messages(mlproj):
    result = mlproj("run", str(LINEAR), "-P", "epochs=5", "-q")
    assert result.returncode == 0
    assert "mlproj:" not in result.stderr
    assert "rmse" in result.stdout


def test_convention_project_runs_files(mlproj):
    py = mlproj("run", str(EXAMPLES / "convention"), "-e", "train.py", "-P", "n=4")
    assert py.returncode == 0, py.stderr
    assert "mean of the first 4 squares: 3.5" in py.stdout
    sh = mlproj("run", str(EXAMPLES / "convention"), "-e", "run.sh", "-P", "greeting=hi")
    assert sh.returncode == 0, sh.stderr
    assert sh.stdout == "hi from convention\n"
    runs = mlproj("runs", "list", "--json").json()
    assert [r["params"] for r in runs] == [{"greeting": "hi"}, {"n": "4"}]


def test_missing_program_is_the_entry_points_failure(mlproj, write_project):
    project = write_project({"MLproject": "entry_points:\n  main:\n    command: no-such-prog-x\n"})
    result = mlproj("run", str(project))
    assert result.returncode == 127
    assert "no-such-prog-x" in result.stderr
    run = only_run(mlproj)
    assert (run["status"], run["exit_code"]) == ("FAILED", 127)


def test_experiment_and_run_name(mlproj):
    result = mlproj(
        "run",
        str(LINEAR),
        "-P",
        "epochs=5",
        "--experiment-name",
        "tuning",
        "--run-name",
        "first try",
    )
    assert result.returncode == 0, result.stderr
    run = only_run(mlproj)
    assert (run["experiment"], run["run_name"]) == ("tuning", "first try")
    names = [e["name"] for e in mlproj("experiments", "list", "--json").json()]
    assert "tuning" in names
    assert (
        mlproj("runs", "list", "--experiment", "tuning", "--json").json()[0]["run_id"]
        == (run["run_id"])
    )


def test_tracking_uri_option_and_sqlite_uri(mlproj, tmp_path):
    db = tmp_path / "elsewhere" / "t.db"
    result = mlproj("run", str(LINEAR), "-P", "epochs=5", "--tracking-uri", f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    assert db.is_file()
    runs = mlproj("runs", "list", "--json", "--tracking-uri", f"sqlite:///{db}").json()
    assert len(runs) == 1
    assert mlproj("runs", "list", "--json").json() == []  # the default store is untouched


def test_the_user_recorded_is_getpass_s_answer(mlproj, monkeypatch):
    """The user comes from LOGNAME, USER, LNAME, USERNAME, then the passwd entry, as getpass."""
    import getpass
    import os
    import pwd

    none = {"LOGNAME": "", "USER": "", "LNAME": "", "USERNAME": ""}
    named = mlproj("run", str(LINEAR), "--run-name", "named", **{**none, "USER": "alice"})
    assert named.returncode == 0, named.stderr
    unnamed = mlproj("run", str(LINEAR), "--run-name", "unnamed", **none)
    assert unnamed.returncode == 0, unnamed.stderr
    runs = {run["run_name"]: run for run in mlproj("runs", "list", "--json").json()}
    assert runs["named"]["user"] == "alice"
    assert runs["unnamed"]["user"] == pwd.getpwuid(os.getuid()).pw_name
    for name, value in none.items():
        monkeypatch.setenv(name, value)
    assert runs["unnamed"]["user"] == getpass.getuser()
