"""Logging from real virtualenvs that do not have mlproj: the copied writer, and real MLflow.

The environments are built once per test session (shared by the xdist workers) with uv, from
PyPI: a bare one, and one with ``mlflow-skinny``. Entry points run them with ``python -E -s``
(PYTHONPATH ignored), so this checkout's mlproj is not importable inside; each script checks.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

NO_MLPROJ = (
    "import importlib.util\n"
    "assert importlib.util.find_spec('mlproj') is None, 'mlproj is importable here'\n"
)


def _uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    from uv import find_uv_bin  # the PyPI package of uv, a test dependency

    return str(find_uv_bin())


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Callable[[str, list[str]], Path]:
    """``venv(name, packages)``: the python of a virtualenv with exactly those packages."""
    root = tmp_path_factory.getbasetemp().parent / "venvs"  # one folder for all xdist workers
    root.mkdir(exist_ok=True)

    def make(name: str, packages: list[str]) -> Path:
        target = root / name
        with (root / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (target / "complete").exists():
                shutil.rmtree(target, ignore_errors=True)
                uv = _uv()
                subprocess.run(
                    [uv, "venv", "-q", "--python", sys.executable, str(target)], check=True
                )
                if packages:
                    python = str(target / "bin" / "python")
                    subprocess.run(
                        [uv, "pip", "install", "-q", "--python", python, *packages], check=True
                    )
                (target / "complete").touch()
        return target / "bin" / "python"

    return make


def test_copied_writer_logs_from_a_venv_without_mlproj(mlproj, write_project, venv):
    python = venv("bare", [])
    project = write_project(
        {
            "MLproject": "entry_points:\n  main:\n    parameters: {py: string}\n"
            "    command: '{py} -E -s train.py'\n",
            "mlproj_log.py": (REPO / "mlproj" / "logwriter.py").read_text(),
            "train.py": NO_MLPROJ + "import os, sys, tempfile\n"
            "import mlproj_log\n"
            "mlproj_log.log_param('alpha', 0.5)\n"
            "for i in range(100):\n"
            "    mlproj_log.log_metric('loss', 1 / (i + 1), step=i)\n"
            "mlproj_log.set_tag('prefix', sys.prefix)\n"
            "with tempfile.TemporaryDirectory() as d:\n"
            "    p = os.path.join(d, 'model.txt')\n"
            "    open(p, 'w').write('weights')\n"
            "    mlproj_log.log_artifact(p, 'models')\n",
        }
    )
    result = mlproj("run", str(project), "-P", f"py={python}")
    assert result.returncode == 0, result.stderr
    [run] = mlproj("runs", "list", "--json").json()
    assert run["params"]["alpha"] == "0.5"
    assert run["tags"]["prefix"] == str(python.parent.parent)
    history = mlproj("runs", "show", run["run_id"], "--metric", "loss", "--json").json()
    assert [p["step"] for p in history["metrics"]["loss"]] == list(range(100))
    assert (Path(run["artifact_uri"]) / "models" / "model.txt").read_text() == "weights"


MLFLOW_TRAIN = (
    NO_MLPROJ
    + """import os, sys, tempfile
import mlflow

def work():
    mlflow.log_param("alpha_seen", sys.argv[2])
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"rmse": 0.5, "r2": float("nan")})
    mlflow.set_tag("mode", sys.argv[1])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.txt")
        with open(path, "w") as handle:
            handle.write("w=1")
        mlflow.log_artifact(path)
        mlflow.log_artifact(path, artifact_path="sub")
    mlflow.log_dict({"k": 1}, "config.json")

mode = sys.argv[1]
if mode == "start":
    with mlflow.start_run():
        work()
elif mode == "nested":
    with mlflow.start_run():
        work()
        with mlflow.start_run(nested=True, run_name="child"):
            mlflow.log_metric("child_metric", 3)
elif mode == "fail":
    work()
    raise SystemExit(7)
else:
    work()
"""
)

MLFLOW_PROJECT = {
    "MLproject": "entry_points:\n  main:\n"
    "    parameters: {py: string, mode: string, alpha: {type: float, default: 0.1}}\n"
    "    command: '{py} -E -s train.py {mode} {alpha}'\n",
    "train.py": MLFLOW_TRAIN,
}


@pytest.fixture
def mlflow_python(venv) -> Path:
    return venv("mlflow-skinny", ["mlflow-skinny"])


@pytest.mark.parametrize("mode", ["plain", "start", "nested", "fail"])
def test_real_mlflow_logs_into_the_mlproj_run(mlproj, write_project, mlflow_python, mode):
    project = write_project(MLFLOW_PROJECT)
    result = mlproj("run", str(project), "-P", f"py={mlflow_python}", "-P", f"mode={mode}")
    assert result.returncode == (7 if mode == "fail" else 0), result.stderr
    assert "View run" not in result.stdout  # MLflow's link to a server that is gone
    runs = mlproj("runs", "list", "--json").json()
    [run] = [r for r in runs if r["params"].get("mode") == mode]
    assert run["status"] == ("FAILED" if mode == "fail" else "FINISHED")
    assert run["params"]["alpha_seen"] == "0.1"
    assert run["metrics"]["loss"] == 0.2
    assert run["metrics"]["rmse"] == 0.5
    assert run["tags"]["mode"] == mode
    history = mlproj("runs", "show", run["run_id"], "--metric", "loss", "--json").json()
    assert [p["step"] for p in history["metrics"]["loss"]] == [0, 1, 2, 3, 4]
    files = mlproj("runs", "artifacts", run["run_id"], "--json").json()["files"]
    assert sorted(f["path"] for f in files) == ["config.json", "model.txt", "sub/model.txt"]
    assert "mlproj.mlflow.unsupported" not in run["tags"]
    if mode == "nested":
        [child] = [r for r in runs if r["run_name"] == "child"]
        assert child["status"] == "FINISHED"
        assert child["metrics"] == {"child_metric": 3.0}
        assert child["tags"]["mlflow.parentRunId"] == run["run_id"]
    else:
        assert len(runs) == 1


FOUR_WAYS = """set -e
echo '{"type": "metric", "key": "m_protocol", "value": 1}' >> "$MLPROJ_LOG_FILE"
"$PY" -c 'import mlproj; mlproj.log_metric("m_api", 2)'
$MLPROJ log metric m_cli 3
"$MLFLOW_PY" -E -s -c 'import mlflow; mlflow.log_metric("m_mlflow", 4)'
"""


def test_four_ways_into_one_run(mlproj, write_project, mlflow_python):
    project = write_project(
        {"MLproject": "entry_points:\n  main:\n    command: bash four.sh\n", "four.sh": FOUR_WAYS}
    )
    result = mlproj(
        "run",
        str(project),
        PY=sys.executable,
        MLPROJ=f"{sys.executable} -m mlproj",
        MLFLOW_PY=str(mlflow_python),
    )
    assert result.returncode == 0, result.stderr
    [run] = mlproj("runs", "list", "--json").json()
    assert run["metrics"] == {"m_protocol": 1.0, "m_api": 2.0, "m_cli": 3.0, "m_mlflow": 4.0}
