"""Importing the spec package stays cheap: YAML is only imported when a file is read."""

from __future__ import annotations

import json
import os
import subprocess
import sys

MODULES = [
    "mlproj.spec.load",
    "mlproj.spec.parse",
    "mlproj.spec.envfiles",
    "mlproj.spec.params",
    "mlproj.spec.command",
    "mlproj.spec.problems",
    "mlproj.spec.wording",
    "mlproj.spec.nodecache",
]


def test_importing_spec_modules_does_not_import_yaml():
    code = (
        "import importlib, json, sys\n"
        f"for name in {MODULES!r}: importlib.import_module(name)\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(json.dumps(sorted(loaded & {'yaml', 'jsonschema'})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_reading_a_project_imports_yaml(tmp_path):
    (tmp_path / "MLproject").write_text("name: x\n")
    code = (
        "import sys\nfrom pathlib import Path\nfrom mlproj.spec.load import load_project\n"
        f"load_project(Path({str(tmp_path)!r}))\nprint('yaml' in sys.modules)"
    )
    # An empty cache: the composed-YAML cache goes by text, and another test may have read this.
    env = dict(os.environ, MLPROJ_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "True"
