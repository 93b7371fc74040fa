"""Cache keys: a content hash of everything that decides what an environment contains.

Computing a key reads and hashes files only; it never runs or imports pip, conda or uv, so a run
whose environment is cached pays a few milliseconds for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Bumped when the layout of cached environments changes, so old entries are not reused.
KEY_FORMAT = 1
#: Hex digits of the sha256 kept as the key (64 bits: collisions are not a practical concern,
#: and short paths keep script shebangs well under the kernel's length limit).
KEY_LENGTH = 16
#: Folders of a local package that never decide what gets installed.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "mlruns",
        ".venv",
        "venv",
        "node_modules",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
#: A local package folder with more files than this is identified by its path alone.
MAX_TREE_FILES = 20_000
_PACKAGE_METADATA = ("pyproject.toml", "setup.py", "setup.cfg")


def platform_tag() -> str:
    """The OS and CPU the environment is built for (``linux-x86_64``)."""
    return f"{sys.platform}-{platform.machine()}"


def environment_key(
    parts: Mapping[str, str | None],
    spec_file: Path | None,
    references: Iterable[tuple[str, Path]] = (),
) -> str:
    """The cache key of an environment.

    Args:
        parts: What decides the environment besides files (manager, tool, python request...).
        spec_file: The python_env or conda YAML, hashed byte for byte.
        references: Local files and folders the requirements name (see
            :func:`mlproj.envs.requirements.referenced_paths`).
    """
    material = {
        "format": KEY_FORMAT,
        "platform": platform_tag(),
        "parts": dict(sorted(parts.items())),
        "spec": file_digest(spec_file) if spec_file else None,
        "references": [
            [kind, str(path), _reference_digest(kind, path)] for kind, path in references
        ],
    }
    text = json.dumps(material, sort_keys=True).encode()
    return hashlib.sha256(text).hexdigest()[:KEY_LENGTH]


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes ("missing" when it cannot be read)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def _reference_digest(kind: str, path: Path) -> str:
    if kind == "file":
        return file_digest(path)
    if kind == "editable":
        # An editable install follows its sources by itself; only the metadata (dependencies,
        # entry points) decides what installing it does.
        return ",".join(file_digest(path / name) for name in _PACKAGE_METADATA)
    if path.is_dir():
        return tree_digest(path)
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def tree_digest(root: Path) -> str:
    """A digest of a folder's file names, sizes and modification times (not contents).

    Cheap enough for every run, and it changes whenever a file is edited, added or removed.
    """
    digest = hashlib.sha256()
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            count += 1
            if count > MAX_TREE_FILES:
                return "large-tree"
            full = os.path.join(folder, name)
            try:
                stat = os.stat(full)
            except OSError:
                continue
            rel = os.path.relpath(full, root)
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
