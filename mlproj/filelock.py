"""Lock files that a prune may delete: the one way mlproj's caches take their flocks.

A cache prune removes a lock file while holding its lock; a process that was waiting on the old
file would then hold a lock nobody else can see. :func:`acquire` therefore checks, once it holds
the lock, that the path still names the file it locked, and starts again when it does not.
A leaf module: the git cache and the environment cache (peers) both use it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path


def acquire(
    path: Path,
    *,
    shared: bool = False,
    block: bool = True,
    on_wait: Callable[[], None] | None = None,
) -> int | None:
    """Open ``path`` (created with its folder if missing) and flock it; return the descriptor.

    ``on_wait`` is called once if the lock is busy and this call is about to wait. Without
    ``block``, a busy lock returns None at once. Close the descriptor to release the lock.

    Raises:
        OSError: The file cannot be created (the caller says which cache and what to do).
    """
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    waited = False
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)  # a prune may have removed the folder
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                if not block:
                    os.close(fd)
                    return None
                if on_wait is not None and not waited:
                    on_wait()
                    waited = True
                fcntl.flock(fd, mode)
            if same_file(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the file was replaced while we waited: lock the new one


def same_file(fd: int, path: Path) -> bool:
    """True when ``path`` still names the file open as ``fd``."""
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)
