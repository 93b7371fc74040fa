"""Hot commands parsed without Typer (cli/fastparse.py) give what Typer gives, or defer to it."""

from __future__ import annotations

import importlib
import inspect
import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer

from mlproj.cli import fastparse
from mlproj.cli.app import app
from mlproj.cli.typerapp import invoke
from mlproj.errors import ExitCode
from tests.importprobe import run_probed

#: Command lines the table parses: each must give exactly the values Typer gives.
PARSED = [
    [],
    ["."],
    ["example_projects/basic"],
    ["-P", "alpha=0.5"],
    ["-P", "alpha=0.5", "-P", "l1_ratio=0.1", "--param", "x=y", "--param=z=w", "-Pq=1"],
    ["proj", "-e", "train.py", "-q"],
    ["-e", "validate", "proj", "--quiet"],
    ["--entry-point=main", "--env-manager", "local", "--experiment-name", "exp"],
    ["--run-name", "my run", "--tracking-uri", "sqlite:///x.db", "--strict-params"],
    ["--run-name=", "--experiment-name="],
    ["-v", "v1.2", "https://host/org/repo.git#sub", "--offline"],
    ["--version", "main", "-q"],
    ["-A", "gpus=all", "--docker-args", "shm-size=1g", "--build-image", "--keep-container"],
    ["--image-user", "--reuse", "--capture-scalars"],
    ["-b", "slurm", "-c", '{"partition": "gpu"}', "--detach"],
    ["--backend=kubernetes", "--backend-config=cfg.json", "--dry-run"],
    ["--run-name", "a", "--run-name", "b"],  # the last one counts
    ["-P", "msg=it's; $(rm -rf /) \n done", "-P", "empty="],
    ["-P", "neg=-1", "-e", "main"],
    ["-q", "-Palpha=1"],
    ["--run-name", "-x", "-e", "-q", "-P", "-"],  # a value is the next word, whatever it is
    ["--run-name", "--help"],
]

#: `runs list` command lines the table parses.
LIST_PARSED = [
    [],
    ["--json"],
    ["--csv", "--limit", "5"],
    ["--limit=0", "--experiment", "exp", "--status", "finished"],
    ["--filter", "params.alpha = '0.5' and metrics.rmse < 0.8", "--sort", "-metrics.rmse"],
    ["--tracking-uri=sqlite:///x.db", "--json", "--limit", "007"],
]
#: `runs list` command lines left to Typer.
LIST_DEFERRED = [
    ["--help"],
    ["--limit", "-1"],
    ["--limit", "+5"],
    ["--limit", " 5"],
    ["--limit", "5_0"],
    ["--limit", "x"],
    ["--limit"],
    ["--json=yes"],
    ["extra"],
    ["-q"],
]

#: `runs show|logs ...` command lines the tables parse.
SHOW_LOGS_PARSED = [
    ["show", "abc123"],
    ["show", "--json", "abc123", "--tracking-uri", "/s"],
    ["show", "abc", "--metric", "loss", "--metric=acc", "--json"],
    ["logs", "abc"],
    ["logs", "--stderr", "abc", "-f"],
    ["logs", "abc", "--follow", "--tracking-uri=/s"],
]
#: `runs show|logs ...` command lines left to Typer.
SHOW_LOGS_DEFERRED = [
    ["show"],
    ["show", "a", "b"],
    ["show", "a", "--metric"],
    ["show", "--help"],
    ["logs"],
    ["logs", "a", "-fq"],
    ["logs", "a", "--stderr=1"],
]

