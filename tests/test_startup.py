"""Start-up stays cheap: `--help` and `runs list` import none of the heavy libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("yaml", "git", "docker", "rich", "jsonschema", "virtualenv")

PROBE = """
import atexit, json, sys
def report():
    loaded = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
    sys.stderr.write('LOADED=' + json.dumps(loaded) + '\\n')
atexit.register(report)
from mlproj.cli.main import main
main(json.loads(sys.argv[2]))
"""


@pytest.mark.parametrize("args", [["--help"], ["runs", "list"], ["runs", "list", "--json"]])
def test_fast_paths_do_not_import_heavy_modules(args, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={"PATH": "/usr/bin:/bin", "MLPROJ_TRACKING_URI": str(tmp_path / "s")},
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED="))
    assert json.loads(line.removeprefix("LOADED=")) == []


def test_import_mlproj_is_light(tmp_path):
    """`import mlproj` (for the logging API) loads no submodule and none of the CLI's libraries."""
    probe = (
        "import json, sys\n"
        "import mlproj\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('mlproj', 'typer', 'click', *json.loads(sys.argv[1])))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert json.loads(done.stdout) == ["mlproj"]


def test_mlproj_log_inside_a_run_only_appends(tmp_path):
    """`mlproj log` in a shell loop: no store, no runner, none of the heavy libraries."""
    log = tmp_path / "records.jsonl"
    args = ["log", "metric", "loss", "0.5", "--step", "3"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([*HEAVY, "sqlite3"]), json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "MLPROJ_RUN_ID": "0" * 32,
            "MLPROJ_LOG_FILE": str(log),
            "PYTHONPATH": os.environ["PYTHONPATH"],
        },
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED="))
    assert json.loads(line.removeprefix("LOADED=")) == []
    assert json.loads(log.read_text())["step"] == 3
