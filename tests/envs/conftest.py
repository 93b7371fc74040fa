"""Fixtures for environment tests: a private cache per test, projects, a local conda channel."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from tests.envs.condachannel import build_channel, example_packages, python_shim


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own mlproj cache (the `mlproj` fixture passes os.environ on)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("MLPROJ_CACHE_DIR", str(folder))
    for name in ("MLPROJ_NO_UV", "MLPROJ_CONDA_EXE", "VIRTUAL_ENV", "CONDA_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    return folder


def cache_entries(cache: Path) -> list[Path]:
    root = cache / "envs"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def host_python() -> tuple[str, str]:
    """The real interpreter behind this one, and its version text."""
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    return base, ".".join(map(str, sys.version_info[:3]))


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    """A local conda channel: the example packages plus a `python` that wraps this host's."""
    return build_channel(tmp_path / "channel", [*example_packages(), python_shim(*host_python())])


BACKEND = '''
"""A PEP 517 backend that counts its builds and waits while a flag file exists."""
import base64, hashlib, os, time, zipfile

COUNTER = {counter!r}
FLAG = {flag!r}
DIST = "countpkg-1.0.dist-info"


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(COUNTER, "a") as handle:
        handle.write(f"{{os.getpid()}}\\n")
    deadline = time.time() + 120
    while os.path.exists(FLAG) and time.time() < deadline:
        time.sleep(0.1)
    files = {{
        "countpkg/__init__.py": "VALUE = 42\\n",
        f"{{DIST}}/METADATA": "Metadata-Version: 2.1\\nName: countpkg\\nVersion: 1.0\\n",
        f"{{DIST}}/WHEEL": "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{{path}},sha256={{digest.decode()}},{{len(text.encode())}}")
    record.append(f"{{DIST}}/RECORD,,")
    name = "countpkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
        wheel.writestr(f"{{DIST}}/RECORD", "\\n".join(record) + "\\n")
    return name
'''


def counting_project(root: Path, counter: Path, flag: Path, extra: str = "") -> Path:
    """A python_env project whose local package counts its builds (and can be made to wait)."""
    pkg = root / "countpkg"
    pkg.mkdir(parents=True)
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    (pkg / "backend.py").write_text(BACKEND.format(counter=str(counter), flag=str(flag)))
    (root / "python_env.yaml").write_text(
        textwrap.dedent(
            f"""\
            dependencies:
              - six
              - ./countpkg
            {extra}"""
        )
    )
    (root / "MLproject").write_text(
        "python_env: python_env.yaml\nentry_points:\n  main:\n"
        "    command: \"python -c 'import countpkg, six; print(countpkg.VALUE)'\"\n"
    )
    return root


def run_json(mlproj, run_id: str) -> dict:
    shown = mlproj("runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)