#: `log ...` command lines the tables parse.
LOG_PARSED = [
    ["metric", "loss", "0.25"],
    ["metric", "loss", "0.25", "--step", "3"],
    ["metric", "--step=12", "acc", "nan", "--run", "abc", "--tracking-uri", "/s"],
    ["param", "alpha", "0.5"],
    ["param", "msg", "-x"[1:], "--run=abc"],
    ["tag", "stage", "a b; $(c)"],
    ["artifact", "model.pkl"],
    ["artifact", "out/", "--artifact-path", "models/v1"],
]
#: `log ...` command lines left to Typer.
LOG_DEFERRED = [
    ["metric", "loss"],
    ["metric", "loss", "-0.5"],  # click reads -0.5 as an option: its error, not a metric
    ["metric", "loss", "1", "--step", "-1"],
    ["metric", "loss", "1", "2"],
    ["param", "--help"],
    ["tag"],
    ["artifact"],
    ["artifact", "a", "b"],
    ["artifact", "a", "--step", "3"],
]

#: Command lines the table leaves to Typer (help, usage errors, and what it is unsure of).
DEFERRED = [
    ["--help"],
    ["-h"],
    ["--nope"],
    ["--quiet=1"],
    ["-qv"],
    ["-P"],
    ["-e"],
    ["a", "b"],
    ["-"],
    ["--", "proj"],
    ["-P=alpha=1"],
    ["--para", "a=1"],
    ["-Z"],
]


def body_function(body: str) -> Any:
    module, _, name = body.partition(":")
    return getattr(importlib.import_module(module), name)


def effective(function: Any, *positional: Any, **keywords: Any) -> dict[str, Any]:
    """Every parameter ``function`` gets for this call, defaults included."""
    bound = inspect.signature(function).bind(*positional, **keywords)
    bound.apply_defaults()
    return dict(bound.arguments)


