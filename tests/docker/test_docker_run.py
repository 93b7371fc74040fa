"""docker_env projects run in real containers through the Docker API (Podman's service in CI)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO
from tests.docker.conftest import BUSYBOX, PYTHON

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leftovers")]

EXAMPLE = EXAMPLES / "docker_regression"
UID_GID = f"{os.getuid()}:{os.getgid()}"


def only_run(mlproj) -> dict:
    runs = mlproj("runs", "list", "--json").json()
    assert len(runs) == 1, runs
    return runs[0]


def mlproject(image: str, entry_points: str, docker_extra: str = "") -> str:
    return (
        f"name: dtest\ndocker_env:\n  image: {image}\n{docker_extra}entry_points:\n{entry_points}"
    )


def test_example_project_computes_in_a_container(mlproj, store_dir):
    result = mlproj("run", str(EXAMPLE), "-P", "degree=5", "-P", "alpha=0.001")
    assert result.returncode == 0, result.stderr
    assert "best degree 5: cv rmse" in result.stdout
    run = only_run(mlproj)
    assert run["status"] == "FINISHED"
    assert run["params"] == {
        "degree": "5",
        "alpha": "0.001",
        "folds": "5",
        "data": "data/curve.csv",
    }
    # Paths inside the project reach the program as the container sees them.
    assert run["command"] == (
        "python fit.py --degree 5 --alpha 0.001 --folds 5 --data /mlproj/project/data/curve.csv"
    )
    assert (run["env"]["manager"], run["env"]["key"]) == ("docker", PYTHON)
    assert run["env"]["details"]["image"] == PYTHON
    tags = run["tags"]
    assert tags["mlproj.env.image"] == PYTHON
    assert tags["mlproj.env.image_id"].startswith("sha256:")
    assert len(tags["mlproj.env.container_id"]) == 64
    assert tags["mlproj.env.user"] == UID_GID
    assert tags["mlproj.env.project_path"] == "/mlproj/project (read-only mount)"
    assert tags["mlproj.env.environment"] == "OMP_NUM_THREADS"
    # The output was saved with the run, and the store was writable from inside the container.
    assert "best degree 5" in mlproj("runs", "logs", run["run_id"]).stdout
    report = store_dir / "runs" / run["run_id"] / "artifacts" / "report.json"
    assert json.loads(report.read_text())["degree"] == 5
    assert report.stat().st_uid == os.getuid()


def test_exit_code_stdout_and_stderr(mlproj, write_project):
    project = write_project(
        {
            "MLproject": mlproject(
                BUSYBOX,
                "  main:\n    parameters: {code: int}\n    command: bash fail.sh {code}\n",
            ),
            "fail.sh": "echo to-stdout; echo to-stderr >&2; exit $1\n",
        }
    )
    result = mlproj("run", str(project), "-P", "code=7")
    assert result.returncode == 7
    assert result.stdout == "to-stdout\n"
    assert "to-stderr" in result.stderr
    run = only_run(mlproj)
    assert (run["status"], run["exit_code"]) == ("FAILED", 7)
    assert mlproj("runs", "logs", run["run_id"]).stdout == "to-stdout\n"
    assert mlproj("runs", "logs", run["run_id"], "--stderr").stdout == "to-stderr\n"


def test_missing_program_in_the_image_fails_the_run(mlproj, write_project):
    project = write_project(
        {"MLproject": mlproject(BUSYBOX, "  main:\n    command: no-such-program --flag\n")}
    )
    # With the default init process, the init reports it (Podman's catatonit exits 1)...
    result = mlproj("run", str(project))
    assert result.returncode != 0
    assert "No such file or directory" in result.stderr
    # ...without one, the runtime refuses to start it, which mlproj reports as a shell would.
    result = mlproj("run", str(project), "-A", "init=false")
    assert result.returncode == 127, result.stderr
    assert "cannot start 'no-such-program --flag' in the container" in result.stderr
    runs = mlproj("runs", "list", "--json").json()
    assert [run["status"] for run in runs] == ["FAILED", "FAILED"]


SECRETS = ("h0st-s3cr3t", "f1xed-s3cr3t", "arg-s3cr3t")


def test_environment_values_never_reach_a_command_line(mlproj, write_project, docker_client):
    project = write_project(
        {
            "MLproject": mlproject(
                BUSYBOX,
                "  main:\n    command: bash env.sh\n",
                "  environment:\n    - FROM_HOST\n    - [FIXED, f1xed-s3cr3t]\n",
            ),
            "env.sh": 'echo "$FROM_HOST $FIXED $EXTRA $MLPROJ_TRACKING_URI"\n',
        }
    )
    result = mlproj(
        "run", str(project), "-A", "env=EXTRA=arg-s3cr3t", "--keep-container", FROM_HOST=SECRETS[0]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == " ".join(SECRETS) + " /mlproj/store\n"
    run = only_run(mlproj)
    container = docker_client.containers.get(run["tags"]["mlproj.env.container_id"])
    try:
        command_line = " ".join(container.attrs["Config"]["Cmd"] or [])
        assert command_line == "bash env.sh"
        assert f"EXTRA={SECRETS[2]}" in container.attrs["Config"]["Env"]  # the API's environment
        assert container.labels["mlproj.run_id"] == run["run_id"]
    finally:
        container.remove(force=True)
    recorded = json.dumps(run) + result.stderr
    assert not any(secret in recorded for secret in SECRETS)
    assert run["tags"]["mlproj.env.environment"] == "EXTRA FIXED FROM_HOST"
    assert run["tags"]["mlproj.env.docker_args"] == "env=EXTRA"
    assert run["tags"]["mlproj.env.keep_container"] == "true"


def test_path_parameters_inside_and_outside_the_project(mlproj, write_project, tmp_path):
    outside = tmp_path / "elsewhere" / "input.txt"
    outside.parent.mkdir()
    outside.write_text("from outside\n")
    project = write_project(
        {
            "MLproject": mlproject(
                BUSYBOX,
                "  main:\n    parameters:\n      inside: {type: path, default: data/in.txt}\n"
                "      other: path\n    command: bash show.sh {inside} {other}\n",
            ),
            "data/in.txt": "from inside\n",
            "show.sh": 'echo "$1 $2"; cat "$1" "$2"\n',
        }
    )
    result = mlproj("run", str(project), "-P", f"other={outside}")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"/mlproj/project/data/in.txt {outside}\nfrom inside\nfrom outside\n")
    assert only_run(mlproj)["params"] == {"inside": "data/in.txt", "other": str(outside)}


@pytest.mark.parametrize("form", ["folder", "sqlite"])
def test_tracking_from_inside_the_container_lands_in_the_run(mlproj, write_project, tmp_path, form):
    # mlproj's tracking package is standard-library only: mounted into the image, it logs into
    # the run through the mounted store, exactly as code in a local run would.
    uri = str(tmp_path / "store") if form == "folder" else f"sqlite:///{tmp_path / 'db' / 'x.db'}"
    project = write_project(
        {
            "MLproject": mlproject(PYTHON, "  main:\n    command: python log.py\n"),
            "log.py": (
                "import os\n"
                "from mlproj.tracking.history import Metric\n"
                "from mlproj.tracking.store import Store\n"
                "store = Store.open(os.environ['MLPROJ_TRACKING_URI'])\n"
                "run_id = os.environ['MLPROJ_RUN_ID']\n"
                "store.log_metrics(run_id, [Metric('inside', 0.25, 1, 1700000000000)])\n"
                "store.set_tags(run_id, {'where': 'container'})\n"
                "print(os.environ['MLPROJ_TRACKING_URI'])\n"
            ),
        }
    )
    mount = f"volume={REPO / 'mlproj'}:/opt/mlproj/mlproj:ro"
    args = ("run", str(project), "-A", mount, "-A", "env=PYTHONPATH=/opt/mlproj")
    result = mlproj(*args, "--tracking-uri", uri)
    assert result.returncode == 0, result.stderr
    inside = "/mlproj/store" if form == "folder" else "sqlite:////mlproj/store/x.db"
    assert result.stdout.strip() == inside
    runs = mlproj("runs", "list", "--json", "--tracking-uri", uri).json()
    assert len(runs) == 1
    assert runs[0]["metrics"] == {"inside": 0.25}
    assert runs[0]["tags"]["where"] == "container"
    assert runs[0]["status"] == "FINISHED"


def test_logging_from_a_container_without_mlproj_inside(mlproj, write_project, store_dir):
    # The log-record file and the artifact folder are in the mounted store: any program in any
    # image logs into the run; stdout scalars are captured as for a local run.
    project = write_project(
        {
            "MLproject": mlproject(BUSYBOX, "  main:\n    command: bash log.sh\n"),
            "log.sh": (
                'echo \'{"type": "metric", "key": "acc", "value": 0.75, "step": 2}\' '
                '>> "$MLPROJ_LOG_FILE"\n'
                'echo \'{"type": "param", "key": "inner", "value": "x"}\' >> "$MLPROJ_LOG_FILE"\n'
                'echo data > "$MLPROJ_ARTIFACT_DIR/out.txt"\n'
                'echo "loss: 0.25 (step 3)"\n'
            ),
        }
    )
    result = mlproj("run", str(project), "--capture-scalars")
    assert result.returncode == 0, result.stderr
    run = only_run(mlproj)
    assert run["metrics"] == {"acc": 0.75, "loss": 0.25}
    assert run["params"]["inner"] == "x"
    artifact = store_dir / "runs" / run["run_id"] / "artifacts" / "out.txt"
    assert artifact.read_text() == "data\n"


def test_docker_args_reach_the_container(mlproj, write_project, docker_client):
    project = write_project(
        {
            "MLproject": mlproject(BUSYBOX, "  main:\n    command: bash probe.sh\n"),
            "probe.sh": "hostname; touch /scratch/f && echo tmpfs-ok; touch /f 2>/dev/null "
            "|| echo read-only-ok; id -u; echo $HOME\n",
        }
    )
    options = ["hostname=box", "memory=64m", "label=team=ml", "read-only", "tmpfs=/scratch"]
    options.append("user=1234:1234")
    args = [word for option in options for word in ("-A", option)]
    result = mlproj("run", str(project), *args, "--keep-container")
    assert result.returncode == 0, result.stderr
    # A uid the image does not know gets a writable HOME.
    assert result.stdout.split() == ["box", "tmpfs-ok", "read-only-ok", "1234", "/tmp"]
    run = only_run(mlproj)
    assert run["tags"]["mlproj.env.docker_args"] == " ".join(options)
    assert run["tags"]["mlproj.env.user"] == "1234:1234"
    container = docker_client.containers.get(run["tags"]["mlproj.env.container_id"])
    try:
        assert container.attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024
        assert container.labels["team"] == "ml"
        assert container.status == "exited"
    finally:
        container.remove(force=True)


@pytest.fixture(scope="module")
def image_with_user(docker_client):
    """An image whose USER is 4321, to tell the image's user from the invoking one."""
    import io

    dockerfile = io.BytesIO(f"FROM {BUSYBOX}\nUSER 4321:4321\n".encode())
    tag = f"localhost/mlproj-test-user:{os.getpid()}"  # one per xdist worker
    image, _ = docker_client.images.build(fileobj=dockerfile, tag=tag)
    yield tag
    docker_client.images.remove(image.id, force=True)


