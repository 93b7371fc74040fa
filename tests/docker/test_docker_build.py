"""--build-image: the code is copied into an image tagged by content, reused while unchanged."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests.docker.conftest import BUSYBOX

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leftovers")]

MLPROJECT = f"""name: Build Test {{nonce}}
docker_env:
  image: {BUSYBOX}
entry_points:
  main:
    command: bash list.sh
"""


@pytest.fixture
def project(write_project, docker_client):
    # A nonce in the name and the files: every test builds, and removes, its own image.
    nonce = uuid.uuid4().hex[:12]
    root = write_project(
        {
            "MLproject": MLPROJECT.format(nonce=nonce),
            "list.sh": "pwd; find . | sort\n",
            "code.txt": "version 1\n",
            "nonce.txt": nonce,
            ".dockerignore": "# comment\nignored.txt\nsecrets/\n!secrets/public.txt\n",
            "ignored.txt": "never copied\n",
            "secrets/key.pem": "never copied\n",
            "secrets/public.txt": "copied\n",
        }
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    yield root
    for image in docker_client.images.list(name=f"mlproj-build-test-{nonce}"):
        docker_client.images.remove(image.id, force=True)


@pytest.fixture
def store_dir(project):
    return project / "mlruns"  # a store inside the project is never copied into the image


def built(mlproj) -> list[dict]:
    return sorted(mlproj("runs", "list", "--json").json(), key=lambda run: run["start_time"])


def test_build_copies_the_code_and_reuses_the_image(mlproj, project, store_dir):
    first = mlproj("run", str(project), "--build-image")
    assert first.returncode == 0, first.stderr
    assert "building image mlproj-build-test-" in first.stderr
    listing = first.stdout.splitlines()
    assert listing[0] == "/mlproj/project"
    assert sorted(listing[1:]) == [
        ".",
        "./MLproject",
        "./code.txt",
        "./list.sh",
        "./nonce.txt",
        "./secrets",
        "./secrets/public.txt",
    ]
    second = mlproj("run", str(project), "--build-image")
    assert second.returncode == 0, second.stderr
    assert "reusing image mlproj-build-test-" in second.stderr
    assert "building image" not in second.stderr
    (project / "code.txt").write_text("version 2\n")
    third = mlproj("run", str(project), "--build-image")
    assert "building image" in third.stderr
    runs = built(mlproj)
    tags = [run["tags"] for run in runs]
    assert tags[0]["mlproj.env.built_image"] == tags[1]["mlproj.env.built_image"]
    assert tags[0]["mlproj.env.built_image_id"] == tags[1]["mlproj.env.built_image_id"]
    assert tags[2]["mlproj.env.built_image"] != tags[0]["mlproj.env.built_image"]
    assert tags[0]["mlproj.env.project_path"] == "/mlproj/project (copied into the image)"
    # The build output was saved with the run.
    env_log = store_dir / "runs" / runs[0]["run_id"] / "env-build.log"
    assert "COPY . /mlproj/project" in env_log.read_text()


def test_built_image_runs_without_the_project_mount(mlproj, project, docker_client):
    result = mlproj("run", str(project), "--build-image", "--keep-container")
    assert result.returncode == 0, result.stderr
    run = mlproj("runs", "list", "--json").json()[0]
    container = docker_client.containers.get(run["tags"]["mlproj.env.container_id"])
    try:
        destinations = [mount["Destination"] for mount in container.attrs["Mounts"]]
        assert "/mlproj/project" not in destinations
        assert "/mlproj/store" in destinations
        assert (
            container.attrs["Image"].removeprefix("sha256:")
            in run["tags"]["mlproj.env.built_image_id"]
        )
    finally:
        container.remove(force=True)
