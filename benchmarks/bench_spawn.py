"""Starting a child with the parent-death signal: setpriv (now) against the ctypes hook (before).

    PYTHONPATH=. python benchmarks/bench_spawn.py [--repeat 21] [--spawns 200] [--baseline DIR]

Each round starts one fresh Python process per case, which starts ``/bin/true`` as
`mlproj.process.supervise` does (own session, pipes, the parent-death signal) and reports: the
first start (ctypes imported there on the hook path), then over --spawns starts the median time
`Popen` takes to return and the median time until the child has exited. Cases: this checkout
(setpriv), this checkout with MLPROJ_NO_SETPRIV=1 (the hook), --baseline's code, and a plain
Popen with no parent-death signal at all (the floor). Figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import bench_environ

PROBE = """
import json, os, statistics, subprocess, sys, time
mode, spawns = sys.argv[1], int(sys.argv[2])
if mode == "plain":
    def prepare(argv, cwd, env): return list(argv), None
else:
    try:
        from mlproj.parentdeath import with_parent_death as prepare
    except ImportError:  # the code before: the hook lived in mlproj.process
        from mlproj.process import _parent_death_hook
        def prepare(argv, cwd, env): return list(argv), _parent_death_hook()
env = dict(os.environ)
def spawn():
    began = time.perf_counter()
    argv, hook = prepare(["/bin/true"], None, env)
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True, preexec_fn=hook)
    returned = time.perf_counter()
    child.communicate()
    return returned - began, time.perf_counter() - began
first = spawn()[0]
times = [spawn() for _ in range(spawns)]
print(json.dumps([first, statistics.median(t[0] for t in times),
                  statistics.median(t[1] for t in times), "ctypes" in sys.modules]))
"""


def probe(mode: str, spawns: int, work: Path, code: Path | None, **extra: str) -> list[float]:
    env = bench_environ(**extra)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(spawns)],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--spawns", type=int, default=200)
    parser.add_argument("--baseline", type=Path, help="another checkout (the code before)")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, Python {platform.python_version()}")
    cases: dict[str, tuple[str, Path | None, dict[str, str]]] = {
        "setpriv (now)": ("mlproj", None, {}),
        "ctypes hook (MLPROJ_NO_SETPRIV=1)": ("mlproj", None, {"MLPROJ_NO_SETPRIV": "1"}),
        "plain Popen, no parent-death signal": ("plain", None, {}),
    }
    if args.baseline:
        cases["baseline checkout"] = ("mlproj", args.baseline, {})
    samples: dict[str, list[list[float]]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for name, (mode, code, extra) in cases.items():
                samples[name].append(probe(mode, args.spawns, Path(tmp), code, **extra))
    print(f"\n{'case':<38} {'first':>8} {'Popen':>8} {'to exit':>8}  ctypes")
    for name, rows in samples.items():
        first, popen, done = (statistics.median(r[i] * 1000 for r in rows) for i in range(3))
        ctypes = "imported" if any(r[3] for r in rows) else "-"
        print(f"{name:<38} {first:6.2f}ms {popen:6.3f}ms {done:6.3f}ms  {ctypes}")


if __name__ == "__main__":
    main()
