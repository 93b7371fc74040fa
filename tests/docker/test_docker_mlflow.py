"""Real MLflow code in a real container logs into the mlproj run through the MLflow bridge.

The bridge listens on the container network's gateway (the address a container reaches the host
at) instead of 127.0.0.1; artifact URIs are given as the container sees the mounted store.
mlflow-skinny comes from PyPI, installed with uv into a folder mounted read-only in the image
(the image's Python 3.11 and the host's share the ABI).
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docker.conftest import BUSYBOX, PYTHON

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leftovers")]

TRAIN = """\
import os, sys, tempfile
sys.path.insert(0, "/opt/mlflow")
import mlflow
with mlflow.start_run():  # resumes the mlproj run (MLFLOW_RUN_ID)
    mlflow.log_param("where", "container")
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.txt")
        with open(path, "w") as handle:
            handle.write("w=1")
        mlflow.log_artifact(path)
    mlflow.set_tag("resumed", "yes")
"""


@pytest.fixture(scope="session")
def mlflow_site(tmp_path_factory) -> Path:
    """mlflow-skinny and its dependencies in one folder (shared by the xdist workers)."""
    root = tmp_path_factory.getbasetemp().parent / "mlflow-site"
    root.mkdir(exist_ok=True)
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "complete").exists():
            from uv import find_uv_bin

            install = [find_uv_bin(), "pip", "install", "-q", "--python", sys.executable]
            subprocess.run([*install, "--target", str(root / "site"), "mlflow-skinny"], check=True)
            (root / "complete").touch()
    return root / "site"


def project_files(image: str, site: Path, extra: str = "") -> dict[str, str]:
    return {
        "MLproject": (
            f"name: mlflow-in-container\ndocker_env:\n  image: {image}\n"
            f'  volumes: ["{site}:/opt/mlflow:ro"]\n{extra}'
            'entry_points:\n  main:\n    command: "python train.py"\n'
        ),
        "train.py": TRAIN,
    }


def test_mlflow_in_a_container_logs_into_the_run(mlproj, write_project, store_dir, mlflow_site):
    project = write_project(project_files(PYTHON, mlflow_site))
    result = mlproj("run", str(project), timeout=300)
    assert result.returncode == 0, result.stderr
    [run] = mlproj("runs", "list", "--json").json()
    assert run["params"] == {"where": "container"}
    assert run["metrics"] == {"loss": pytest.approx(1 / 3)}
    assert run["tags"]["resumed"] == "yes"
    assert "mlproj.mlflow.unsupported" not in run["tags"]
    artifact = store_dir / "runs" / run["run_id"] / "artifacts" / "model.txt"
    assert artifact.read_text() == "w=1"  # written by MLflow inside, through the mounted store


def test_no_network_means_no_bridge_and_says_why(mlproj, write_project, mlflow_site):
    project = write_project(
        {
            "MLproject": (
                f"name: offline\ndocker_env:\n  image: {BUSYBOX}\n"
                "entry_points:\n  main:\n    command: sh show.sh\n"
            ),
            "show.sh": 'echo "${MLFLOW_TRACKING_URI:-none}"\n',
        }
    )
    result = mlproj("run", str(project), "-A", "network=none")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "none\n"
    assert "network 'none'" in result.stderr
