"""Logging from inside a run: the protocol, the Python API, `mlproj log`, captured scalars."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

from mlproj.tracking.history import PastRun
from mlproj.tracking.models import RunStatus
from mlproj.tracking.store import Store
from tests.conftest import REPO, mlproj_env
from tests.tracking.conftest import BASE_RUN

MLPROJ = f"{sys.executable} -m mlproj"
VIEWS = json.loads((REPO / "schemas" / "run-views.schema.json").read_text())

ALL_WAYS = r"""set -e
# 1. the protocol, from the shell
echo '{"type": "metric", "key": "loss", "value": 0.5, "step": 1}' >> "$MLPROJ_LOG_FILE"
echo '{"type": "param", "key": "from_protocol", "value": "yes"}' >> "$MLPROJ_LOG_FILE"
# 2. the Python API, inside the run
"$PY" -c 'import mlproj
mlproj.log_metric("loss", 0.25, step=2)
mlproj.log_params({"from_api": "yes"})
mlproj.set_tag("api", "ok")
assert mlproj.start_run().run_id == __import__("os").environ["MLPROJ_RUN_ID"]
'
# 3. the CLI
$MLPROJ log metric loss 0.125 --step 3
$MLPROJ log param from_cli yes
$MLPROJ log tag cli ok
echo "model" > model.tmp
$MLPROJ log artifact model.tmp --artifact-path models
rm model.tmp   # copied at once: deleting it right after is fine
# 4. captured from stdout (--capture-scalars)
echo "acc: 0.9 (step 4)"
echo "plain output is left alone: 1"
"""


def write_all_ways(write_project) -> Path:
    return write_project(
        {
            "MLproject": "entry_points:\n  main:\n    command: bash all.sh\n",
            "all.sh": ALL_WAYS,
        }
    )


def run_env(**extra: str) -> dict[str, str]:
    return {"MLPROJ": MLPROJ, "PY": sys.executable, **extra}


def test_every_logging_path_lands_in_the_same_run(mlproj, write_project):
    project = write_all_ways(write_project)
    result = mlproj("run", str(project), "--capture-scalars", **run_env())
    assert result.returncode == 0, result.stderr
    assert "plain output is left alone: 1" in result.stdout
    [run] = mlproj("runs", "list", "--json").json()
    assert {k: v for k, v in run["params"].items() if k.startswith("from_")} == {
        "from_protocol": "yes",
        "from_api": "yes",
        "from_cli": "yes",
    }
    assert run["tags"]["api"] == "ok"
    assert run["tags"]["cli"] == "ok"
    assert run["metrics"] == {"loss": 0.125, "acc": 0.9}
    history = mlproj("runs", "show", run["run_id"], "--metric", "loss", "--json").json()
    assert [(p["step"], p["value"]) for p in history["metrics"]["loss"]] == [
        (1, 0.5),
        (2, 0.25),
        (3, 0.125),
    ]
    listed = mlproj("runs", "artifacts", run["run_id"], "--json").json()
    jsonschema.validate(listed, VIEWS)
    assert [f["path"] for f in listed["files"]] == ["models/model.tmp"]
    assert "mlproj.log.malformed" not in run["tags"]
    log_file = Path(run["artifact_uri"]).parent / "records.jsonl"
    assert log_file.is_file()  # the raw record stays with the run


def test_without_capture_stdout_scalars_are_not_metrics(mlproj, write_project):
    project = write_all_ways(write_project)
    assert mlproj("run", str(project), **run_env()).returncode == 0
    [run] = mlproj("runs", "list", "--json").json()
    assert "acc" not in run["metrics"]


def test_malformed_lines_are_reported_and_tagged_and_the_exit_code_kept(mlproj, write_project):
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n    command: bash bad.sh\n",
            "bad.sh": (
                'echo \'{"type": "metric", "key": "ok", "value": 1}\' >> "$MLPROJ_LOG_FILE"\n'
                'echo "oops" >> "$MLPROJ_LOG_FILE"\n'
                'echo \'{"type": "metric", "key": "ok"}\' >> "$MLPROJ_LOG_FILE"\n'
                'echo \'{"type": "param", "key": "p", "value": "1"}\' >> "$MLPROJ_LOG_FILE"\n'
                'echo \'{"type": "param", "key": "p", "value": "2"}\' >> "$MLPROJ_LOG_FILE"\n'
                "exit 3\n"
            ),
        }
    )
    result = mlproj("run", str(project), "-q")
    assert result.returncode == 3
    assert "mlproj: warning: 2 malformed log line(s) ignored" in result.stderr
    assert "mlproj: warning: 1 log record(s) refused" in result.stderr
    assert "line 2: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    [run] = mlproj("runs", "list", "--json").json()
    assert run["status"] == "FAILED"
    assert run["metrics"] == {"ok": 1.0}
    assert run["params"] == {"p": "1"}
    assert run["tags"]["mlproj.log.malformed"] == "2"
    assert run["tags"]["mlproj.log.rejected"] == "1"
    assert "line 2: not valid JSON" in run["tags"]["mlproj.log.problems"]


def test_records_are_ingested_while_the_run_goes(tmp_path, store_dir, write_project):
    """The metric is in the store while the entry point is still running."""
    gate = tmp_path / "gate"
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n    command: bash slow.sh\n",
            "slow.sh": (
                'echo \'{"type": "metric", "key": "early", "value": 1}\' >> "$MLPROJ_LOG_FILE"\n'
                f"while [ ! -e {gate} ]; do sleep 0.05; done\n"
            ),
        }
    )
    env = mlproj_env(store_dir)
    runner = subprocess.Popen(
        [sys.executable, "-m", "mlproj", "run", str(project), "-q"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        seen = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and seen is None:
            listed = subprocess.run(
                [sys.executable, "-m", "mlproj", "runs", "list", "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            runs = json.loads(listed.stdout or "[]")
            if runs and "early" in runs[0]["metrics"]:
                seen = runs[0]
            time.sleep(0.1)
        assert seen is not None, "the metric never showed up while the run was going"
        assert seen["status"] == "RUNNING"
    finally:
        gate.touch()
        assert runner.wait(timeout=60) == 0


def test_child_gets_the_logging_variables(mlproj, write_project, store_dir):
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n    command: python env.py\n",
            "env.py": "import json, os\n"
            "print(json.dumps({k: v for k, v in os.environ.items() if 'ML' in k}))\n",
        }
    )
    result = mlproj("run", str(project), "-q", MLFLOW_TRACKING_URI="http://elsewhere:5000")
    env = json.loads(result.stdout)
    run_dir = store_dir / "runs" / env["MLPROJ_RUN_ID"]
    assert env["MLPROJ_LOG_FILE"] == str(run_dir / "records.jsonl")
    assert env["MLPROJ_ARTIFACT_DIR"] == str(run_dir / "artifacts")
    assert env["MLFLOW_RUN_ID"] == env["MLPROJ_RUN_ID"]
    assert env["MLFLOW_TRACKING_URI"].startswith("http://127.0.0.1:")
    assert env["MLFLOW_EXPERIMENT_ID"] == "0"
    off = mlproj("run", str(project), "-q", MLPROJ_MLFLOW_BRIDGE="0", MLFLOW_TRACKING_URI="x")
    env = json.loads(off.stdout)
    assert env["MLFLOW_TRACKING_URI"] == "x"  # the caller's own MLflow server is left alone
    assert "MLFLOW_RUN_ID" not in env


def test_mlproj_log_outside_a_run_is_a_clear_error(mlproj):
    result = mlproj("log", "metric", "loss", "0.5")
    assert result.returncode == 112
    assert "MLPROJ_RUN_ID is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_mlproj_log_into_a_recorded_run(mlproj, write_project, store_dir):
    project = write_project({"MLproject": "entry_points:\n  main:\n    command: 'true'\n"})
    assert mlproj("run", str(project), "-q").returncode == 0
    assert mlproj("run", str(project), "-q").returncode == 0
    first, second = (r["run_id"] for r in mlproj("runs", "list", "--json").json())
    assert mlproj("log", "metric", "late", "2", "--step", "5", "--run", first[:10]).returncode == 0
    assert mlproj("log", "tag", "note", "checked", MLPROJ_RUN_ID=second).returncode == 0
    shown = mlproj("runs", "show", first, "--json").json()
    assert shown["metrics"] == {"late": 2.0}
    assert mlproj("runs", "show", second, "--json").json()["tags"]["note"] == "checked"
    unknown = mlproj("log", "param", "a", "1", "--run", "ffffffff")
    assert unknown.returncode == 118
    assert "no run matches 'ffffffff'" in unknown.stderr
    twins = [
        PastRun(BASE_RUN, 1, 2, RunStatus.FINISHED, 0, run_id=f"abc{n}" + "0" * 28) for n in (1, 2)
    ]
    with Store.open(str(store_dir)) as store:
        store.bulk_insert_runs(twins)
    ambiguous = mlproj("log", "param", "a", "1", "--run", "abc")
    assert ambiguous.returncode == 118
    assert "ambiguous" in ambiguous.stderr
    bad = mlproj("log", "metric", "loss", "abc", "--run", first)
    assert bad.returncode == 112
    assert "'abc' is not a number" in bad.stderr
    missing = mlproj("log", "artifact", "nope.txt", "--run", first)
    assert missing.returncode == 112
    assert "nope.txt" in missing.stderr
    escape = mlproj(
        "log", "artifact", str(project / "MLproject"), "--artifact-path", "../x", "--run", first
    )
    assert escape.returncode == 112
    assert "'..'" in escape.stderr


def test_runs_artifacts_lists_and_copies_out(mlproj, write_project, tmp_path):
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n    command: bash art.sh\n",
            "art.sh": "mkdir -p plots && echo a > plots/a.txt && echo bb > model.bin\n"
            'cp model.bin "$MLPROJ_ARTIFACT_DIR/"\n'
            'echo \'{"type": "artifact", "path": "plots"}\' >> "$MLPROJ_LOG_FILE"\n',
        }
    )
    assert mlproj("run", str(project), "-q").returncode == 0
    [run] = mlproj("runs", "list", "--json").json()
    rid = run["run_id"][:8]
    listed = mlproj("runs", "artifacts", rid)
    assert listed.stdout.split("\n")[:3] == ["3  model.bin", "2  plots/a.txt", ""]
    assert mlproj("runs", "artifacts", rid, "model.bin", "-o", "-").stdout == "bb\n"
    out = tmp_path / "out"
    copied = mlproj("runs", "artifacts", rid, "plots", "-o", str(out), "--json")
    assert copied.returncode == 0, copied.stderr
    jsonschema.validate(copied.json(), VIEWS)
    assert copied.json()["copied"] == [str(out / "plots" / "a.txt")]
    assert (out / "plots" / "a.txt").read_text() == "a\n"
    escape = mlproj("runs", "artifacts", rid, "../stdout.log", "-o", "-")
    assert escape.returncode == 112
    assert "'..'" in escape.stderr
    missing = mlproj("runs", "artifacts", rid, "nope")
    assert missing.returncode == 118
    folder = mlproj("runs", "artifacts", rid, "plots", "-o", "-")
    assert folder.returncode == 112
