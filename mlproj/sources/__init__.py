"""Project sources: turn the URI a user gives into a project folder plus the provenance of its code.

* A local folder is used in place; when it is in a git work tree, its commit, branch, remote and
  uncommitted changes are recorded (``local.py``).
* A git URL (https, ssh, git, ``file://``, ``user@host:path``) is cloned once into a bare mirror
  in the cache and each run gets a private checkout of the exact commit (``remote.py``,
  ``cache.py``, ``workdir.py``); ``-v`` on a local repository does the same from the local
  objects without touching the work tree (``localrepo.py``).
* Every refusal for safety is in ``uri.py`` and ``giturl.py`` (git URLs); every git process
  mlproj starts is in ``gitcli.py``; GitPython reads refs and objects in ``gitrepo.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlproj.sources.model import Progress, ResolvedSource
from mlproj.sources.resolve import resolve_source

if TYPE_CHECKING:
    from mlproj.sources.gitcli import GIT_SAFE, diff_stat
    from mlproj.sources.uri import is_remote


def __getattr__(name: str) -> Any:
    """The git helpers load when first used: a local folder's run does not need them."""
    if name in ("GIT_SAFE", "diff_stat"):
        from mlproj.sources import gitcli

        return getattr(gitcli, name)
    if name == "is_remote":
        from mlproj.sources.uri import is_remote

        return is_remote
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GIT_SAFE", "Progress", "ResolvedSource", "diff_stat", "is_remote", "resolve_source"]
