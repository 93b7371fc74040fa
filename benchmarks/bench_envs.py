"""Environment benchmarks: warm-run overhead and cold builds, side by side with the bare tools.

    python benchmarks/bench_envs.py [--repeat 9] [--cold-repeat 5] [--only cold-uv]
        [--baseline OTHER_CHECKOUT]

Measures (medians; every command is a subprocess, run the way a user runs it):
  1. warm run: `mlproj run` of a python_env project (one dependency, six) whose environment is
     cached, under --env-manager virtualenv and uv, vs the same run with --env-manager local;
  2. cold build with uv: `mlproj run --env-manager uv` and `--env-manager virtualenv` on an empty
     mlproj cache vs `uv venv --python <this interpreter>` + `uv pip install six` (mlproj also
     names the interpreter: a bare `uv venv` would run a version manager's shim, ~0.2 s);
  3. cold build without uv: `MLPROJ_NO_UV=1 mlproj run --env-manager virtualenv` vs
     `python -m venv` + `pip install six`.
uv's and pip's own download caches stay warm for every case alike (a fresh download measures the
network). The cold `mlproj run` figures include the run itself (start-up, store, entry point).
With --baseline, the cold builds also run with another checkout's code, interleaved (before/after).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import bench_environ, mlproj_cmd, report, timed

MLPROJECT = """name: one-dependency
python_env: python_env.yaml
entry_points:
  main:
    command: "python -c 'import sys; sys.exit(0)'"
"""
PYTHON_ENV = "dependencies:\n  - six\n"


def find_uv() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except ImportError:
        found = shutil.which("uv")
        if not found:
            raise SystemExit("uv is not installed (pip install uv)") from None
        return found


def project(work: Path) -> Path:
    folder = work / "project"
    folder.mkdir(exist_ok=True)
    (folder / "MLproject").write_text(MLPROJECT)
    (folder / "python_env.yaml").write_text(PYTHON_ENV)
    return folder


def bench_warm(work: Path, repeat: int) -> None:
    folder = project(work)
    env = bench_environ(
        MLPROJ_TRACKING_URI=str(work / "store-warm"), MLPROJ_CACHE_DIR=str(work / "cache-warm")
    )
    run = [*mlproj_cmd(), "run", str(folder), "-q", "--env-manager"]
    cases = {
        "mlproj run --env-manager local": [*run, "local"],
        "mlproj run --env-manager virtualenv (cached)": [*run, "virtualenv"],
        "mlproj run --env-manager uv (cached)": [*run, "uv"],
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for argv in cases.values():  # warm-up: builds the environments, page cache, .pyc files
        timed(argv, env=env, cwd=work)
    for _ in range(repeat):
        for name, argv in cases.items():
            samples[name].append(timed(argv, env=env, cwd=work))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    report("warm run (environment cached), one-dependency project", medians, cases_base(cases))
    for name in list(cases)[1:]:
        overhead = medians[name] - medians["mlproj run --env-manager local"]
        print(f"  => {name}: {overhead * 1000:+.1f} ms over local (budget 300 ms)")


def cases_base(cases: dict[str, list[str]]) -> str:
    return next(iter(cases))


def cold(
    make: Callable[[Path], list[list[str]]], env: dict[str, str], work: Path
) -> tuple[float, float | None]:
    """Seconds for the commands ``make(fresh_folder)`` returns, run in sequence, and the build
    time mlproj recorded in the cache entry's marker (None when mlproj did not build)."""
    fresh = Path(tempfile.mkdtemp(prefix="cold-", dir=work))
    started = time.perf_counter()
    for argv in make(fresh):
        timed(argv, env=dict(env, MLPROJ_CACHE_DIR=str(fresh / "cache")), cwd=work)
    elapsed = time.perf_counter() - started
    markers = list((fresh / "cache" / "envs").glob("*/mlproj-env.json"))
    build = json.loads(markers[0].read_text())["build_seconds"] if markers else None
    shutil.rmtree(fresh, ignore_errors=True)
    return elapsed, build


