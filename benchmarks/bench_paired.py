"""`mlproj run` of a trivial project with two checkouts' code: paired differences, instructions.

    PYTHONPATH=. python benchmarks/bench_paired.py --baseline OTHER_CHECKOUT [--repeat 61]
        [--callgrind 3]

Each round runs the same `mlproj run <trivial folder> -q --env-manager local` with the baseline's
code and with this checkout's (order alternating between rounds), then takes the difference of
the two; the figure is the median of those differences, in wall time and in CPU time (user +
system, with the child). On a machine shared with other work a paired difference moves far
less than two medians taken apart (each side's medians, and those of the entry point's command
run directly, are printed too). Both sides use their own store and a warm YAML cache. With
--callgrind N, valgrind counts the instructions of N runs of each side (the mlproj process, not
its child), which do not move with the load at all.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import TRIVIAL_MLPROJECT, bench_environ, mlproj_cmd, timed, timed_cpu


def instructions(argv: list[str], env: dict[str, str], cwd: Path) -> int:
    """Instructions valgrind counts for one run (the process itself, not its children)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    parser.add_argument("--repeat", type=int, default=61)
    parser.add_argument("--callgrind", type=int, default=0, help="runs counted per side")
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# {platform.platform()}, Python {platform.python_version()}, load average {load}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "trivial").mkdir()
        (work / "trivial" / "MLproject").write_text(TRIVIAL_MLPROJECT)
        argv = [*mlproj_cmd(), "run", str(work / "trivial"), "-q", "--env-manager", "local"]
        ours = bench_environ(MLPROJ_TRACKING_URI=str(work / "ours"), MLPROJ_CACHE_DIR=tmp)
        base = dict(
            ours,
            PYTHONPATH=str(args.baseline.resolve()),
            MLPROJ_TRACKING_URI=str(work / "base"),
        )
        sides = {"baseline": base, "this checkout": ours}
        for env in sides.values():  # warm-up: .pyc files, the store, the YAML cache
            timed(argv, env=env, cwd=work)
        direct = ["python", "-c", "pass", "0.5"]  # what the entry point runs, run directly
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in (*sides, "direct")}
        for index in range(args.repeat):
            order = list(sides) if index % 2 == 0 else list(reversed(sides))
            for name in order:
                runs[name].append(timed_cpu(argv, env=sides[name], cwd=work))
            runs["direct"].append(timed_cpu(direct, env=ours, cwd=work))
        median = statistics.median
        for name, got in runs.items():
            wall, cpu = median(w for w, _ in got), median(c for _, c in got)
            print(f"  {name:<14} median wall {wall * 1000:6.1f} ms, CPU {cpu * 1000:6.1f} ms")
        pairs = zip(runs["this checkout"], runs["baseline"], strict=True)
        walls, cpus = zip(*((a[0] - b[0], a[1] - b[1]) for a, b in pairs), strict=True)
        print(f"paired median difference over {args.repeat} rounds (this checkout - baseline):")
        print(f"  wall {median(walls) * 1000:+.1f} ms, CPU {median(cpus) * 1000:+.1f} ms")
        if args.callgrind and shutil.which("valgrind"):
            for name, env in sides.items():
                counts = [instructions(argv, env, work) for _ in range(args.callgrind)]
                print(f"  instructions, {name}: {median(counts) / 1e6:.1f} M")
        elif args.callgrind:
            print("  (no valgrind on PATH: instructions not counted)", file=sys.stderr)


if __name__ == "__main__":
    main()
