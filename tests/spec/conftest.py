"""Fixtures of the spec tests: real project folders in temp dirs, and a program showing its argv."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Prints its arguments as JSON, so a test can see exactly what a rendered command delivers.
SHOW_PY = "import json, sys\nprint(json.dumps(sys.argv[1:]))\n"


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project folder from ``{relative path: text}`` (text is dedented) and return it."""
    counter = iter(range(1000))

    def write(files: dict[str, str], name: str | None = None) -> Path:
        root = tmp_path / (name or f"project{next(counter)}")
        root.mkdir(parents=True, exist_ok=True)
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text))
        return root

    return write


@pytest.fixture
def show_project(make_project: Callable[..., Path]) -> Path:
    """A project folder holding show.py (prints its argv as JSON) and show.sh (same, via bash)."""
    return make_project(
        {
            "show.py": SHOW_PY,
            "show.sh": f'exec {sys.executable} -I -S show.py "$@"\n',
        },
        name="show",
    )


@pytest.fixture
def run_argv() -> Callable[..., list[str]]:
    """Run an argv in a directory (``python`` = this interpreter); return what show.py printed."""

    def run(argv: Sequence[str], cwd: Path) -> list[str]:
        # "python" means this interpreter, started without site-packages (-I -S) because only
        # the json module is needed and hundreds of runs should stay fast.
        argv = list(argv)
        if argv[0] == "python":
            argv[0:1] = [sys.executable, "-I", "-S"]
        if argv[:2] == ["bash", "-c"]:
            argv[2] = f'python() {{ {sys.executable} -I -S "$@"; }}\n{argv[2]}'
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        decoded: list[str] = json.loads(done.stdout)
        return decoded

    return run