def bench_cold(
    work: Path, repeat: int, *, uv_available: bool, baseline: Path | None = None
) -> None:
    folder = project(work)
    base = bench_environ(MLPROJ_TRACKING_URI=str(work / "store-cold"))
    run = [*mlproj_cmd(), "run", str(folder), "-q", "--env-manager"]
    python = sys.executable
    if uv_available:
        uv = find_uv()
        cases: dict[str, tuple[Callable[[Path], list[list[str]]], dict[str, str]]] = {
            "uv venv + uv pip install six": (
                lambda d: [
                    [uv, "venv", "-q", "--python", python, str(d / "v")],
                    [uv, "pip", "install", "-q", "--python", str(d / "v/bin/python"), "six"],
                ],
                base,
            ),
            "mlproj run --env-manager uv (cold)": (lambda _d: [[*run, "uv"]], base),
            "mlproj run --env-manager virtualenv (cold)": (
                lambda _d: [[*run, "virtualenv"]],
                base,
            ),
        }
        if baseline is not None:  # the same build with another checkout's code (before/after)
            cases["mlproj run --env-manager virtualenv (cold, --baseline)"] = (
                lambda _d: [[*run, "virtualenv"]],
                dict(base, PYTHONPATH=str(baseline)),
            )
        title = "cold build with uv, one dependency (six)"
    else:
        no_uv = dict(base, MLPROJ_NO_UV="1")
        cases = {
            "python -m venv + pip install six": (
                lambda d: [
                    [python, "-m", "venv", str(d / "v")],
                    [str(d / "v/bin/python"), "-m", "pip", "install", "-q", "six"],
                ],
                base,
            ),
            "MLPROJ_NO_UV=1 mlproj run --env-manager virtualenv (cold)": (
                lambda _d: [[*run, "virtualenv"]],
                no_uv,
            ),
        }
        if baseline is not None:
            cases["MLPROJ_NO_UV=1 mlproj run --env-manager virtualenv (cold, --baseline)"] = (
                lambda _d: [[*run, "virtualenv"]],
                dict(no_uv, PYTHONPATH=str(baseline)),
            )
        title = "cold build without uv, one dependency (six)"
    samples: dict[str, list[float]] = {}
    for make, env in cases.values():  # warm-up: the tools' download caches
        cold(make, env, work)
    for _ in range(repeat):
        for name, (make, env) in cases.items():
            elapsed, build = cold(make, env, work)
            samples.setdefault(name, []).append(elapsed)
            if build is not None:
                short = name.replace("mlproj run ", "").replace(" (cold)", "")
                short = short.replace("(cold, ", "(")
                samples.setdefault(f"  of which the build ({short})", []).append(build)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    report(title, medians, next(iter(cases)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="warm-run repetitions")
    parser.add_argument("--cold-repeat", type=int, default=5, help="cold-build repetitions")
    parser.add_argument("--baseline", type=Path, help="another checkout, to compare cold builds")
    parser.add_argument(
        "--only", choices=("warm", "cold-uv", "cold-pip"), action="append", help="parts to run"
    )
    args = parser.parse_args()
    parts = set(args.only or ("warm", "cold-uv", "cold-pip"))
    print(f"# mlproj environment benchmarks, {time.strftime('%Y-%m-%d %H:%M')}")
    python = platform.python_version()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {python}")
    print("(run with PYTHONPATH set to the checkout to measure it rather than an installed copy)")
    with tempfile.TemporaryDirectory(prefix="mlproj-bench-envs-") as tmp:
        work = Path(tmp)
        if "warm" in parts:
            bench_warm(work, args.repeat)
        if "cold-uv" in parts:
            bench_cold(work, args.cold_repeat, uv_available=True, baseline=args.baseline)
        if "cold-pip" in parts:
            bench_cold(work, args.cold_repeat, uv_available=False, baseline=args.baseline)


if __name__ == "__main__":
    main()
