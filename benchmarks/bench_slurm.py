"""Slurm backend: submission overhead over bare sbatch, and the cost of watching many runs.

    python benchmarks/bench_slurm.py [--repeat 15] [--runs 100]

Needs the cluster of tests/setup/slurm.sh. Jobs are submitted held (`--hold`) so none runs
and the queue stays the same for both sides; everything submitted is cancelled at the end.
  1. Submission, side by side in alternating order, medians: `mlproj run P -b slurm --detach`
     (validation, run record, job file, script, sbatch) vs `sbatch --parsable --hold` of the
     very script mlproj generated.
  2. Watching: --runs detached runs, then `mlproj runs list` and `mlproj runs wait --timeout`
     with a squeue on PATH that counts its calls: one call per poll, not one per run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

# The script's folder is on sys.path: the core benchmark's helpers are shared.
from bench import bench_environ, mlproj_cmd

MLPROJECT = "name: bench\nentry_points:\n  main:\n    command: python -c pass\n"
HOLD = json.dumps({"sbatch-args": ["--hold"]})


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr}")
    return elapsed, done.stdout.strip()


def submission(work: Path, env: dict[str, str], repeat: int) -> tuple[list[float], list[float]]:
    """Alternating order, so neither side always runs on a warmer machine."""
    argv = [*mlproj_cmd(), "run", str(work / "project"), "-b", "slurm", "-c", HOLD]
    argv += ["--detach", "-q", "--env-manager", "local"]
    _, run_id = timed(argv, env, work)  # warm-up (bytecode, store), and the script to reuse
    script = work / "bare.sbatch"
    shutil.copy(work / "mlruns" / "runs" / run_id / "job.sbatch", script)
    bare_argv = ["sbatch", "--parsable", "--hold", str(script)]
    mlproj: list[float] = []
    bare: list[float] = []
    for index in range(repeat):
        sides = [(argv, mlproj), (bare_argv, bare)]
        for command, results in sides if index % 2 == 0 else sides[::-1]:
            results.append(timed(command, env, work)[0])
    return mlproj, bare


def watching(work: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    project = work / "project"
    argv = [*mlproj_cmd(), "run", str(project), "-b", "slurm", "-c", HOLD, "--detach", "-q"]
    ids = [timed([*argv, "--env-manager", "local"], env, work)[1] for _ in range(runs)]
    shims = work / "shims"
    shims.mkdir(exist_ok=True)
    calls = work / "squeue-calls"
    real = shutil.which("squeue")
    (shims / "squeue").write_text(f'#!/bin/sh\necho x >> {calls}\nexec {real} "$@"\n')
    (shims / "squeue").chmod(0o755)
    shim_env = {**env, "PATH": f"{shims}{os.pathsep}{env['PATH']}", "MLPROJ_POLL_INTERVAL": "0.5"}
    list_time, _ = timed([*mlproj_cmd(), "runs", "list", "--limit", "0"], shim_env, work)
    list_calls = len(calls.read_text().splitlines())
    calls.unlink()
    started = time.perf_counter()
    subprocess.run(
        [*mlproj_cmd(), "runs", "wait", *ids, "--timeout", "5"],
        env=shim_env,
        cwd=work,
        capture_output=True,
        check=False,
    )
    waited = time.perf_counter() - started
    wait_calls = len(calls.read_text().splitlines())
    return {
        "runs": runs,
        "runs_list_s": list_time,
        "runs_list_squeue_calls": list_calls,
        "wait_s": waited,
        "wait_squeue_calls": wait_calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    env = bench_environ()
    with tempfile.TemporaryDirectory(prefix="mlproj-bench-slurm-") as tmp:
        work = Path(tmp)
        (work / "project").mkdir()
        (work / "project" / "MLproject").write_text(MLPROJECT)
        env["MLPROJ_TRACKING_URI"] = str(work / "mlruns")
        try:
            mlproj, bare = submission(work, env, args.repeat)
            watch = watching(work, env, args.runs)
        finally:
            user = os.environ.get("USER", "root")
            held = subprocess.run(
                ["squeue", "-h", "-u", user, "-t", "PENDING", "-o", "%i"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.split()
            if held:
                subprocess.run(["scancel", *held], check=False)
    med_m, med_b = statistics.median(mlproj), statistics.median(bare)
    print(f"machine: {platform.node()} {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"submission, medians of {args.repeat} (held jobs):")
    print(f"  mlproj run -b slurm --detach   {med_m * 1000:7.0f} ms")
    print(f"  sbatch --parsable (same script) {med_b * 1000:7.0f} ms")
    print(f"  overhead                        {(med_m - med_b) * 1000:7.0f} ms (budget 300 ms)")
    print(f"watching {watch['runs']} detached runs:")
    print(
        f"  runs list: {watch['runs_list_s'] * 1000:.0f} ms, "
        f"{watch['runs_list_squeue_calls']} squeue call(s)"
    )
    print(
        f"  runs wait (poll 0.5 s, timeout 5 s): {watch['wait_s']:.1f} s, "
        f"{watch['wait_squeue_calls']} squeue call(s)"
    )


if __name__ == "__main__":
    main()
