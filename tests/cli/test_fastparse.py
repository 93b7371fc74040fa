"""`mlproj run` and `runs list` parsed without Typer (cli/fastparse.py) give what Typer gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

import mlproj.cli.commands
from mlproj.cli import fastparse
from mlproj.cli.app import app
from mlproj.cli.typerapp import invoke
from mlproj.errors import ExitCode

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


def typer_values(
    command: list[str], body: str, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The keyword arguments Typer's function for ``command`` passes to ``commands.<body>``."""
    seen: dict[str, Any] = {}

    def record(**values: Any) -> int:
        seen.update(values)
        return 0

    monkeypatch.setattr(mlproj.cli.commands, body, record)
    assert invoke(app, [*command, *args], prog_name="mlproj") == 0
    return seen


@pytest.mark.parametrize("args", PARSED, ids=lambda a: " ".join(a) or "(none)")
def test_parsed_run_command_lines_give_what_typer_gives(args, monkeypatch):
    parsed = fastparse.parse(fastparse.RUN, list(args))
    assert parsed is not None
    assert parsed == typer_values(["run"], "run_command", list(args), monkeypatch)


@pytest.mark.parametrize("args", LIST_PARSED, ids=lambda a: " ".join(a) or "(none)")
def test_parsed_runs_list_command_lines_give_what_typer_gives(args, monkeypatch):
    parsed = fastparse.parse(fastparse.RUNS_LIST, list(args))
    assert parsed is not None
    typer_gives = typer_values(["runs", "list"], "runs_list_command", list(args), monkeypatch)
    assert parsed == typer_gives


@pytest.mark.parametrize("args", DEFERRED, ids=" ".join)
def test_unsure_run_command_lines_are_left_to_typer(args):
    assert fastparse.parse(fastparse.RUN, list(args)) is None


@pytest.mark.parametrize("args", LIST_DEFERRED, ids=" ".join)
def test_unsure_runs_list_command_lines_are_left_to_typer(args):
    assert fastparse.parse(fastparse.RUNS_LIST, list(args)) is None


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
    """An option added to the Typer command must be added to its table, or this fails.

    The names and defaults the table gives are checked by the parsed command lines above (the
    empty one gives every default).
    """
    table = fastparse.TABLES[words]
    kinds, arguments = spellings(click_command(words))
    assert kinds == table_spellings(table)
    assert arguments == ([table.argument] if table.argument else [])
    assert len(table.defaults) == len(click_command(words).params)


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


PROBE = """
import atexit, json, sys
def report():
    loaded = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'rich'})
    sys.stderr.write('LOADED=' + json.dumps(loaded) + '\\n')
atexit.register(report)
from mlproj.cli.main import main
main(json.loads(sys.argv[1]))
"""


def test_a_plain_run_and_runs_list_import_no_typer(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    command = json.dumps(f"{sys.executable} -c pass {{alpha}}")
    (project / "MLproject").write_text(
        "name: t\nentry_points:\n  main:\n    parameters:\n      alpha: {type: float, default: 1}\n"
        f"    command: {command}\n"
    )
    env = dict(os.environ, MLPROJ_TRACKING_URI=str(tmp_path / "store"))
    run = ["run", str(project), "-P", "alpha=2", "--run-name", "r", "-q"]
    for args in (run, ["runs", "list", "--json", "--limit", "5"]):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, json.dumps(args)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED="))
        assert json.loads(line.removeprefix("LOADED=")) == []