def typer_values(words: list[str], args: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The body the Typer function for ``words`` calls, and every argument it gets."""
    seen: dict[str, Any] = {}
    body = fastparse.TABLES[tuple(words)].body
    real = body_function(body)

    def record(*positional: Any, **keywords: Any) -> int:
        seen.update(effective(real, *positional, **keywords))
        return 0

    monkeypatch.setattr(importlib.import_module(body.partition(":")[0]), real.__name__, record)
    assert invoke(app, [*words, *args], prog_name="mlproj") == 0
    return body, seen


def fast_values(args: list[str]) -> Any:
    """The body the table names for ``mlproj ARGS``, and every argument it would get."""
    found = fastparse.command_for(args)
    assert found is not None
    body, options = found
    return body, effective(body_function(body), **options)


@pytest.mark.parametrize("args", PARSED, ids=lambda a: " ".join(a) or "(none)")
def test_parsed_run_command_lines_give_what_typer_gives(args, monkeypatch):
    fast = fast_values(["run", *args])  # first: typer_values replaces the body with a recorder
    assert fast == typer_values(["run"], list(args), monkeypatch)


@pytest.mark.parametrize("args", LIST_PARSED, ids=lambda a: " ".join(a) or "(none)")
def test_parsed_runs_list_command_lines_give_what_typer_gives(args, monkeypatch):
    fast = fast_values(["runs", "list", *args])
    assert fast == typer_values(["runs", "list"], list(args), monkeypatch)


@pytest.mark.parametrize("args", SHOW_LOGS_PARSED, ids=" ".join)
def test_parsed_runs_show_and_logs_command_lines_give_what_typer_gives(args, monkeypatch):
    fast = fast_values(["runs", *args])
    assert fast == typer_values(["runs", args[0]], list(args[1:]), monkeypatch)


@pytest.mark.parametrize("args", LOG_PARSED, ids=" ".join)
def test_parsed_log_command_lines_give_what_typer_gives(args, monkeypatch):
    fast = fast_values(["log", *args])
    assert fast == typer_values(["log", args[0]], list(args[1:]), monkeypatch)


@pytest.mark.parametrize(
    "args",
    [["run", *a] for a in DEFERRED]
    + [["runs", "list", *a] for a in LIST_DEFERRED]
    + [["runs", *a] for a in SHOW_LOGS_DEFERRED]
    + [["log", *a] for a in LOG_DEFERRED]
    + [["--help"], ["runs"], ["runs", "delete", "abc"], ["log"], ["--version"], []],
    ids=" ".join,
)
def test_unsure_command_lines_are_left_to_typer(args):
    assert fastparse.command_for(list(args)) is None


def click_command(words: tuple[str, ...]) -> Any:
    """The click command Typer builds for ``words`` (Typer may vendor click: no click types)."""
    group = typer.main.get_command(app)
    for word in words:
        group = group.commands[word]
    return group


def spellings(command: Any) -> tuple[dict[str, str], list[str]]:
    """Every option spelling of ``command`` with its kind, and its arguments' names."""
    kinds: dict[str, str] = {}
    arguments: list[str] = []
    for param in command.params:
        if param.param_type_name == "argument":
            arguments.append(param.name)
            continue
        assert param.param_type_name == "option"
        kind = "flag" if param.is_flag else "repeated" if param.multiple else param.type.name
        for spelling in (*param.opts, *param.secondary_opts):
            kinds[spelling] = kind
    return kinds, arguments


def table_spellings(table: fastparse.Table) -> dict[str, str]:
    kinds = dict.fromkeys(table.flags, "flag")
    kinds.update(dict.fromkeys(table.values, "str"))
    kinds.update(dict.fromkeys(table.integers, "int"))
    kinds.update(dict.fromkeys(table.repeated, "repeated"))
    return kinds


@pytest.mark.parametrize("words", list(fastparse.TABLES), ids=" ".join)
def test_each_table_knows_every_option_of_the_typer_command(words):
    """An option or argument added to the Typer command must be added to its table, or this fails.

    The names and defaults the table gives are checked by the parsed command lines above.
    """
    table = fastparse.TABLES[words]
    command = click_command(words)
    kinds, arguments = spellings(command)
    assert kinds == table_spellings(table)
    assert len(arguments) == len(table.arguments)
    required = [p for p in command.params if p.param_type_name == "argument" and p.required]
    assert len(required) == table.required


def test_help_and_usage_errors_still_come_from_typer(mlproj):
    shown = mlproj("run", "--help")
    assert shown.returncode == 0
    assert "--env-manager" in shown.stdout
    assert "Usage: mlproj run" in shown.stdout
    wrong = mlproj("run", "--nope")
    assert wrong.returncode == ExitCode.USAGE
    assert "No such option: --nope" in wrong.stderr
    extra = mlproj("run", "a", "b")
    assert extra.returncode == ExitCode.USAGE
    assert "unexpected extra argument" in extra.stderr
    listed = mlproj("runs", "list", "--limit", "x")
    assert listed.returncode == ExitCode.USAGE
    assert "'x' is not a valid int" in listed.stderr


def probe(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run ``mlproj ARGS``; check it imported none of Typer, click, Rich; return its stdout."""
    loaded, stdout = run_probed(("typer", "click", "rich"), args, env=env, cwd=cwd)
    assert loaded == [], args
    return stdout


def test_plain_hot_command_lines_import_no_typer(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    command = json.dumps("echo {alpha}")
    (project / "MLproject").write_text(
        "name: t\nentry_points:\n  main:\n    parameters:\n      alpha: {type: float, default: 1}\n"
        f"    command: {command}\n"
    )
    env = dict(os.environ, MLPROJ_TRACKING_URI=str(tmp_path / "store"))
    assert probe(["run", str(project), "-P", "alpha=2", "--run-name", "r", "-q"], env, tmp_path)
    [run] = json.loads(probe(["runs", "list", "--json", "--limit", "5"], env, tmp_path))
    shown = json.loads(probe(["runs", "show", run["run_id"][:8], "--json"], env, tmp_path))
    assert shown["run_name"] == "r"
    assert probe(["runs", "logs", run["run_id"]], env, tmp_path) == "2\n"
    # As inside a run: the line goes to the run's log file.
    env.update(MLPROJ_RUN_ID="0" * 32, MLPROJ_LOG_FILE=str(tmp_path / "log.jsonl"))
    probe(["log", "metric", "loss", "0.5", "--step", "2"], env, tmp_path)
    assert json.loads((tmp_path / "log.jsonl").read_text())["step"] == 2
