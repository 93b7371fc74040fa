"""Bad input for `-b slurm`: one clear line, exit 117 (112 for the command line), no run left."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("slurm")


def no_runs_left(mlproj) -> None:
    assert mlproj("runs", "list", "--json").json() == []


def one_line_error(done) -> str:
    lines = [x for x in done.stderr.splitlines() if x.startswith("mlproj: error:")]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def run_args(project: Path, *more: str) -> tuple[str, ...]:
    return ("run", str(project), "-b", "slurm", "--env-manager", "local", *more)


def test_unknown_partition_names_it_and_the_next_step(mlproj, slurm_project):
    done = mlproj(*run_args(slurm_project, "-c", '{"partition": "nosuch"}'))
    assert done.returncode == 117
    line = one_line_error(done)
    assert "Invalid partition name" in line
    assert "sinfo -s" in line
    no_runs_left(mlproj)


def test_slurm_commands_missing(mlproj, slurm_project, tmp_path):
    # Only the interpreter's folder on PATH: no sbatch.
    done = mlproj(*run_args(slurm_project), PATH=str(Path(sys.executable).parent))
    assert done.returncode == 117
    assert "'sbatch' is not on PATH" in one_line_error(done)
    no_runs_left(mlproj)


@pytest.mark.slow
def test_controller_down(mlproj, slurm_project, tmp_path):
    """The real sbatch, pointed at a controller port nothing listens on."""
    conf = Path("/etc/slurm/slurm.conf").read_text()
    down = tmp_path / "slurm.conf"
    down.write_text(conf.replace("SlurmctldHost=", "SlurmctldPort=9\nSlurmctldHost=", 1))
    done = mlproj(*run_args(slurm_project), SLURM_CONF=str(down), timeout=120)
    assert done.returncode == 117
    line = one_line_error(done)
    assert "Unable to contact slurm controller" in line
    assert "scontrol ping" in line
    no_runs_left(mlproj)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ('{"partitio": "x"}', "unknown key 'partitio' for the slurm backend"),
        ("{bad json", "not valid JSON"),
        ('["partition"]', "expected a JSON object"),
        ('{"cpus": true}', "'cpus' is true; expected a string"),
        ('{"time": "1:00\\n#SBATCH --x"}', "expected a non-empty single-line string"),
        ('{"sbatch-args": ["constraint=x"]}', "sbatch options starting with '-'"),
        ('{"poll-interval": 0}', "expected a positive number"),
        ("missing.json", "cannot read"),
    ],
)
def test_malformed_backend_config_creates_nothing(mlproj, slurm_project, config, expected):
    done = mlproj(*run_args(slurm_project, "-c", config))
    assert done.returncode == 117, done.stderr
    assert expected in one_line_error(done)
    no_runs_left(mlproj)


def test_backend_config_file_names_the_file(mlproj, slurm_project, tmp_path):
    path = tmp_path / "slurm.json"
    path.write_text('{"mem": []}')
    done = mlproj(*run_args(slurm_project, "-c", str(path)))
    assert done.returncode == 117
    assert f"{path}: 'mem' is []" in one_line_error(done)


def test_unknown_backend_is_a_usage_error(mlproj, slurm_project):
    done = mlproj("run", str(slurm_project), "-b", "pbs")
    assert done.returncode == 112
    assert "unknown backend 'pbs' (expected one of local, slurm, kubernetes)" in one_line_error(
        done
    )
    no_runs_left(mlproj)


def test_invalid_project_is_refused_before_submission(mlproj, write_project, slurm):
    project = write_project({"MLproject": "name: x\nentry_points:\n  main:\n    command: 3: x\n"})
    done = mlproj("run", str(project), "-b", "slurm")
    assert done.returncode == 113
    no_runs_left(mlproj)


def test_dry_run_prints_the_script_and_creates_no_run(mlproj, slurm_project):
    config = {"partition": "short", "time": "00:05:00", "mem": "1G", "env": {"A": "b c"}}
    done = mlproj(*run_args(slurm_project, "--dry-run", "-c", json.dumps(config)))
    assert done.returncode == 0, done.stderr
    script = done.stdout
    assert script.startswith("#!/bin/bash\n")
    for line in ("#SBATCH --partition=short", "#SBATCH --time=00:05:00", "#SBATCH --mem=1G"):
        assert line in script
    assert "export A='b c'" in script
    assert "-m mlproj.jobexec" in script.splitlines()[-1]
    no_runs_left(mlproj)
