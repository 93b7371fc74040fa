"""The entry point of sources: a URI and a version in, a project folder with provenance out."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.errors import SourceError
from mlproj.sources.model import Progress, ResolvedSource
from mlproj.sources.uri import SourceUri, check_version, parse_source
from mlproj.spec.load import SPEC_FILE_NAMES

if TYPE_CHECKING:
    # The git machinery is imported only by git sources, -v and folders in a git work tree:
    # `mlproj run <plain folder>` stays light.
    from mlproj.sources.giturl import GitUrl
    from mlproj.sources.remote import Context
    from mlproj.sources.workdir import Workdir

_RUNNABLE = (".py", ".sh")
_SCAN_LIMIT = 20_000


def resolve_source(
    uri: str,
    *,
    version: str | None,
    caller_dir: Path,
    offline: bool = False,
    cache_dir: Path | None = None,
    ignore: Sequence[Path] = (),
    progress: Progress | None = None,
    snapshot: Path | None = None,
) -> ResolvedSource:
    """Resolve ``uri`` (folder or git URL, optionally ``#subdir``) at ``version``.

    Args:
        uri: A folder (relative to ``caller_dir``), or an https, ssh, git, ``file://`` or
            ``user@host:path`` git URL; ``#sub/dir`` selects a project inside it.
        version: ``-v``: a branch, tag, or full or abbreviated commit (git sources only).
        caller_dir: Where relative folders start.
        offline: Never fetch; use what the cache holds.
        cache_dir: The cache folder (default ``settings.cache_dir()``).
        ignore: Paths that do not make a local tree dirty (the tracking store).
        progress: Receives one-line messages about slow steps (clone, fetch).
        snapshot: The saved changes of a dirty tree (a run's ``source/`` folder, see
            ``snapshot.py``), to rebuild on a private checkout of ``version`` (a commit) of
            the local repository holding ``uri``. The result is that dirty tree: ``dirty`` is
            True and ``snapshot_files`` holds the same changes, so a run of it can be rebuilt
            again.

    A git source, or a local repository with ``version``, is checked out into a private folder:
    call :meth:`ResolvedSource.release` when done with it.

    Raises:
        SourceError: The source cannot be resolved (exit code 114).
    """
    started = time.perf_counter()
    parsed = parse_source(uri)
    if version is not None:
        check_version(version)
    if snapshot is not None and (version is None or parsed.git is not None):
        raise SourceError(
            f"source '{parsed.display}': saved changes need a local repository and a commit"
        )
    if parsed.git is None and version is None:
        folder = _existing_folder(parsed, caller_dir)
        if not _is_bare_repository(folder):
            source = _folder_in_place(parsed, folder, ignore)
            return dataclasses.replace(source, seconds=time.perf_counter() - started)
    from mlproj.sources.cache import root as cache_root
    from mlproj.sources.remote import Context

    ctx = Context(cache=cache_root(cache_dir), offline=offline, progress=progress)
    ctx.details.update(given=parsed.display)
    if parsed.git is not None:
        source = _git_source(parsed, parsed.git, version, ctx)
    else:
        folder = _existing_folder(parsed, caller_dir)
        source = _repo_at_version(parsed, folder, version, ctx, snapshot)
    return dataclasses.replace(source, seconds=time.perf_counter() - started)


def _git_source(
    parsed: SourceUri, url: GitUrl, version: str | None, ctx: Context
) -> ResolvedSource:
    from mlproj.sources.remote import resolve_remote

    rev, workdir = resolve_remote(url, version, ctx)
    project_dir = _in_checkout(workdir, Path(), parsed, f"{url.url}@{rev.commit[:12]}")
    return ResolvedSource(
        project_dir=project_dir,
        uri=url.url,
        version=version,
        commit=rev.commit,
        dirty=False,
        subdir=parsed.subdir,
        details={"kind": "git", "remote": url.url, **ctx.details},
        warnings=tuple(ctx.warnings),
        workdir=workdir,
    )


def _existing_folder(parsed: SourceUri, caller_dir: Path) -> Path:
    folder = (caller_dir / Path(parsed.base).expanduser()).resolve()
    if not folder.is_dir():
        hint = " (for ssh write ssh://host/path or user@host:path)" if ":" in parsed.base else ""
        raise SourceError(
            f"source '{parsed.display}': no such folder {folder}; "
            f"give a project folder or a git URL{hint}"
        )
    return folder


def _is_bare_repository(folder: Path) -> bool:
    """A bare git repository (``HEAD``, ``objects/``, ``refs/``) outside any work tree."""
    layout = (folder / "HEAD").is_file() and (folder / "objects").is_dir()
    return layout and (folder / "refs").is_dir() and work_tree_root(folder) is None


def work_tree_root(folder: Path) -> Path | None:
    """The top of the git work tree holding ``folder`` (a ``.git`` file or folder), or None."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _folder_in_place(parsed: SourceUri, folder: Path, ignore: Sequence[Path]) -> ResolvedSource:
    project_dir = project_folder(folder, parsed.subdir, parsed.display)
    details = {"given": parsed.display, "kind": "folder"}
    root = work_tree_root(project_dir)
    if root is None:  # no provenance to read: git is neither run nor imported
        return ResolvedSource(project_dir, str(folder), subdir=parsed.subdir, details=details)
    from mlproj.sources.local import local_state

    state = local_state(root, ignore)
    return ResolvedSource(
        project_dir=project_dir,
        uri=str(folder),
        commit=state.commit,
        dirty=state.dirty,
        subdir=parsed.subdir,
        details={**details, **state.details},
        snapshot_files=state.snapshot,
        warnings=state.warnings,
    )


def _repo_at_version(
    parsed: SourceUri, folder: Path, version: str | None, ctx: Context, saved: Path | None
) -> ResolvedSource:
    from mlproj.sources.gitrepo import RefKind
    from mlproj.sources.localrepo import resolve_local_version
    from mlproj.sources.snapshot import read_snapshot

    repo_root = folder if _is_bare_repository(folder) else work_tree_root(folder)
    if repo_root is None:
        raise SourceError(
            f"source '{parsed.display}': -v {version} needs a git repository, and {folder} is "
            "not in one; drop -v to run the folder as it is"
        )
    # Read (and checked complete) before anything is checked out.
    snapshot = read_snapshot(saved, version or "HEAD") if saved is not None else None
    rev, workdir = resolve_local_version(repo_root, version, ctx, snapshot)
    inside = folder.relative_to(repo_root)
    project_dir = _in_checkout(workdir, inside, parsed, f"{repo_root}@{rev.commit[:12]}")
    details = {"kind": "repo", "repo": str(repo_root), **ctx.details}
    if rev.name:
        details["tag" if rev.kind is RefKind.TAG else "branch"] = rev.name
    return ResolvedSource(
        project_dir=project_dir,
        uri=str(folder),
        version=version,
        commit=rev.commit,
        # Without saved changes the code that runs is the commit, whatever the work tree holds;
        # with them it is the dirty tree that was saved, which is recorded as such again.
        dirty=snapshot is not None,
        subdir=parsed.subdir,
        details={**details, **(snapshot.details() if snapshot else {})},
        snapshot_files=snapshot.files() if snapshot else {},
        warnings=tuple(ctx.warnings),
        workdir=workdir,
    )


def _in_checkout(workdir: Workdir, inside: Path, parsed: SourceUri, where: str) -> Path:
    """The project folder inside a fresh checkout; the checkout is released on any error."""
    try:
        start = workdir.path / inside
        if not start.is_dir():
            raise SourceError(f"source '{parsed.display}': no folder '{inside}' in {where}")
        return project_folder(start, parsed.subdir, parsed.display, root=workdir.path, where=where)
    except BaseException:
        workdir.release()
        raise


def project_folder(
    folder: Path,
    subdir: str | None,
    shown: str,
    *,
    root: Path | None = None,
    where: str | None = None,
) -> Path:
    """``folder/subdir``, checked: inside ``root`` (symlinks resolved) and holding a project.

    Raises:
        SourceError: The subdir is missing, escapes through a symlink, or holds no MLproject
            and no .py or .sh file.
    """
    top = (root or folder).resolve()
    where = where or str(folder)
    project = (folder / subdir).resolve() if subdir else folder.resolve()
    if not project.is_relative_to(top):
        raise SourceError(f"source '{shown}': subdir '{subdir}' leads out of {where}; refused")
    if not project.is_dir():
        raise SourceError(
            f"source '{shown}': no folder '{subdir}' in {where} (folders there: {_folders(folder)})"
        )
    if not _has_project(project):
        raise SourceError(
            f"source '{shown}': no MLproject file and no .py or .sh file in "
            f"{subdir or 'the folder'} ({where}); point #subdir at the project folder"
        )
    return project


def _folders(folder: Path) -> str:
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name != ".git")
    except OSError:
        return "none"
    return ", ".join(names[:10]) + (", ..." if len(names) > 10 else "") if names else "none"


def _has_project(folder: Path) -> bool:
    """True when ``folder`` has an MLproject file, or a .py or .sh file `-e` could run."""
    try:
        if any(p.name.lower() in SPEC_FILE_NAMES for p in folder.iterdir()):
            return True
    except OSError:
        return False
    seen = 0
    for _folder, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(name.endswith(_RUNNABLE) for name in files):
            return True
        seen += len(files) + len(dirs)
        if seen > _SCAN_LIMIT:
            return True  # a huge folder: let the entry point check decide
    return False
