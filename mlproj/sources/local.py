"""Provenance of a local folder used in place: commit, branch, remote, and uncommitted changes.

Only for a folder inside a git work tree: ``resolve.py`` finds its root and imports this module
then, so a folder outside git loads no git machinery at all.

Read with the git program (``gitcli``), not GitPython: this is the path of every ``mlproj run .``
in a work tree, and one ``git status --porcelain=v2`` call (a few ms) beats importing GitPython
(about 0.1 s) and running the several processes its ``is_dirty``/``untracked_files`` need.

When the tree is dirty, what is needed to rebuild the code is returned as snapshot files
(the layout is described, and read back, in ``snapshot.py``): ``diff.patch`` (``git diff HEAD
--binary``: staged and unstaged changes of tracked files), ``untracked.txt`` (every untracked,
not ignored file), ``untracked/<path>`` copies of the small regular ones (text or binary) and
``executable.txt``. Paths the caller names in ``ignore`` (the tracking store, which often lives
in the project as ``./mlruns``) do not count.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.sources.gitcli import first_error, run_git, run_git_bytes
from mlproj.sources.uri import redact_url

#: Untracked regular files up to this size are saved with the run (a larger one makes the run
#: impossible to rerun exactly, and `mlproj rerun` says which file).
SMALL_FILE = 100 * 1024
#: At most this much untracked content is saved per run, and at most this many files.
SNAPSHOT_BUDGET = 2 * 1024 * 1024
SNAPSHOT_FILES = 200
#: A diff larger than this is not saved (a warning says so).
MAX_DIFF = 64 * 1024 * 1024
#: The tree that has no files (diff base for a repository without commits).
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True, slots=True)
class LocalState:
    """What git says about the work tree holding a folder."""

    root: Path
    commit: str | None = None
    dirty: bool = False
    details: dict[str, str] = field(default_factory=dict)
    snapshot: dict[str, bytes] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class _Status:
    """What `git status --porcelain=v2 --branch` says, filled in as its lines are read."""

    commit: str | None = None
    branch: str | None = None
    upstream: str | None = None
    changed: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)


def local_state(root: Path, ignore: Sequence[Path] = ()) -> LocalState:
    """Provenance of the git work tree at ``root`` (warnings only when git cannot read it)."""
    try:
        done = run_git_bytes(
            # No --untracked-files=all: a user's status.showUntrackedFiles=no (a dotfiles repo at
            # $HOME) keeps status fast; untracked folders are listed in full only when present.
            ["status", "--porcelain=v2", "--branch", "-z"],
            cwd=root,
        )
    except SourceError as exc:  # no git program: the folder still runs, without provenance
        return LocalState(root=root, warnings=(f"{exc.message}; the commit is not recorded",))
    if not done.ok:
        warning = f"{root}: git cannot read this repository ({first_error(done)}); "
        return LocalState(root=root, warnings=(warning + "its commit is not recorded",))
    status = _parse_status(done.stdout)
    untracked = _untracked_files(root, status.untracked, ignore)
    details = _describe(root, status)
    dirty = bool(status.changed or untracked)
    warnings: list[str] = []
    snapshot: dict[str, bytes] = {}
    if dirty:
        snapshot = _snapshot(root, status, untracked, details, warnings)
    return LocalState(root, status.commit, dirty, details, snapshot, tuple(warnings))


def _parse_status(output: bytes) -> _Status:
    status = _Status()
    records = output.split(b"\0")
    skip = False
    for raw in records:
        if skip:  # the original path of a rename ("2 ..." records carry two paths)
            skip = False
            continue
        line = os.fsdecode(raw)
        if line.startswith("# branch.oid "):
            oid = line.split()[2]
            status.commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            status.branch = None if head == "(detached)" else head
        elif line.startswith("# branch.upstream "):
            status.upstream = line.split(" ", 2)[2]
        elif line.startswith("? "):
            status.untracked.append(line[2:])
        elif line[:2] in ("1 ", "u "):
            status.changed.append(line.split(" ", 8 if line[0] == "1" else 10)[-1])
        elif line.startswith("2 "):
            status.changed.append(line.split(" ", 9)[-1])
            skip = True
    return status


def _untracked_files(root: Path, listed: list[str], ignore: Sequence[Path]) -> list[str]:
    """Every untracked, not ignored file (status shows untracked folders as ``dir/``)."""
    if any(entry.endswith("/") for entry in listed):
        done = run_git_bytes(["ls-files", "-z", "--others", "--exclude-standard"], cwd=root)
        if done.ok:
            listed = [os.fsdecode(raw) for raw in done.stdout.split(b"\0") if raw]
    return sorted(p for p in listed if not _ignored(root / p, ignore))


def _ignored(path: Path, ignore: Sequence[Path]) -> bool:
    return any(path == item or item in path.parents for item in ignore)


def _describe(root: Path, status: _Status) -> dict[str, str]:
    details: dict[str, str] = {"repo": str(root)}
    if status.branch:
        details["branch"] = status.branch
    elif status.commit:
        tag = run_git(["describe", "--tags", "--exact-match", "HEAD"], cwd=root, timeout=30)
        if tag.ok and tag.stdout.strip():
            details["tag"] = tag.stdout.strip()
    remote = _remote_url(root, status.upstream)
    if remote:
        details["remote"] = remote
    return details


def _remote_url(root: Path, upstream: str | None) -> str | None:
    """The URL of the upstream's remote, else of ``origin``, else of the only remote."""
    done = run_git(["config", "--get-regexp", r"^remote\..*\.url$"], cwd=root, timeout=30)
    urls: dict[str, str] = {}
    for line in done.stdout.splitlines() if done.ok else []:
        key, _, value = line.partition(" ")
        urls[key.removeprefix("remote.").removesuffix(".url")] = value
    wanted = upstream.split("/", 1)[0] if upstream else "origin"
    url = urls.get(wanted) or (next(iter(urls.values())) if len(urls) == 1 else None)
    return redact_url(url) if url else None


