"""Run `mlproj ARGS` in a fresh interpreter and report which of some modules it imported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# A module counts when it is one of ``wanted`` or inside one ("yaml" covers "yaml.reader").
# The probe itself imports only atexit and sys, so that json, say, can be asked about.
_PROBE = """
import atexit, sys
wanted, args = sys.argv[1].split(","), sys.argv[2:]
def report():
    loaded = sorted(m for m in sys.modules if any(m == w or m.startswith(w + '.') for w in wanted))
    sys.stderr.write('LOADED=' + ','.join(loaded) + '\\n')
atexit.register(report)
from mlproj.cli.main import main
main(args)
"""


def run_probed(
    wanted: Iterable[str], args: list[str], *, env: Mapping[str, str], cwd: Path
) -> tuple[list[str], str]:
    """Which of ``wanted`` `mlproj ARGS` imported, and its stdout; it must exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(wanted), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env=dict(env),
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED="))
    loaded = line.removeprefix("LOADED=")
    return (loaded.split(",") if loaded else []), done.stdout
