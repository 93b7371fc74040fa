"""mlproj benchmarks: every figure is measured side by side in one run and printed with ratios.

    python benchmarks/bench.py [--repeat 15] [--quick] [--only run] [--baseline OTHER_CHECKOUT]

Measures (medians of --repeat runs, commands run as subprocesses the way a user runs them):
  1. `mlproj run` of a trivial entry point (local manager) vs the same command run directly;
  2. start-up of `mlproj --help` and `mlproj runs list` (empty store) vs `python -c pass`;
  3. `runs list` and a filtered `runs list` on stores of 1,000 and 100,000 runs;
  4. the same with `mlflow` when it is installed (skipped, and said so, otherwise).

With --baseline (another checkout, e.g. `git archive main | tar -x -C /tmp/main`), the run
overhead is also measured with that checkout's code (same console script, its PYTHONPATH), and
the CPU time (user + system, mlproj and its child) is printed beside the wall time: on a machine
shared with other work, CPU time moves less with the load than wall time does.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

FILTER = "params.alpha = '0.5' and metrics.rmse < 0.8 and status = 'FINISHED'"
TRIVIAL_MLPROJECT = """name: trivial
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
    command: "python -c pass {alpha}"
"""


MLFLOW: str | None = shutil.which("mlflow")


def mlflow_env(base: dict[str, str], work: Path) -> dict[str, str]:
    """MLflow 3 refuses its file store unless told; a file store keeps the comparison local."""
    return dict(
        base,
        MLFLOW_TRACKING_URI=(work / "mlflow-store").as_uri(),
        MLFLOW_ALLOW_FILE_STORE="true",
    )


def mlproj_cmd() -> list[str]:
    """The installed console script, as users call it (python -m mlproj when not installed).

    The script beside this interpreter comes first: a version manager's shim on PATH (pyenv's is a
    bash script) would add its own ~0.1 s to every figure.
    """
    beside = Path(sys.executable).parent / "mlproj"
    script = str(beside) if beside.is_file() else shutil.which("mlproj")
    return [script] if script else [sys.executable, "-m", "mlproj"]


def bench_environ(**extra: str) -> dict[str, str]:
    """The benchmark's environment: like a user's, with bytecode caching on.

    Some machines set PYTHONDONTWRITEBYTECODE=1; then every start recompiles every module that has
    no up-to-date .pyc (uv does not compile at install time), which measures the compiler, not
    mlproj. The warm-up run of each case writes the caches.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # Commands run in a temporary folder: `PYTHONPATH=.` must keep naming this checkout there.
    paths = env.get("PYTHONPATH", "").split(os.pathsep)
    if any(paths):
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in paths if p)
    env.update(extra)
    return env


