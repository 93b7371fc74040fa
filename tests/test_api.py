"""The Python API outside `mlproj run`: start_run, auto-started runs, how they end."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import mlproj_env


@pytest.fixture
def script(tmp_path, store_dir):
    """Run a Python script (in its own folder) against the test store; return the runs."""

    def run(code: str, expect: int = 0, **env: str) -> list[dict]:
        folder = tmp_path / "scripts"
        folder.mkdir(exist_ok=True)
        path = folder / "train.py"
        path.write_text(textwrap.dedent(code))
        full_env = mlproj_env(store_dir)
        for name in ("MLPROJ_RUN_ID", "MLPROJ_LOG_FILE", "MLPROJ_ARTIFACT_DIR"):
            full_env.pop(name, None)
        full_env.update(env)
        done = subprocess.run(
            [sys.executable, str(path)],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == expect, done.stderr
        listed = subprocess.run(
            [sys.executable, "-m", "mlproj", "runs", "list", "--json"],
            env=full_env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(listed.stdout)

    return run


def test_start_run_as_a_context_manager(script, tmp_path):
    (tmp_path / "model.txt").write_text("w")
    [run] = script(
        """
        import mlproj
        with mlproj.start_run("first", experiment_name="api", tags={"team": "ml"}) as active:
            mlproj.log_param("alpha", 0.5)
            mlproj.log_params({"beta": 1})
            for step in range(3):
                mlproj.log_metric("loss", 1 / (step + 1), step=step)
            mlproj.log_metrics({"acc": 0.9, "nan": float("nan")})
            mlproj.set_tags({"note": "ok"})
            assert mlproj.log_artifact("model.txt", "models") == "models/model.txt"
            assert mlproj.active_run().run_id == active.run_id
        assert mlproj.active_run() is None
        """
    )
    assert run["run_name"] == "first"
    assert run["experiment"] == "api"
    assert run["status"] == "FINISHED"
    assert run["params"] == {"alpha": "0.5", "beta": "1"}
    assert run["metrics"]["loss"] == pytest.approx(1 / 3)
    assert run["metrics"]["acc"] == 0.9
    assert run["tags"]["team"] == "ml"
    assert run["tags"]["note"] == "ok"
    assert run["tags"]["mlproj.api"] == "python"
    assert run["entry_point"] == "train.py"
    assert run["source"]["uri"].endswith("scripts")
    assert run["env"]["manager"] == "local"
    assert (Path(run["artifact_uri"]) / "models" / "model.txt").read_text() == "w"


def test_the_first_call_starts_a_run_that_ends_at_exit(script):
    [run] = script("import mlproj\nmlproj.log_metric('loss', 0.5)\nmlproj.log_param('a', 1)\n")
    assert run["status"] == "FINISHED"
    assert run["metrics"] == {"loss": 0.5}
    assert run["params"] == {"a": "1"}


def test_an_uncaught_exception_fails_the_run(script):
    [run] = script("import mlproj\nmlproj.log_metric('loss', 0.5)\nraise ValueError('x')\n", 1)
    assert run["status"] == "FAILED"
    assert run["metrics"] == {"loss": 0.5}


def test_an_exception_in_the_with_block_fails_the_run(script):
    runs = script(
        """
        import mlproj
        try:
            with mlproj.start_run("boom"):
                raise RuntimeError("x")
        except RuntimeError:
            pass
        with mlproj.start_run("fine"):
            pass
        """
    )
    assert {r["run_name"]: r["status"] for r in runs} == {"boom": "FAILED", "fine": "FINISHED"}


def test_two_active_runs_are_refused(script):
    runs = script(
        """
        import mlproj
        from mlproj.errors import UsageError
        with mlproj.start_run("outer"):
            try:
                mlproj.start_run("inner")
            except UsageError as exc:
                assert "already active" in exc.message
            else:
                raise AssertionError("no error")
        """
    )
    assert [r["run_name"] for r in runs] == ["outer"]


def test_an_existing_run_id_is_joined_not_ended(script, mlproj, write_project):
    project = write_project({"MLproject": "entry_points:\n  main:\n    command: 'true'\n"})
    assert mlproj("run", str(project), "-q").returncode == 0
    [recorded] = mlproj("runs", "list", "--json").json()
    [run] = script(
        "import mlproj\nmlproj.log_metric('late', 1)\n", MLPROJ_RUN_ID=recorded["run_id"]
    )
    assert run["run_id"] == recorded["run_id"]
    assert run["metrics"] == {"late": 1.0}
    assert run["end_time"] == recorded["end_time"]  # joined, not ended again


def test_bad_values_are_refused_with_clear_errors(script):
    script(
        """
        import mlproj
        for call, args in [(mlproj.log_metric, ("", 1)), (mlproj.log_metric, ("x", "abc"))]:
            try:
                call(*args)
            except ValueError:
                pass
            else:
                raise AssertionError(args)
        """
    )
