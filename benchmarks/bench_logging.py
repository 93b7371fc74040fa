"""Logging from inside runs, side by side (medians of --repeat runs, interleaved):

    python benchmarks/bench_logging.py [--repeat 7] [--calls 10000]
        [--mlflow-python VENV/bin/python] [--baseline OTHER_CHECKOUT]

1. `mlproj run` of a Python entry point looping --calls times: without logging, with
   `mlproj.log_metric` (the protocol, ingested live), and with --capture-scalars on printed
   lines; the added seconds over the same loop without logging (budget: 1 s for 10,000 calls),
   and a check that every point of every run was stored;
2. the same loop outside `mlproj run` (the API starts a run and ingests it in-process);
3. `mlflow.log_metric` through the REST bridge, when --mlflow-python names a python with
   mlflow installed (1,000 calls: MLflow's client makes one HTTP request per call);
4. the overhead of a trivial `mlproj run` with this checkout vs --baseline (another checkout,
   e.g. `git archive main | tar -x -C /tmp/main`): what the log file, its reader and the MLflow
   bridge cost a run that logs nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOOP = """import sys
calls, mode = int(sys.argv[1]), sys.argv[2]
if mode == "api":
    import mlproj
if mode.startswith("mlflow"):  # imported in both mlflow cases: the import alone takes seconds
    import mlflow
total = 0.0
for step in range(calls):
    value = 1.0 / (step + 1)
    total += value
    if mode == "api":
        mlproj.log_metric("loss", value, step=step)
    elif mode == "print":
        print(f"loss: {value} (step {step})")
    elif mode == "mlflow":
        mlflow.log_metric("loss", value, step=step)
"""
MLPROJECT = """name: bench-logging
entry_points:
  main:
    parameters: {calls: int, mode: string, py: {type: string, default: python}}
    command: "{py} loop.py {calls} {mode}"
"""


def mlproj_cmd(checkout: Path) -> tuple[list[str], dict[str, str]]:
    """`python -m mlproj` running the code of ``checkout`` (not whatever is installed)."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    return [sys.executable, "-m", "mlproj"], env


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {argv}\n{done.stderr.decode()}")
    return elapsed


def interleaved(cases: dict[str, tuple[list[str], dict[str, str]]], repeat: int, cwd: Path) -> dict:
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for argv, env in cases.values():  # warm-up: page cache, .pyc files
        timed(argv, env, cwd)
    for _ in range(repeat):
        for name, (argv, env) in cases.items():
            samples[name].append(timed(argv, env, cwd))
    return {name: statistics.median(values) for name, values in samples.items()}


def report(title: str, medians: dict[str, float], base: str) -> None:
    print(f"\n## {title}")
    for name, value in medians.items():
        added = value - medians[base]
        print(f"  {name:<52} {value * 1000:8.1f} ms   {added * 1000:+8.1f} ms vs {base}")


def check_stored(store: Path, calls: int, entry_mode: str) -> str:
    """Every run of ``entry_mode`` (its `mode` param, or `label` when given) stored all points."""
    sys.path.insert(0, str(REPO))
    from mlproj.tracking.store import Store

    expr = f"params.mode = '{entry_mode}' or params.label = '{entry_mode}'"
    with Store.open(str(store)) as opened:
        runs = [
            run
            for run in opened.search_runs(filter=expr, limit=None)
            if run.params.get("label", entry_mode) == entry_mode
        ]
        counts = {len(opened.metric_history(run.run_id, "loss")) for run in runs}
    verdict = "OK" if counts == {calls} else "MISSING POINTS"
    return (
        f"{len(runs)} runs of mode {entry_mode}: points stored per run {sorted(counts)} ({verdict})"
    )


def loop_project(work: Path) -> Path:
    project = work / "project"
    if not project.is_dir():
        project.mkdir()
        (project / "MLproject").write_text(MLPROJECT)
        (project / "loop.py").write_text(LOOP)
    return project


def bench_in_run(work: Path, repeat: int, calls: int) -> None:
    project = loop_project(work)
    store = work / "store"
    cmd, env = mlproj_cmd(REPO)
    env["MLPROJ_TRACKING_URI"] = str(store)
    run = [*cmd, "run", str(project), "-q", "-P", f"calls={calls}", "-P", f"py={sys.executable}"]
    cases = {
        f"mlproj run: loop of {calls:,}, no logging": ([*run, "-P", "mode=none"], env),
        f"mlproj run: {calls:,} x mlproj.log_metric": ([*run, "-P", "mode=api"], env),
        f"mlproj run: {calls:,} x print (no capture)": ([*run, "-P", "mode=print"], env),
        f"mlproj run --capture-scalars: {calls:,} x print": (
            [*run, "-P", "mode=print", "-P", "label=capture", "--capture-scalars"],
            env,
        ),
    }
    medians = interleaved(cases, repeat, work)
    report(f"logging from a Python entry point ({calls:,} calls)", medians, next(iter(cases)))
    names = list(medians)
    added = medians[names[1]] - medians[names[0]]
    print(f"  => mlproj.log_metric x{calls:,}: +{added:.3f} s over the bare loop (budget 1 s)")
    captured = medians[names[3]] - medians[names[2]]
    print(f"  => --capture-scalars on {calls:,} lines: +{captured:.3f} s over printing them")
    print(f"  stored: {check_stored(store, calls, 'api')}")
    print(f"  stored: {check_stored(store, calls, 'capture')}")