def timed(argv: Sequence[str], *, env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {argv}\n{done.stderr.decode()}")
    return elapsed


def timed_cpu(argv: Sequence[str], *, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(argv, env=env, cwd=cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved(cases: dict[str, list[str]], repeat: int, env: dict[str, str], cwd: Path) -> dict:
    """Median seconds per case; cases alternate so drift in machine load hits all of them."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for argv in cases.values():  # warm-up: page cache, .pyc files
        timed(argv, env=env, cwd=cwd)
    for _ in range(repeat):
        for name, argv in cases.items():
            samples[name].append(timed(argv, env=env, cwd=cwd))
    return {name: statistics.median(values) for name, values in samples.items()}


def report(title: str, medians: dict[str, float], base: str) -> None:
    print(f"\n## {title}")
    for name, value in medians.items():
        ratio = value / medians[base] if medians[base] else float("nan")
        print(f"  {name:<44} {value * 1000:9.1f} ms   x{ratio:6.2f} vs {base}")


def bench_run_overhead(work: Path, repeat: int, baseline: Path | None = None) -> None:
    project = work / "trivial"
    project.mkdir()
    (project / "MLproject").write_text(TRIVIAL_MLPROJECT)
    env = mlflow_env(bench_environ(MLPROJ_TRACKING_URI=str(work / "store-run")), work)
    python = shutil.which("python") or sys.executable
    direct = "direct: python -c pass 0.5"
    ours = "mlproj run --env-manager local"
    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        direct: ([python, "-c", "pass", "0.5"], env),
        ours: ([*mlproj_cmd(), "run", str(project), "-q"], env),
    }
    if baseline is not None:
        other = dict(env, PYTHONPATH=str(baseline), MLPROJ_TRACKING_URI=str(work / "store-base"))
        cases["the same, baseline checkout"] = (cases[ours][0], other)
    if MLFLOW:
        cases["mlflow run --env-manager local"] = (
            [MLFLOW, "run", str(project), "--env-manager", "local"],
            env,
        )
    wall, cpu = interleaved_cpu(cases, repeat, work)
    report("run overhead (trivial entry point)", wall, direct)
    if baseline is not None:
        report("CPU time, same runs (user + system, with the child)", cpu, direct)
    for name in cases:
        if name.startswith(("mlproj", "the same")):
            overhead = wall[name] - wall[direct]
            print(f"  => {name}: overhead {overhead * 1000:.1f} ms (budget 150 ms)")


def interleaved_cpu(
    cases: dict[str, tuple[list[str], dict[str, str]]], repeat: int, cwd: Path
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU seconds per case, cases interleaved (each with its own environment)."""
    walls: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    for argv, env in cases.values():  # warm-up: page cache, .pyc files
        timed(argv, env=env, cwd=cwd)
    for _ in range(repeat):
        for name, (argv, env) in cases.items():
            wall, cpu = timed_cpu(argv, env=env, cwd=cwd)
            walls[name].append(wall)
            cpus[name].append(cpu)
    median = statistics.median
    return {k: median(v) for k, v in walls.items()}, {k: median(v) for k, v in cpus.items()}


def bench_startup(work: Path, repeat: int) -> None:
    env = bench_environ(MLPROJ_TRACKING_URI=str(work / "store-empty"))
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mlproj --help": [*mlproj_cmd(), "--help"],
        "mlproj runs list (empty store)": [*mlproj_cmd(), "runs", "list"],
    }
    if MLFLOW:
        cases["mlflow --help"] = [MLFLOW, "--help"]
    report("start-up", interleaved(cases, repeat, env, work), "python -c pass")


def build_store(path: Path, n_runs: int) -> float:
    from mlproj.tracking.store import Store
    from mlproj.tracking.synthetic import fill_store

    started = time.perf_counter()
    store = Store.open(str(path))
    fill_store(store, n_runs)
    store.close()
    return time.perf_counter() - started


def bench_store_queries(work: Path, repeat: int, sizes: Sequence[int]) -> None:
    for n_runs in sizes:
        path = work / f"store-{n_runs}"
        built = build_store(path, n_runs)
        print(f"\n(store of {n_runs:,} synthetic runs built in {built:.1f} s)")
        env = bench_environ(MLPROJ_TRACKING_URI=str(path))
        cases = {
            "mlproj --help": [*mlproj_cmd(), "--help"],
            "runs list": [*mlproj_cmd(), "runs", "list"],
            "runs list --json": [*mlproj_cmd(), "runs", "list", "--json"],
            "runs list --filter (3 terms)": [*mlproj_cmd(), "runs", "list", "--filter", FILTER],
            "runs list --sort metrics.rmse": [
                *mlproj_cmd(),
                "runs",
                "list",
                "--sort",
                "metrics.rmse",
            ],
        }
        medians = interleaved(cases, repeat, env, work)
        report(f"runs list on {n_runs:,} runs (default limit 100)", medians, "mlproj --help")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="stores of 1,000 runs only")
    parser.add_argument("--mlflow", help="mlflow executable to compare with [mlflow on PATH]")
    parser.add_argument("--only", choices=["run"], help="only the run overhead")
    parser.add_argument("--baseline", type=Path, help="another checkout: its run overhead too")
    args = parser.parse_args()
    global MLFLOW  # noqa: PLW0603 - one setting for the whole script
    MLFLOW = args.mlflow or MLFLOW
    print(f"# mlproj benchmarks, {time.strftime('%Y-%m-%d %H:%M')}")
    cores, python = os.cpu_count(), platform.python_version()
    print(f"machine: {platform.platform()}, {cores} cores, Python {python}")
    print(f"mlflow: {MLFLOW or 'not installed (no side-by-side run)'}")
    with tempfile.TemporaryDirectory(prefix="mlproj-bench-") as tmp:
        work = Path(tmp)
        if args.only is None:
            bench_startup(work, args.repeat)
        baseline = args.baseline.resolve() if args.baseline else None
        bench_run_overhead(work, args.repeat, baseline)
        if args.only is None:
            bench_store_queries(work, args.repeat, [1000] if args.quick else [1000, 100_000])


if __name__ == "__main__":
    main()
