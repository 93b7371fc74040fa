"""The batch script `-b slurm` submits, from each backend config key."""

from __future__ import annotations

import shlex
from pathlib import Path

from mlproj.backends.base import Submission
from mlproj.backends.config import BackendConfig
from mlproj.backends.slurm import SlurmConfig, render_script


def submission(tmp_path: Path) -> Submission:
    return Submission(
        run_id="a" * 32,
        run_dir=tmp_path / "run dir",
        name="mlproj-my project-aaaaaaaa",
        launcher=("/opt/py 3/bin/python", "-m", "mlproj.jobexec", str(tmp_path / "run dir")),
        workdir=tmp_path,
    )


def test_every_key_becomes_its_sbatch_option(tmp_path):
    config = SlurmConfig.from_config(
        BackendConfig(
            {
                "partition": "gpu",
                "time": "02:00:00",
                "cpus": 4,
                "mem": "16G",
                "gpus": "a100:2",
                "account": "lab",
                "qos": "high",
                "sbatch-args": ["--constraint=avx2", "--exclusive"],
                "env": {"OMP_NUM_THREADS": 4, "NOTE": "it's $HOME"},
                "cache-dir": "/shared/cache",
            }
        )
    )
    lines = render_script(submission(tmp_path), config).splitlines()
    directives = [line.removeprefix("#SBATCH ") for line in lines if line.startswith("#SBATCH")]
    assert directives == [
        "--job-name=mlproj-my_project-aaaaaaaa",
        f'--output="{tmp_path / "run dir"}/slurm-%j.out"',  # quoted: sbatch splits on spaces
        f'--chdir="{tmp_path / "run dir"}"',
        "--no-requeue",
        "--partition=gpu",
        "--time=02:00:00",
        "--cpus-per-task=4",
        "--mem=16G",
        "--gpus=a100:2",
        "--account=lab",
        "--qos=high",
        "--constraint=avx2",
        "--exclusive",
    ]
    exports = [line for line in lines if line.startswith("export ")]
    assert exports == [
        "export MLPROJ_CACHE_DIR=/shared/cache",
        "export NOTE='it'\"'\"'s $HOME'",  # quoted: no expansion on the node
        "export OMP_NUM_THREADS=4",
    ]
    assert shlex.split(lines[-1]) == ["exec", *submission(tmp_path).launcher]


def test_defaults_add_nothing_but_the_run(tmp_path):
    script = render_script(submission(tmp_path), SlurmConfig())
    assert "--partition" not in script
    assert "export" not in script
    assert script.startswith("#!/bin/bash\n# mlproj run " + "a" * 32)