def _snapshot(
    root: Path,
    status: _Status,
    untracked: list[str],
    details: dict[str, str],
    warnings: list[str],
) -> dict[str, bytes]:
    from mlproj.sources.snapshot import (  # dirty trees only
        DIFF_FILE,
        EXECUTABLE_LIST,
        UNTRACKED_LIST,
    )

    files: dict[str, bytes] = {}
    if status.changed:
        base = status.commit or EMPTY_TREE
        diff = run_git_bytes(
            ["diff", base, "--binary", "--no-ext-diff", "--no-textconv", "--no-color"],
            cwd=root,
            timeout=300,
        )
        # A diff that is not saved is said so in the record: a rerun must refuse, not take the
        # run for one whose only changes were untracked files.
        if not diff.ok:
            warnings.append(f"{root}: cannot save the uncommitted diff ({first_error(diff)})")
            details["diff"] = f"not saved: {first_error(diff)}"
        elif len(diff.stdout) > MAX_DIFF:
            warnings.append(f"{root}: the uncommitted diff is over 64 MiB and was not saved")
            details["diff"] = "not saved: over 64 MiB"
        else:
            files[DIFF_FILE] = diff.stdout
            details["diff"] = f"source/{DIFF_FILE} ({len(status.changed)} files)"
    if untracked:
        files[UNTRACKED_LIST] = _path_list(untracked)
        saved, executable = _small_files(root, untracked, files)
        if executable:
            files[EXECUTABLE_LIST] = _path_list(executable)
        details["untracked"] = f"source/{UNTRACKED_LIST} ({len(untracked)} files, {saved} saved)"
    return files


def _path_list(paths: list[str]) -> bytes:
    from mlproj.sources.snapshot import quote_path

    return "".join(f"{quote_path(p)}\n" for p in paths).encode(errors="surrogateescape")


def _small_files(
    root: Path, untracked: list[str], files: dict[str, bytes]
) -> tuple[int, list[str]]:
    """Save the small untracked files; how many, and which of them are executable."""
    from mlproj.sources.snapshot import UNTRACKED_DIR

    budget, saved, executable = SNAPSHOT_BUDGET, 0, []
    for rel in untracked:
        if saved >= SNAPSHOT_FILES:
            break
        read = _read_small(root / rel)
        if read is None or len(read[0]) > budget:
            continue
        files[f"{UNTRACKED_DIR}/{rel}"] = read[0]
        if read[1]:
            executable.append(rel)
        budget -= len(read[0])
        saved += 1
    return saved, executable


def _read_small(path: Path) -> tuple[bytes, bool] | None:
    """A small regular file's content and whether it is executable (None: not saved)."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > SMALL_FILE:
            return None
        return path.read_bytes(), bool(info.st_mode & stat.S_IXUSR)
    except OSError:
        return None
