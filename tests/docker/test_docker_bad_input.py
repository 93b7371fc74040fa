"""Bad docker input: one clear line, the documented exit code, no run left RUNNING, no container."""

from __future__ import annotations

import pytest

from tests.docker.conftest import BUSYBOX

IMAGE_ONLY = "docker_env:\n  image: {image}\n{extra}entry_points:\n  main:\n    command: echo hi\n"


def project_with(write_project, image: str = BUSYBOX, extra: str = ""):
    return write_project({"MLproject": IMAGE_ONLY.format(image=image, extra=extra)})


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mlproj: error: ")
    return lines[0]


def no_runs(mlproj) -> bool:
    return mlproj("runs", "list", "--json").json() == []


# Checked before the Docker API is contacted: these need no daemon, so they never skip.
@pytest.mark.parametrize(
    ("args", "extra", "code", "message"),
    [
        (["-A", "bogus=1"], "", 115, "unsupported docker option 'bogus'"),
        (["-A", "memory=lots"], "", 115, "-A memory=lots: expected a size"),
        (["-A", "rm"], "", 115, "always removed after the run"),
        (["-A", "volume=/no/such/dir:/data"], "", 115, "host path /no/such/dir"),
        (["-A", "env=NOT_SET_ANYWHERE"], "", 115, "NOT_SET_ANYWHERE is not set here"),
        ([], "  volumes: ['./missing:/data']\n", 115, "does not exist"),
        ([], "  volumes: ['/tmp:data']\n", 113, "docker_env.volumes[0]: '/tmp:data'"),
        ([], "  volumes: ['/tmp:/mlproj/x']\n", 115, "/mlproj/x is reserved"),
        ([], "  environment: [NOT_SET_ANYWHERE]\n", 115, "NOT_SET_ANYWHERE is not set"),
        ([], "  environment: [[ONLY_NAME]]\n", 113, "must be [NAME, VALUE]"),
    ],
)
def test_invalid_docker_input_creates_no_run(mlproj, write_project, args, extra, code, message):
    project = project_with(write_project, extra=extra)
    result = mlproj("run", str(project), *args, DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert result.returncode == code, result.stderr
    assert message in one_error_line(result.stderr)
    assert no_runs(mlproj)


def test_no_docker_api_is_one_clear_line(mlproj, write_project):
    result = mlproj(
        "run", str(project_with(write_project)), DOCKER_HOST="unix:///nonexistent/docker.sock"
    )
    assert result.returncode == 115
    line = one_error_line(result.stderr)
    assert "no Docker API answers at unix:///nonexistent/docker.sock (No such file" in line
    assert "DOCKER_HOST" in line
    assert no_runs(mlproj)


def test_docker_options_without_a_docker_project(mlproj, write_project):
    project = write_project({"MLproject": "entry_points:\n  main:\n    command: echo hi\n"})
    result = mlproj("run", str(project), "--build-image", "-A", "gpus=all")
    assert result.returncode == 112
    assert "-A/--docker-args, --build-image: docker options" in one_error_line(result.stderr)
    result = mlproj("run", str(project), "--env-manager", "docker")
    assert result.returncode == 115
    assert "declares no docker_env" in one_error_line(result.stderr)
    assert no_runs(mlproj)


@pytest.mark.slow
@pytest.mark.usefixtures("no_leftovers", "docker_client")
def test_unknown_image_fails_the_run_with_the_next_step(mlproj, write_project, store_dir):
    project = project_with(write_project, image="localhost/mlproj-no-such-image:0")
    result = mlproj("run", str(project))
    assert result.returncode == 115
    error = [line for line in result.stderr.splitlines() if line.startswith("mlproj: error:")]
    assert len(error) == 1
    assert "image 'localhost/mlproj-no-such-image:0' is not on the Docker host" in error[0]
    assert "podman import" in error[0]
    run = mlproj("runs", "list", "--json").json()[0]
    # The pull was attempted with the run: recorded as FAILED (115, with the reason), not RUNNING.
    assert (run["status"], run["exit_code"]) == ("FAILED", 115)
    assert "could not be pulled" in run["tags"]["mlproj.failure"]
    env_log = store_dir / "runs" / run["run_id"] / "env-build.log"
    assert "pulling it" in env_log.read_text()
