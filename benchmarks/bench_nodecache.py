"""Loading a project with and without its composed YAML cached (`mlproj/spec/nodecache.py`).

    PYTHONPATH=. python benchmarks/bench_nodecache.py [--repeat 21] [--baseline OTHER_CHECKOUT]

For a trivial MLproject and each example project, every round starts a fresh Python process
with an empty cache folder (cold: PyYAML is imported and the file composed, then the entry is
written) and then another one (warm: read back from the cache). Each process imports the spec
modules first and times `load_project(folder)` alone, in-process; figures are medians. With
--baseline, a third process per round loads the project with that checkout's code. The run
overhead of `mlproj run` is measured by `bench.py --only run --baseline OTHER_CHECKOUT`.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import TRIVIAL_MLPROJECT, bench_environ

REPO = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys, time
from pathlib import Path
import mlproj.spec.load
started = time.perf_counter()
mlproj.spec.load.load_project(Path(sys.argv[1]))
print(json.dumps([time.perf_counter() - started, "yaml" in sys.modules]))
"""


def load_once(
    folder: Path, cache: Path, work: Path, code: Path | None = None
) -> tuple[float, bool]:
    """Seconds of one `load_project` in a fresh process, and whether it imported yaml."""
    env = bench_environ(MLPROJ_CACHE_DIR=str(cache))
    if code is not None:
        env["PYTHONPATH"] = str(code)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)],
        env=env,
        cwd=work,  # not the checkout: `python -c` puts the current folder first on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, imported = json.loads(done.stdout)
    return seconds, imported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--baseline", type=Path, help="another checkout, loaded the same way")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trivial = work / "trivial"
        trivial.mkdir()
        (trivial / "MLproject").write_text(TRIVIAL_MLPROJECT)
        folders = [trivial, *sorted(p.parent for p in REPO.glob("example_projects/*/MLproject"))]
        print(f"\n{'project':<20} {'baseline':>9} {'cold':>9} {'warm':>9}  yaml (cold, warm)")
        for folder in folders:
            samples: dict[str, list[float]] = {"baseline": [], "cold": [], "warm": []}
            imported: set[tuple[bool, bool]] = set()
            for _ in range(args.repeat):
                cache = work / "cache"
                shutil.rmtree(cache, ignore_errors=True)
                if args.baseline:
                    samples["baseline"].append(load_once(folder, cache, work, args.baseline)[0])
                    shutil.rmtree(cache, ignore_errors=True)
                first, first_yaml = load_once(folder, cache, work)
                second, second_yaml = load_once(folder, cache, work)
                samples["cold"].append(first)
                samples["warm"].append(second)
                imported.add((first_yaml, second_yaml))
            ms = {
                k: f"{statistics.median(v) * 1000:7.2f}ms" if v else "-" for k, v in samples.items()
            }
            print(
                f"{folder.name:<20} {ms['baseline']:>9} {ms['cold']:>9} {ms['warm']:>9}"
                f"  {sorted(imported)}"
            )


if __name__ == "__main__":
    main()