def test_runs_as_the_invoking_user_unless_image_user(mlproj, write_project, image_with_user):
    project = write_project(
        {"MLproject": mlproject(image_with_user, "  main:\n    command: id -u\n")}
    )
    assert mlproj("run", str(project)).stdout == f"{os.getuid()}\n"
    kept = mlproj("run", str(project), "--image-user")
    assert kept.stdout == "4321\n", kept.stderr
    users = sorted(r["tags"]["mlproj.env.user"] for r in mlproj("runs", "list", "--json").json())
    assert users == sorted([UID_GID, "image's user"])


def test_volumes_of_docker_env_are_mounted(mlproj, write_project, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in.txt").write_text("shared data\n")
    project = write_project(
        {
            "MLproject": mlproject(
                BUSYBOX,
                "  main:\n    parameters: {src: path}\n    command: bash copy.sh {src}\n",
                f"  volumes: ['{shared}:/shared', './out:/out']\n",
            ),
            "out/.keep": "",
            "copy.sh": 'cat "$1"; cp "$1" /out/copied.txt\n',
        }
    )
    result = mlproj("run", str(project), "-P", f"src={shared / 'in.txt'}")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "shared data\n"
    # The path parameter was under a mounted folder: the program got the container's path.
    assert "bash copy.sh /shared/in.txt" in only_run(mlproj)["command"]
    copied = project / "out" / "copied.txt"
    assert copied.read_text() == "shared data\n"
    assert copied.stat().st_uid == os.getuid()


def test_project_mount_is_read_only(mlproj, write_project):
    project = write_project(
        {
            "MLproject": mlproject(BUSYBOX, "  main:\n    command: bash write.sh\n"),
            "write.sh": "pwd; touch here 2>/dev/null && echo wrote || echo refused\n",
        }
    )
    result = mlproj("run", str(project))
    assert result.stdout == "/mlproj/project\nrefused\n"
    assert not Path(project / "here").exists()
