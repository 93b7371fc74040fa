"""Settings read from the environment: where mlproj keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache folder: MLPROJ_CACHE_DIR, else $XDG_CACHE_HOME/mlproj, else ~/.cache/mlproj."""
    explicit = os.environ.get("MLPROJ_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "mlproj"
    return Path.home() / ".cache" / "mlproj"
