"""The README's first command, end to end: the elasticnet example with scikit-learn from PyPI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

pytestmark = pytest.mark.slow


def test_elasticnet_trains_reports_and_saves_the_model(mlproj, store_dir):
    result = mlproj("run", str(EXAMPLES / "elasticnet"), "-P", "alpha=0.5", timeout=900)
    assert result.returncode == 0, result.stderr
    for metric in ("rmse:", "mae:", "r2:"):
        assert metric in result.stdout
    listed = mlproj("runs", "list")
    assert listed.returncode == 0
    assert "alpha=0.5" in listed.stdout
    assert "FINISHED" in listed.stdout
    run = mlproj("runs", "list", "--json").json()[0]
    assert run["env"]["manager"] == "virtualenv"  # the default for a python_env project
    assert int(run["env"]["details"]["installed"]) >= 4  # scikit-learn, numpy, scipy, joblib...
    artifacts = Path(run["artifact_uri"])
    metrics = json.loads((artifacts / "metrics.json").read_text())
    assert set(metrics) == {"rmse", "mae", "r2"}
    assert f"rmse: {metrics['rmse']:.4f}" in result.stdout
    assert run["metrics"] == pytest.approx(metrics)  # recorded through MLPROJ_LOG_FILE too
    # The model loads back with the run's own environment (scikit-learn is not in mlproj's).
    cached = mlproj("envs", "list", "--json").json()
    assert [env["key"] for env in cached] == [run["env"]["key"]]
    load = f"import pickle; print(pickle.load(open({str(artifacts / 'model.pkl')!r}, 'rb')).alpha)"
    python = f"{cached[0]['path']}/bin/python"
    loaded = subprocess.run([python, "-c", load], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "0.5"
