"""`mlproj run` parsed without Typer (cli/fastrun.py) gives what Typer gives, or defers to it."""

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
from mlproj.cli import fastrun
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
    ["--run-name", "-x"],
    ["-P=alpha=1"],
    ["--para", "a=1"],
    ["-Z"],
]


def typer_values(args: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The keyword arguments Typer's `run` command passes to run_command for ``args``."""
    seen: dict[str, Any] = {}

    def record(**values: Any) -> int:
        seen.update(values)
        return 0

    monkeypatch.setattr(mlproj.cli.commands, "run_command", record)
    assert invoke(app, ["run", *args], prog_name="mlproj") == 0
    return seen


@pytest.mark.parametrize("args", PARSED, ids=lambda a: " ".join(a) or "(none)")
def test_parsed_command_lines_give_what_typer_gives(args, monkeypatch):
    parsed = fastrun.parse_run_args(list(args))
    assert parsed is not None
    assert parsed == typer_values(list(args), monkeypatch)


@pytest.mark.parametrize("args", DEFERRED, ids=" ".join)
def test_unsure_command_lines_are_left_to_typer(args):
    assert fastrun.parse_run_args(list(args)) is None


def run_click_command() -> Any:
    """The click command Typer builds for `run` (Typer may vendor click: no click types here)."""
    info = next(
        i
        for i in app.registered_commands
        if i.callback is not None and i.name is None and i.callback.__name__ == "run"
    )
    return typer.main.get_command_from_info(
        info, pretty_exceptions_short=True, rich_markup_mode=app.rich_markup_mode
    )


def test_the_table_knows_every_option_of_the_typer_command():
    """An option added to `run` in cli/app.py must be added to the table (or this fails)."""
    command = run_click_command()
    flags, values, repeated, arguments = {}, {}, {}, []
    for param in command.params:
        if param.param_type_name == "argument":
            arguments.append(param.name)
            continue
        assert param.param_type_name == "option"
        table = flags if param.is_flag else repeated if param.multiple else values
        for spelling in (*param.opts, *param.secondary_opts):
            table[spelling] = param.name
    assert flags == fastrun.FLAGS
    assert values == fastrun.VALUES
    assert repeated == fastrun.REPEATED
    assert arguments == [fastrun.ARGUMENT]
    assert set(fastrun.DEFAULTS) == {param.name for param in command.params}


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


PROBE = """
import atexit, json, sys
def report():
    loaded = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'rich'})
    sys.stderr.write('LOADED=' + json.dumps(loaded) + '\\n')
atexit.register(report)
from mlproj.cli.main import main
main(json.loads(sys.argv[1]))
"""


def test_a_plain_run_imports_no_typer(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    command = json.dumps(f"{sys.executable} -c pass {{alpha}}")
    (project / "MLproject").write_text(
        "name: t\nentry_points:\n  main:\n    parameters:\n      alpha: {type: float, default: 1}\n"
        f"    command: {command}\n"
    )
    args = ["run", str(project), "-P", "alpha=2", "--run-name", "r", "-q"]
    env = dict(os.environ, MLPROJ_TRACKING_URI=str(tmp_path / "store"))
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
