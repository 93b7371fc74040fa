"""Source resolution: first vs second `mlproj run file:///…repo#sub -v TAG`, side by side.

    python benchmarks/bench_sources.py [--repeat 9] [--files 3,30,300] [--commits 30]

For each repository size in --files, every round starts with an empty cache; figures are
medians over --repeat rounds.
  1. `resolve_source(URL#sub, version=TAG)` in a fresh Python process, timed inside it from
     before `import mlproj.sources` to the checkout being ready: first run (clone into the
     cache, GitPython) vs second run (cache hit: the first run's unchanged checkout is claimed
     as a spare) vs a cache hit with no spare free (the commit is exported from the mirror),
     and the time mlproj reports in `ResolvedSource.seconds` (resolution proper, no imports).
  2. `mlproj run URL#sub -v TAG` as a user runs it: wall time first vs second, and the
     resolution time mlproj prints on its `source ...` line.
  3. Reference: what MLflow does on every run of a git URL, `git clone` + `git checkout TAG`
     into a fresh folder.
  4. A local folder in a git work tree used in place (`mlproj run .`): provenance only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}
MLPROJECT = "name: bench\nentry_points:\n  main:\n    command: python -c pass\n"
RESOLVE = """
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from mlproj.sources import resolve_source
source = resolve_source(sys.argv[1], version=sys.argv[2] or None, caller_dir=Path.cwd())
total = time.perf_counter() - started
source.release()
fetch = source.details.get("fetch")
print(json.dumps({"total": total, "reported": source.seconds, "fetch": fetch}))
"""
SOURCE_LINE = re.compile(r"mlproj: source .*, ([0-9.]+) s\)$", re.MULTILINE)


def git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **IDENTITY}, check=True, capture_output=True
    )


def make_repo(work: Path, files: int, commits: int) -> tuple[str, Path]:
    """A repository with a project in ``sub/``, ``files`` files, ``commits`` commits, tag v1."""
    repo = work / "repo-work"
    git("init", "-q", "-b", "main", str(repo))
    (repo / "sub").mkdir()
    (repo / "sub" / "MLproject").write_text(MLPROJECT)
    per_commit = max(1, files // commits)
    for n in range(commits):
        # New files in every commit, and the first ones edited again (history to fetch).
        for i in [*range(n * per_commit, (n + 1) * per_commit), *range(min(5, files))]:
            if i >= files - 1:
                continue
            target = repo / "pkg" / f"m{i % 20}" / f"file{i}.py"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"VALUE = {n * 1000 + i}\n" + "# padding\n" * 40)
        git("add", "-A", cwd=repo)
        git("commit", "-q", "-m", f"commit {n}", cwd=repo)
        if n == commits - 5:
            git("tag", "-a", "v1", "-m", "release", cwd=repo)
    bare = work / "served" / "repo.git"
    git("clone", "-q", "--bare", str(repo), str(bare))
    return bare.as_uri(), repo


def mlproj_cmd() -> list[str]:
    return [sys.executable, "-m", "mlproj"]


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {argv}\n{done.stderr}")
    return done


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms"


def bench_resolve(url: str, work: Path, env: dict[str, str], repeat: int) -> None:
    keys = ("first", "second", "export", "first_rep", "second_rep", "export_rep")
    rows: dict[str, list[float]] = {k: [] for k in keys}
    for round_ in range(repeat):
        cache = work / f"cache-resolve-{round_}"
        round_env = {**env, "MLPROJ_CACHE_DIR": str(cache)}
        argv = [sys.executable, "-c", RESOLVE, f"{url}#sub", "v1"]
        first = json.loads(run(argv, round_env, work).stdout)
        second = json.loads(run(argv, round_env, work).stdout)
        assert first["fetch"] == "cloned", first
        assert second["fetch"] == "cached", second
        # A cache hit when no spare checkout is free (a concurrent run holds it): export.
        for spares in (cache / "git").glob("*/spares"):
            shutil.rmtree(spares)
        export = json.loads(run(argv, round_env, work).stdout)
        for name, result in (("first", first), ("second", second), ("export", export)):
            rows[name].append(result["total"])
            rows[f"{name}_rep"].append(result["reported"])
        shutil.rmtree(cache)
    print("\n## resolve_source(file:///…repo.git#sub, version='v1') in a fresh process")
    print(f"  first run (clone into cache), imports included  {median_ms(rows['first'])}")
    print(f"  second run (cache hit), imports included        {median_ms(rows['second'])}")
    print(f"  first run, ResolvedSource.seconds               {median_ms(rows['first_rep'])}")
    print(f"  second run, ResolvedSource.seconds              {median_ms(rows['second_rep'])}")
    print(f"  hit without a spare checkout (export), imports  {median_ms(rows['export'])}")
    print(f"  hit without a spare, ResolvedSource.seconds     {median_ms(rows['export_rep'])}")
    first, second = (statistics.median(rows[k]) for k in ("first_rep", "second_rep"))
    print(f"  => resolution, second/first: x{second / first:.2f} (budget: second <= 200 ms)")


def bench_cli(url: str, work: Path, env: dict[str, str], repeat: int) -> None:
    walls: dict[str, list[float]] = {"first": [], "second": []}
    reported: dict[str, list[float]] = {"first": [], "second": []}
    reference: list[float] = []
    for round_ in range(repeat):
        cache = work / f"cache-cli-{round_}"
        round_env = {**env, "MLPROJ_CACHE_DIR": str(cache)}
        argv = [*mlproj_cmd(), "run", f"{url}#sub", "-v", "v1"]
        for which in ("first", "second"):
            started = time.perf_counter()
            done = run(argv, round_env, work)
            walls[which].append(time.perf_counter() - started)
            match = SOURCE_LINE.search(done.stderr)
            assert match, done.stderr
            reported[which].append(float(match.group(1)))
        clone = work / f"clone-{round_}"
        reference.append(
            timed(
                lambda c=clone: (
                    git("clone", "-q", url, str(c)),
                    git("-c", "advice.detachedHead=false", "checkout", "-q", "v1", cwd=c),
                )
            )
        )
        shutil.rmtree(cache)
        shutil.rmtree(clone)
    print("\n## mlproj run file:///…repo.git#sub -v v1 (trivial entry point)")
    print(f"  first run, wall                                 {median_ms(walls['first'])}")
    print(f"  second run, wall                                {median_ms(walls['second'])}")
    print(f"  first run, resolution as mlproj reports it      {median_ms(reported['first'])}")
    print(f"  second run, resolution as mlproj reports it     {median_ms(reported['second'])}")
    print(f"  reference: git clone + git checkout v1 (MLflow) {median_ms(reference)}")


def bench_local(repo: Path, work: Path, env: dict[str, str], repeat: int) -> None:
    argv = [sys.executable, "-c", RESOLVE, str(repo / "sub"), ""]
    totals, reported = [], []
    for _ in range(repeat):
        done = json.loads(run(argv, env, work).stdout)
        totals.append(done["total"])
        reported.append(done["reported"])
    print("\n## local folder in a git work tree, used in place (mlproj run .)")
    print(f"  resolve_source, imports included                {median_ms(totals)}")
    print(f"  ResolvedSource.seconds (git status + config)    {median_ms(reported)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument(
        "--files", default="3,30,300", help="repository sizes (files), comma-separated"
    )
    parser.add_argument("--commits", type=int, default=30)
    args = parser.parse_args()
    print(f"# mlproj source benchmarks, {time.strftime('%Y-%m-%d %H:%M')}")
    python = platform.python_version()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {python}")
    for files in (int(n) for n in args.files.split(",")):
        with tempfile.TemporaryDirectory(prefix="mlproj-bench-sources-") as tmp:
            work = Path(tmp)
            url, repo = make_repo(work, files, args.commits)
            print(f"\n# repository: {files} files, {args.commits} commits, tag v1 (annotated)")
            path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
            env = {**os.environ, "PYTHONPATH": path, "MLPROJ_TRACKING_URI": str(work / "store")}
            bench_resolve(url, work, env, args.repeat)
            bench_cli(url, work, env, args.repeat)
            bench_local(repo, work, env, args.repeat)


if __name__ == "__main__":
    main()
