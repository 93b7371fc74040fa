"""Looking at runs: compare, diff, metric histories, CSV export."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest

from tests.conftest import REPO

VIEWS = json.loads((REPO / "schemas" / "run-views.schema.json").read_text())

METRICS = "\n".join(
    [
        "import json, os, sys",
        "alpha = float(sys.argv[1])",
        "with open(os.environ['MLPROJ_LOG_FILE'], 'a') as log:",
        "    for step in range(20):",
        "        value = alpha / (step + 1)",
        "        log.write(json.dumps({'type': 'metric', 'key': 'loss', 'value': value,",
        "                              'step': step}) + '\\n')",
        "    log.write(json.dumps({'type': 'metric', 'key': 'final', 'value': alpha}) + '\\n')",
    ]
)


@pytest.fixture
def three_runs(mlproj, write_project):
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n"
            "    parameters: {alpha: float, label: {type: string, default: same}}\n"
            "    command: python train.py {alpha}\n",
            "train.py": METRICS,
        }
    )
    for alpha in ("0.5", "1.0", "2.0"):
        assert mlproj("run", str(project), "-q", "-P", f"alpha={alpha}").returncode == 0
    runs = mlproj("runs", "list", "--json").json()
    return list(reversed(runs))  # oldest first


def test_compare_marks_what_differs(mlproj, three_runs):
    ids = [run["run_id"] for run in three_runs]
    result = mlproj("runs", "compare", *(rid[:8] for rid in ids))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert ids[0][:12] in lines[0]
    assert ids[2][:12] in lines[0]
    alpha = next(line for line in lines if line.split()[1:2] == ["alpha"])
    assert alpha.startswith("*")
    assert alpha.split()[2:] == ["0.5", "1.0", "2.0"]
    label = next(line for line in lines if line.split()[:1] == ["label"])
    assert not label.startswith("*")
    assert "PARAMS" in [line.strip() for line in lines]
    assert "METRICS" in [line.strip() for line in lines]
    assert "\x1b[" not in result.stdout  # no colour when not on a terminal
    only = mlproj("runs", "compare", *ids, "--diff-only").stdout
    assert "label" not in only
    assert "alpha" in only


def test_compare_json(mlproj, three_runs):
    ids = [run["run_id"] for run in three_runs]
    data = mlproj("runs", "compare", *ids, "--json").json()
    jsonschema.validate(data, VIEWS)
    jsonschema.validate(data, VIEWS["$defs"]["comparison"] | {"$defs": VIEWS["$defs"]})
    assert data["format_version"] == 1
    assert data["runs"] == ids
    rows = {(row["section"], row["name"]): row for row in data["rows"]}
    assert rows[("params", "alpha")]["values"] == ["0.5", "1.0", "2.0"]
    assert rows[("params", "alpha")]["differs"] is True
    assert rows[("metrics", "final")]["values"] == ["0.5", "1", "2"]
    assert rows[("env", "manager")]["differs"] is False
    assert ("source", "uri") in rows


def test_compare_bad_input(mlproj, three_runs):
    one = mlproj("runs", "compare", three_runs[0]["run_id"])
    assert one.returncode == 112
    unknown = mlproj("runs", "compare", three_runs[0]["run_id"], "deadbeef")
    assert unknown.returncode == 118
    assert "no run matches 'deadbeef'" in unknown.stderr


def test_diff_shows_params_and_metric_deltas(mlproj, three_runs):
    first, _, last = (run["run_id"] for run in three_runs)
    result = mlproj("runs", "diff", first, last)
    assert result.returncode == 0, result.stderr
    final = next(line for line in result.stdout.splitlines() if line.split()[1:2] == ["final"])
    assert final.split()[2:4] == ["0.5", "2"]
    assert "Δ +1.5 (+300.0%)" in final
    assert "label" not in result.stdout  # equal rows are left out
    assert "recorded no commit" in result.stdout
    data = mlproj("runs", "diff", first, last, "--json").json()
    jsonschema.validate(data, VIEWS["$defs"]["diff"] | {"$defs": VIEWS["$defs"]})
    final_row = next(row for row in data["rows"] if row["name"] == "final")
    assert final_row["delta"] == 1.5
    assert data["code"]["diff_stat"] is None


def test_metric_history_as_a_sparkline(mlproj, three_runs):
    rid = three_runs[0]["run_id"]
    result = mlproj("runs", "show", rid, "--metric", "loss")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "loss: 20 value(s), steps 0 to 19"
    spark = lines[1].strip()
    assert len(spark) == 20
    assert spark[0] == "█"
    assert spark[-1] == "▁"
    assert "first 0.5 (step 0)" in lines[2]
    assert "min 0.025 (step 19)" in lines[3]
    data = mlproj("runs", "show", rid, "--metric", "loss", "--metric", "final", "--json").json()
    jsonschema.validate(data, VIEWS)
    assert len(data["metrics"]["loss"]) == 20
    assert data["metrics"]["final"][0]["value"] == 0.5
    missing = mlproj("runs", "show", rid, "--metric", "los")
    assert missing.returncode == 118
    assert "no metric 'los' (logged: final, loss)" in missing.stderr


def test_runs_list_csv(mlproj, three_runs):
    result = mlproj("runs", "list", "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["run_id"] for row in rows] == [run["run_id"] for run in reversed(three_runs)]
    assert rows[0]["params.alpha"] == "2.0"
    assert rows[0]["metrics.final"] == "2"
    assert rows[0]["status"] == "FINISHED"
    assert rows[0]["source_dirty"] == ""
    filtered = mlproj(
        "runs", "list", "--csv", "--filter", "params.alpha > 0.7", "--sort", "params.alpha"
    )
    assert [r["params.alpha"] for r in csv.DictReader(io.StringIO(filtered.stdout))] == [
        "1.0",
        "2.0",
    ]
    both = mlproj("runs", "list", "--csv", "--json")
    assert both.returncode == 112
