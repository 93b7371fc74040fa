"""Run `mlproj ARGS` in a fresh interpreter and report which of some modules it imported."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# A module counts when it is one of ``wanted`` or inside one ("yaml" covers "yaml.reader").
_PROBE = """
import atexit, json, sys
def report():
    wanted = json.loads(sys.argv[1])
    loaded = sorted(m for m in sys.modules if any(m == w or m.startswith(w + '.') for w in wanted))
    sys.stderr.write('LOADED=' + json.dumps(loaded) + '\\n')
atexit.register(report)
from mlproj.cli.main import main
main(json.loads(sys.argv[2]))
"""


def run_probed(
    wanted: Iterable[str], args: list[str], *, env: Mapping[str, str], cwd: Path
) -> tuple[list[str], str]:
    """Which of ``wanted`` `mlproj ARGS` imported, and its stdout; it must exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(wanted)), json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env=dict(env),
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED="))
    return json.loads(line.removeprefix("LOADED=")), done.stdout
