"""Provenance of a local folder used in place: commit, branch, remote, and uncommitted changes.

Read with the git program (``gitcli``), not GitPython: this is the path of every ``mlproj run .``,
and one ``git status --porcelain=v2`` call (a few ms) beats importing GitPython (about 0.1 s)
and running the several processes its ``is_dirty``/``untracked_files`` need.

When the tree is dirty, what is needed to rebuild the code is returned as snapshot files:
``diff.patch`` (``git diff HEAD --binary``: staged and unstaged changes of tracked files),
``untracked.txt`` (every untracked, not ignored file) and ``untracked/<path>`` copies of the
small text ones. Paths the caller names in ``ignore`` (the tracking store, which often lives in
the project as ``./mlruns``) do not count.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.sources.gitcli import first_error, run_git, run_git_bytes
from mlproj.sources.uri import redact_url

#: Untracked files up to this size whose content is text are saved with the run.
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
    commit: str | None = None
    branch: str | None = None
    upstream: str | None = None
    changed: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)


def work_tree_root(folder: Path) -> Path | None:
    """The top of the git work tree holding ``folder`` (a ``.git`` file or folder), or None."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def local_state(folder: Path, ignore: Sequence[Path] = ()) -> LocalState | None:
    """Provenance of ``folder``'s work tree; None outside git (or when git cannot read it)."""
    root = work_tree_root(folder)
    if root is None:
        return None
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
    files: dict[str, bytes] = {}
    if status.changed:
        base = status.commit or EMPTY_TREE
        diff = run_git_bytes(
            ["diff", base, "--binary", "--no-ext-diff", "--no-textconv", "--no-color"],
            cwd=root,
            timeout=300,
        )
        if not diff.ok:
            warnings.append(f"{root}: cannot save the uncommitted diff ({first_error(diff)})")
        elif len(diff.stdout) > MAX_DIFF:
            warnings.append(f"{root}: the uncommitted diff is over 64 MiB and was not saved")
        else:
            files["diff.patch"] = diff.stdout
            details["diff"] = f"source/diff.patch ({len(status.changed)} files)"
    if untracked:
        files["untracked.txt"] = "".join(f"{_quoted(p)}\n" for p in untracked).encode(
            errors="surrogateescape"
        )
        saved = _small_text_files(root, untracked, files)
        details["untracked"] = f"source/untracked.txt ({len(untracked)} files, {saved} saved)"
    return files


def _quoted(path: str) -> str:
    return repr(path) if any(ch in path for ch in "\n\r\t\\") else path


def _small_text_files(root: Path, untracked: list[str], files: dict[str, bytes]) -> int:
    budget, saved = SNAPSHOT_BUDGET, 0
    for rel in untracked:
        if saved >= SNAPSHOT_FILES:
            break
        content = _read_small_text(root / rel)
        if content is None or len(content) > budget:
            continue
        files[f"untracked/{rel}"] = content
        budget -= len(content)
        saved += 1
    return saved


def _read_small_text(path: Path) -> bytes | None:
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > SMALL_FILE:
            return None
        content = path.read_bytes()
    except OSError:
        return None
    if b"\0" in content:
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return content