def bench_outside_run(work: Path, repeat: int, calls: int) -> None:
    script = work / "loop.py"
    script.write_text(LOOP)
    env = dict(os.environ, PYTHONPATH=str(REPO), MLPROJ_TRACKING_URI=str(work / "store-api"))
    for name in ("MLPROJ_RUN_ID", "MLPROJ_LOG_FILE"):
        env.pop(name, None)
    cases = {
        f"python: loop of {calls:,}, no logging": (
            [sys.executable, str(script), str(calls), "none"],
            env,
        ),
        f"python: {calls:,} x mlproj.log_metric (new run)": (
            [sys.executable, str(script), str(calls), "api"],
            env,
        ),
    }
    medians = interleaved(cases, repeat, work)
    report("the API outside a run (a new run, ingested by a thread)", medians, next(iter(cases)))


def bench_mlflow(work: Path, repeat: int, python: str) -> None:
    calls = 1000
    project = loop_project(work)
    store = work / "store-mlflow"
    cmd, env = mlproj_cmd(REPO)
    env["MLPROJ_TRACKING_URI"] = str(store)
    run = [*cmd, "run", str(project), "-q", "-P", f"calls={calls}", "-P", f"py={python}"]
    cases = {
        f"mlproj run: import mlflow, loop of {calls:,}, no logging": (
            [*run, "-P", "mode=mlflow-none"],
            env,
        ),
        f"mlproj run: {calls:,} x mlflow.log_metric": ([*run, "-P", "mode=mlflow"], env),
    }
    medians = interleaved(cases, max(3, repeat // 2), work)
    report("MLflow's client through the REST bridge", medians, next(iter(cases)))
    base, logged = medians.values()
    per_call = (logged - base) / calls
    print(f"  => {per_call * 1000:.2f} ms per mlflow.log_metric call")
    print(f"  stored: {check_stored(store, calls, 'mlflow')}")


def bench_overhead(work: Path, repeat: int, baseline: Path) -> None:
    project = work / "trivial"
    project.mkdir()
    (project / "MLproject").write_text("entry_points:\n  main:\n    command: python -c pass\n")
    cases = {"python -c pass (direct)": ([sys.executable, "-c", "pass"], dict(os.environ))}
    for label, checkout in (("baseline", baseline), ("this checkout", REPO)):
        cmd, env = mlproj_cmd(checkout)
        env["MLPROJ_TRACKING_URI"] = str(work / f"store-{label.replace(' ', '-')}")
        cases[f"mlproj run, {label}"] = ([*cmd, "run", str(project), "-q"], env)
    cases["mlproj run, this checkout, MLPROJ_MLFLOW_BRIDGE=0"] = (
        cases["mlproj run, this checkout"][0],
        dict(cases["mlproj run, this checkout"][1], MLPROJ_MLFLOW_BRIDGE="0"),
    )
    medians = interleaved(cases, repeat, work)
    report("run overhead of a trivial entry point", medians, "python -c pass (direct)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--mlflow-python", help="a python with mlflow installed")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare overhead")
    parser.add_argument(
        "--only", choices=["in-run", "outside", "mlflow", "overhead"], help="one section only"
    )
    args = parser.parse_args()
    print(f"# mlproj logging benchmarks, {time.strftime('%Y-%m-%d %H:%M')}")
    cores, version = os.cpu_count(), platform.python_version()
    print(f"machine: {platform.platform()}, {cores} cores, Python {version}")
    with tempfile.TemporaryDirectory(prefix="mlproj-bench-logging-") as tmp:
        work = Path(tmp)
        wanted = {args.only} if args.only else {"in-run", "outside", "mlflow", "overhead"}
        if "in-run" in wanted:
            bench_in_run(work, args.repeat, args.calls)
        if "outside" in wanted:
            bench_outside_run(work, args.repeat, args.calls)
        if "mlflow" in wanted and args.mlflow_python:
            bench_mlflow(work, args.repeat, args.mlflow_python)
        if "overhead" in wanted and args.baseline:
            bench_overhead(work, args.repeat, args.baseline.resolve())


if __name__ == "__main__":
    main()
