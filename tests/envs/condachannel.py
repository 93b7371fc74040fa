"""Build a local conda channel of small real packages (no conda needed).

A ``.tar.bz2`` conda package is a tar of its payload plus ``info/index.json``, ``info/paths.json``
and ``info/files``; ``<subdir>/repodata.json`` lists every package's index entry with its md5,
sha256 and size. The output is deterministic (fixed mtimes, sorted members), so the channel the
example project ships can be rebuilt byte for byte:

    python -m tests.envs.condachannel example_projects/conda_greeting/channel
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
TIMESTAMP = 1_700_000_000_000


@dataclass(frozen=True)
class Package:
    """A noarch package: files are (path, text) pairs; ``links`` are (path, symlink target)."""

    name: str
    version: str
    depends: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    executables: frozenset[str] = field(default_factory=frozenset)

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-0.tar.bz2"

    def index(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "build": "0",
            "build_number": 0,
            "depends": list(self.depends),
            "noarch": "generic",
            "subdir": "noarch",
            "license": "Apache-2.0",
            "timestamp": TIMESTAMP,
        }


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def _paths(package: Package) -> dict:
    entries = []
    for path, text in package.files:
        data = text.encode()
        entry = {
            "_path": path,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        if PLACEHOLDER in text:
            entry.update(prefix_placeholder=PLACEHOLDER, file_mode="text")
        entries.append(entry)
    entries.extend({"_path": path, "path_type": "softlink"} for path, _ in package.links)
    return {"paths": sorted(entries, key=lambda e: e["_path"]), "paths_version": 1}


def build_package(package: Package) -> bytes:
    """The package's .tar.bz2 bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2") as tar:
        paths = _paths(package)
        _add(tar, "info/index.json", json.dumps(package.index(), indent=2).encode())
        _add(tar, "info/paths.json", json.dumps(paths, indent=2).encode())
        _add(tar, "info/files", "".join(f"{e['_path']}\n" for e in paths["paths"]).encode())
        placeholders = [e for e in paths["paths"] if "prefix_placeholder" in e]
        if placeholders:
            lines = "".join(f'{PLACEHOLDER} text "{e["_path"]}"\n' for e in placeholders)
            _add(tar, "info/has_prefix", lines.encode())
        for path, text in sorted(package.files):
            mode = 0o755 if path in package.executables else 0o644
            _add(tar, path, text.encode(), mode)
        for path, target in sorted(package.links):
            info = tarfile.TarInfo(path)
            info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, 0
            tar.addfile(info)
    return buffer.getvalue()


def build_channel(folder: Path, packages: list[Package]) -> Path:
    """Write the packages and repodata into ``folder`` (created); returns it."""
    noarch = folder / "noarch"
    noarch.mkdir(parents=True, exist_ok=True)
    (folder / "linux-64").mkdir(exist_ok=True)
    records = {}
    for package in packages:
        data = build_package(package)
        (noarch / package.filename).write_bytes(data)
        record = package.index()
        record.update(
            md5=hashlib.md5(data).hexdigest(),  # conda's repodata format lists md5
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
        )
        records[package.filename] = record
    for subdir, content in (("noarch", records), ("linux-64", {})):
        repodata = {
            "info": {"subdir": subdir},
            "packages": dict(sorted(content.items())),
            "packages.conda": {},
            "repodata_version": 1,
        }
        (folder / subdir / "repodata.json").write_text(json.dumps(repodata, indent=2) + "\n")
    return folder


GREETING_SCRIPT = """#!/bin/sh
# Greets with a word from the mlproj-words package (its path is the prefix conda wrote here).
word=$(head -n 1 "{placeholder}/share/mlproj-words/words.txt")
echo "$word, ${{1:-world}}! (mlproj-greeting {version})"
"""


def example_packages() -> list[Package]:
    """The packages of the example channel: a tool with a dependency, in two versions."""
    words = Package("mlproj-words", "1.0", files=(("share/mlproj-words/words.txt", "Hello\n"),))
    greetings = [
        Package(
            "mlproj-greeting",
            version,
            depends=("mlproj-words >=1.0",),
            files=(
                (
                    "bin/mlproj-greeting",
                    GREETING_SCRIPT.format(placeholder=PLACEHOLDER, version=version),
                ),
            ),
            executables=frozenset({"bin/mlproj-greeting"}),
        )
        for version in ("1.0", "2.0")
    ]
    return [words, *greetings]


def python_shim(base: str, version: str) -> Package:
    """A `python` package whose interpreter is the host's, isolated like a venv.

    ``bin/python`` links to an interpreter already on the machine and ``pyvenv.cfg`` makes the
    prefix its own environment, so pip and uv install into the conda prefix. It stands in for
    the real python package of a public channel, which cannot be downloaded here.
    """
    home = str(Path(base).parent)
    short = ".".join(version.split(".")[:2])
    return Package(
        "python",
        version,
        files=(
            ("pyvenv.cfg", f"home = {home}\ninclude-system-site-packages = false\n"),
            (f"lib/python{short}/site-packages/mlproj-shim.txt", "site-packages of the shim\n"),
        ),
        links=(("bin/python", base), ("bin/python3", base)),
    )


if __name__ == "__main__":
    build_channel(Path(sys.argv[1]), example_packages())
