"""Project sources: turn the URI a user gives into a project folder plus provenance.

Local folders are used in place. When such a folder is inside a git work tree, its commit, branch
and dirtiness are recorded, read with one `git status --porcelain=v2 --branch` call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.process import run_tool

# Hardening for every git call mlproj makes: no hooks, no fsmonitor helper from the repo's config.
GIT_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null")

_COMMIT = re.compile(r"[0-9a-f]{4,64}")
_REMOTE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://|[^/\s]+@[^/\s]+:)")


@dataclass(frozen=True, slots=True)
class ResolvedSource:
    """Where the project lives on disk and what code it is."""

    project_dir: Path
    uri: str
    version: str | None = None
    commit: str | None = None
    dirty: bool | None = None
    subdir: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def split_subdir(uri: str) -> tuple[str, str | None]:
    """``repo#sub/dir`` -> (``repo``, ``sub/dir``)."""
    base, sep, sub = uri.partition("#")
    return base, (sub.strip("/") or None) if sep else None


def is_remote(uri: str) -> bool:
    """True for git URLs (scheme:// or scp-like user@host:path)."""
    return bool(_REMOTE.match(uri))


def resolve_source(uri: str, *, version: str | None, caller_dir: Path) -> ResolvedSource:
    """Resolve ``uri`` (a folder, optionally ``#subdir``) to a project folder with provenance."""
    base, subdir = split_subdir(uri)
    if is_remote(base):
        raise SourceError(
            f"source '{uri}': git URLs are not available yet in this version of mlproj; "
            "clone the repository and run its folder"
        )
    if version is not None:
        raise SourceError(
            f"source '{uri}': --version needs a git source, which this version of mlproj "
            "does not support yet; check out the version yourself and run the folder"
        )
    root = (caller_dir / base).resolve()
    if not root.is_dir():
        raise SourceError(f"source '{uri}': no such folder {root}; give a project folder")
    project_dir = (root / subdir).resolve() if subdir else root
    if subdir and not project_dir.is_relative_to(root):
        raise SourceError(f"source '{uri}': subdir '{subdir}' escapes {root}")
    if not project_dir.is_dir():
        raise SourceError(f"source '{uri}': no folder '{subdir}' in {root}")
    commit, dirty, details = _git_state(project_dir)
    return ResolvedSource(
        project_dir=project_dir,
        uri=str(root),
        commit=commit,
        dirty=dirty,
        subdir=subdir,
        details=details,
    )


def _git_state(folder: Path) -> tuple[str | None, bool | None, dict[str, str]]:
    """Commit, dirtiness and branch of the work tree holding ``folder`` (Nones outside git)."""
    status = run_tool(
        ["git", *GIT_SAFE, "-C", str(folder), "status", "--porcelain=v2", "--branch"],
        timeout=60,
    )
    if not status.ok:
        return None, None, {}
    commit: str | None = None
    details: dict[str, str] = {}
    dirty = False
    for line in status.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[2]
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(maxsplit=2)[2]
            if head != "(detached)":
                details["branch"] = head
        elif line and not line.startswith("#"):
            dirty = True
    return commit, dirty, details


def diff_stat(folder: Path, old: str, new: str) -> str | None:
    """``git diff --stat old new`` in the repository holding ``folder`` (None when unknown)."""
    if not (_COMMIT.fullmatch(old) and _COMMIT.fullmatch(new)):
        return None  # recorded values are commit ids; anything else never reaches git's argv
    done = run_tool(
        ["git", *GIT_SAFE, "-C", str(folder), "diff", "--stat", "--no-color", old, new, "--"],
        timeout=60,
    )
    return done.stdout if done.ok else None
