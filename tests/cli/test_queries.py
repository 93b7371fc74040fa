"""`runs list|show|delete`, `experiments`, `describe`: querying what was recorded."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES

LINEAR = EXAMPLES / "linear_regression"


@pytest.fixture
def three_runs(mlproj):
    for rate in ("0.01", "0.05", "0.1"):
        result = mlproj("run", str(LINEAR), "-q", "-P", f"learning_rate={rate}", "-P", "epochs=20")
        assert result.returncode == 0, result.stderr
    assert mlproj("run", str(LINEAR), "-q", "-e", "fail", "-P", "code=5").returncode == 5
    return mlproj("runs", "list", "--json").json()


def test_list_is_newest_first_with_a_table(mlproj, three_runs):
    assert [r["entry_point"] for r in three_runs] == ["fail", "main", "main", "main"]
    starts = [r["start_time"] for r in three_runs]
    assert starts == sorted(starts, reverse=True)
    table = mlproj("runs", "list")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["RUN", "NAME", "STATUS"]
    assert len(lines) == 5
    assert "learning_rate=0.1" in table.stdout


def test_filter_status_sort_limit(mlproj, three_runs):
    def ids(*args):
        result = mlproj("runs", "list", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [r["params"].get("learning_rate") for r in result.json()]

    assert ids("--filter", "params.learning_rate = '0.05'") == ["0.05"]
    assert ids("--filter", "params.learning_rate > 0.02 and status = 'FINISHED'") == ["0.1", "0.05"]
    assert ids("--status", "failed") == [None]
    assert ids("--filter", "exit_code = 5") == [None]
    assert ids("--sort", "params.learning_rate", "--status", "FINISHED") == ["0.01", "0.05", "0.1"]
    assert ids("--limit", "2") == [None, "0.1"]


def test_show_text_and_delete(mlproj, three_runs):
    run = three_runs[1]
    shown = mlproj("runs", "show", run["run_id"][:8])
    assert shown.returncode == 0
    assert run["run_id"] in shown.stdout
    assert "learning_rate = 0.1" in shown.stdout
    deleted = mlproj("runs", "delete", run["run_id"][:10], three_runs[2]["run_id"])
    assert deleted.returncode == 0, deleted.stderr
    left = [r["run_id"] for r in mlproj("runs", "list", "--json").json()]
    assert left == [three_runs[0]["run_id"], three_runs[3]["run_id"]]
    assert mlproj("runs", "show", run["run_id"]).returncode == 118


def test_experiments_create_and_list(mlproj):
    created = mlproj("experiments", "create", "sweep")
    assert created.returncode == 0, created.stderr
    again = mlproj("experiments", "create", "sweep")
    assert again.returncode == 112
    assert "sweep" in again.stderr
    names = [e["name"] for e in mlproj("experiments", "list", "--json").json()]
    assert "sweep" in names
    assert "sweep" in mlproj("experiments", "list").stdout


def test_read_commands_on_an_empty_store_create_nothing(mlproj, store_dir):
    assert mlproj("runs", "list").stdout == "no runs\n"
    assert mlproj("runs", "list", "--json").json() == []
    assert not store_dir.exists()


def test_describe(mlproj):
    described = mlproj("describe", str(LINEAR), "--json")
    assert described.returncode == 0, described.stderr
    info = described.json()
    assert info["name"] == "linear-regression"
    assert info["env"]["kind"] == "none"
    params = info["entry_points"]["main"]["parameters"]
    assert params["learning_rate"] == {"type": "float", "default": "0.05", "required": False}
    assert {p["type"] for p in params.values()} == {"float", "int", "string", "path", "uri"}
    assert info["entry_points"]["show_args"]["parameters"]["value"]["required"] is True
    text = mlproj("describe", str(LINEAR))
    assert "learning_rate: float, default '0.05'" in text.stdout


def test_version_and_help(mlproj):
    assert mlproj("--version").stdout.startswith("mlproj ")
    helped = mlproj("--help")
    assert helped.returncode == 0
    for command in ("run", "validate", "describe", "runs", "experiments"):
        assert command in helped.stdout
