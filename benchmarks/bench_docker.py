"""Docker benchmarks: --build-image reuse, and `mlproj run` overhead over the Docker SDK itself.

    bash tests/setup/podman.sh && export DOCKER_HOST=unix:///run/mlproj-podman.sock
    python benchmarks/bench_docker.py [--repeat 15]

Measures (medians of --repeat runs, cases interleaved so machine drift hits all of them):
  1. `mlproj run --build-image` of example_projects/docker_regression: first run (builds), then
     runs with unchanged code (must reuse the image: the image ids are printed), then a run
     after one file changed (builds a new image);
  2. the same trivial container (busybox `true`, same mounts, user, variables and init) run
     three ways: `mlproj run` as a command; a Python script doing create/start/logs/wait/remove
     with the SDK, as a command (pays Python start-up and the SDK import like mlproj does); and
     the same SDK calls inside this process (the engine's own time, nothing else). Python's
     start-up and `import docker` alone are measured beside them, to split the difference.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# The script's folder is on sys.path: the core benchmark's helpers are shared.
from bench import mlproj_cmd

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example_projects" / "docker_regression"
BUSYBOX = "localhost/mlproj-busybox:2"
TRIVIAL = (
    f"name: trivial\ndocker_env:\n  image: {BUSYBOX}\nentry_points:\n  main:\n    command: 'true'\n"
)

DIRECT = """
import os, sys, docker
project, store = sys.argv[1], sys.argv[2]
client = docker.from_env()
container = client.containers.create(
    sys.argv[3], ["true"], detach=True, init=True, working_dir="/mlproj/project",
    user=f"{os.getuid()}:{os.getgid()}", labels={"bench": "direct"},
    environment={"PYTHONUNBUFFERED": "1", "MLPROJ_TRACKING_URI": "/mlproj/store"},
    volumes=[f"{project}:/mlproj/project:ro", f"{store}:/mlproj/store:rw"],
)
container.start()
for chunk in container.logs(stream=True, follow=True):
    sys.stdout.buffer.write(chunk)
code = container.wait()["StatusCode"]
container.remove(force=True)
sys.exit(code)
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {argv}\n{done.stderr.decode()}")
    return elapsed


def in_process(project: Path, store: Path) -> float:
    """The same container with the SDK inside this process: the engine's own time."""
    import docker

    client = docker.from_env()
    started = time.perf_counter()
    container = client.containers.create(
        BUSYBOX,
        ["true"],
        detach=True,
        init=True,
        working_dir="/mlproj/project",
        user=f"{os.getuid()}:{os.getgid()}",
        environment={"PYTHONUNBUFFERED": "1", "MLPROJ_TRACKING_URI": "/mlproj/store"},
        volumes=[f"{project}:/mlproj/project:ro", f"{store}:/mlproj/store:rw"],
    )
    container.start()
    for _ in container.logs(stream=True, follow=True):
        pass
    container.wait()
    container.remove(force=True)
    return time.perf_counter() - started


def bench_build_reuse(work: Path) -> None:
    project = work / "docker_regression"
    shutil.copytree(EXAMPLE, project)
    (project / "nonce.txt").write_text(uuid.uuid4().hex)  # a fresh image, whatever ran before
    env = dict(os.environ, MLPROJ_TRACKING_URI=str(work / "store-build"))
    argv = [*mlproj_cmd(), "run", str(project), "--build-image", "-q"]
    print("\n## --build-image: build once, then reuse while the code is unchanged")
    rows = [("first run (builds)", timed(argv, env))]
    rows += [(f"unchanged code, run {n}", timed(argv, env)) for n in (2, 3, 4)]
    (project / "fit.py").write_text((project / "fit.py").read_text() + "\n# changed\n")
    rows.append(("after editing fit.py (builds)", timed(argv, env)))
    listed = subprocess.run(
        [*mlproj_cmd(), "runs", "list", "--json"], env=env, capture_output=True, check=True
    )
    runs = sorted(json.loads(listed.stdout), key=lambda run: run["start_time"])
    for (label, seconds), run in zip(rows, runs, strict=True):
        image = run["tags"]["mlproj.env.built_image_id"].removeprefix("sha256:")[:12]
        tag = run["tags"]["mlproj.env.built_image"]
        print(f"  {label:<32} {seconds:6.2f} s   image {image}  {tag}")
    _remove_images(runs)


def _remove_images(runs: list[dict]) -> None:
    import docker

    client = docker.from_env()
    for image_id in {run["tags"]["mlproj.env.built_image_id"] for run in runs}:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image_id, force=True)


def bench_overhead(work: Path, repeat: int) -> None:
    project, store = work / "trivial", work / "store-overhead"
    project.mkdir()
    store.mkdir()
    (project / "MLproject").write_text(TRIVIAL)
    script = work / "direct.py"
    script.write_text(DIRECT)
    env = dict(os.environ, MLPROJ_TRACKING_URI=str(store))
    cases = {
        "python -c pass (start-up only)": [sys.executable, "-c", "pass"],
        "python -c 'import docker' (SDK import)": [sys.executable, "-c", "import docker"],
        "SDK in this process (engine only)": None,
        "SDK script: python direct.py": [
            sys.executable,
            str(script),
            str(project),
            str(store),
            BUSYBOX,
        ],
        "mlproj run": [*mlproj_cmd(), "run", str(project), "-q"],
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat + 1):  # the first round warms caches and is dropped
        for name, argv in cases.items():
            samples[name].append(in_process(project, store) if argv is None else timed(argv, env))
    medians = {name: statistics.median(values[1:]) for name, values in samples.items()}
    print(f"\n## the same trivial container ({BUSYBOX} `true`), medians of {repeat}")
    base = medians["SDK script: python direct.py"]
    for name, value in medians.items():
        print(f"  {name:<40} {value * 1000:8.1f} ms   x{value / base:5.2f} vs SDK script")
    print(f"  => mlproj run over the SDK script:  {(medians['mlproj run'] - base) * 1000:+.1f} ms")
    engine = medians["SDK in this process (engine only)"]
    over_engine = medians["mlproj run"] - engine
    print(f"  => mlproj run over the engine alone: {over_engine * 1000:+.1f} ms")
    own = over_engine - medians["python -c 'import docker' (SDK import)"]
    print(f"  => of which not Python start-up nor the SDK import: {own * 1000:+.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"# mlproj docker benchmarks, {time.strftime('%Y-%m-%d %H:%M')}")
    cores, python = os.cpu_count(), platform.python_version()
    print(f"machine: {platform.platform()}, {cores} cores, Python {python}")
    import docker

    server = docker.from_env().version()
    print(
        f"Docker API: {os.environ.get('DOCKER_HOST', 'default socket')}, "
        f"{server.get('Components', [{}])[0].get('Name', 'engine')} {server.get('Version')}"
    )
    with tempfile.TemporaryDirectory(prefix="mlproj-bench-docker-") as tmp:
        bench_build_reuse(Path(tmp))
        bench_overhead(Path(tmp), args.repeat)


if __name__ == "__main__":
    main()
