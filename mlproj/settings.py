"""Settings mlproj reads from the environment, and the folders they choose. A leaf module."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Folder for everything mlproj caches (git mirrors, checkouts, environments).
CACHE_DIR_ENV = "MLPROJ_CACHE_DIR"


def cache_dir() -> Path:
    """mlproj's cache folder: ``$MLPROJ_CACHE_DIR``, else the platform's user cache folder.

    That is ``$XDG_CACHE_HOME/mlproj`` (default ``~/.cache/mlproj``) on Linux and other Unixes,
    ``~/Library/Caches/mlproj`` on macOS. The path is absolute; nothing is created here.
    """
    chosen = os.environ.get(CACHE_DIR_ENV)
    if chosen:
        return Path(os.path.abspath(Path(chosen).expanduser()))
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "mlproj"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec says to ignore a relative value.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "mlproj"
