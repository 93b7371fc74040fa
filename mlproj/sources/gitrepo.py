"""Reading git repositories with GitPython: versions to commits, submodules, refs.

GitPython is imported lazily (about 0.1 s), only when a git source or ``-v`` needs it (and not
for a cached tag or commit, see ``memo.py``). Refs are read by GitPython in Python; objects
through its ``git cat-file`` helper processes. Those read-only helpers are the one kind of
process mlproj does not start through ``process.py``: GitPython owns them, and they get the same
hardening options and environment as mlproj's own git calls (``gitcli.GIT_SAFE``, ``git_env``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.errors import SourceError
from mlproj.sources.gitcli import GIT_SAFE, git_env
from mlproj.sources.uri import is_hex

if TYPE_CHECKING:
    from git import Repo

_SHOWN_REFS = 8


class RefKind(str, Enum):
    """What a ``-v`` turned out to name."""

    DEFAULT = "default"  # no -v: the repository's default branch (HEAD)
    BRANCH = "branch"
    TAG = "tag"
    COMMIT = "commit"

    @property
    def moves(self) -> bool:
        """True for names whose commit changes upstream (worth a fetch before each run)."""
        return self in (RefKind.DEFAULT, RefKind.BRANCH)


@dataclass(frozen=True, slots=True)
class Revision:
    """A version resolved to a commit."""

    commit: str
    kind: RefKind
    name: str | None  # branch or tag name; None for a commit


@dataclass(frozen=True, slots=True)
class SubmoduleRef:
    """A submodule as recorded in one commit of its superproject."""

    name: str
    path: str
    url: str
    commit: str


@contextmanager
def open_repo(git_dir: Path) -> Iterator[Repo]:
    """A GitPython repository for ``git_dir``, its helper processes hardened and closed after.

    Raises:
        SourceError: git is missing, or ``git_dir`` is not a readable repository.
    """
    try:
        import git
    except ImportError as exc:  # GitPython refuses to import when the git program is missing
        raise SourceError(f"git is not available ({exc}); install git and try again") from None
    try:
        repo = git.Repo(git_dir)
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
        raise SourceError(f"{git_dir} is not a git repository") from None
    try:
        repo.git.set_persistent_git_options(c=[GIT_SAFE[i] for i in range(1, len(GIT_SAFE), 2)])
        # GIT_DIR pins the helper to this repository even if mlproj runs inside a git hook.
        repo.git.update_environment(**git_env(), GIT_DIR=str(repo.git_dir))
        yield repo
    finally:
        repo.close()


def _ref(repo: Repo, path: str) -> str | None:
    """The object id a ref points to, read without starting a process, or None."""
    from git import SymbolicReference

    try:
        return SymbolicReference.dereference_recursive(repo, path)
    except (ValueError, OSError):
        return None


def _peel(repo: Repo, object_id: str) -> str | None:
    """The commit ``object_id`` (a commit or an annotated tag) stands for, or None."""
    from git import BadName, BadObject

    try:
        return repo.commit(object_id).hexsha
    except (BadName, BadObject, ValueError):
        return None


def resolve(repo: Repo, version: str | None) -> Revision | None:
    """The commit ``version`` names in ``repo``, in git's order: tag, branch, then commit id.

    None when the repository does not know it (yet: a fetch may bring it).

    Raises:
        SourceError: An abbreviated commit id matches more than one object.
    """
    if version is None:
        head = _ref(repo, "HEAD")
        branch = _head_branch(repo)
        commit = _peel(repo, head) if head else None
        return Revision(commit, RefKind.DEFAULT, branch) if commit else None
    if len(version) in (40, 64) and is_hex(version):
        commit = _peel(repo, version)
        return Revision(commit, RefKind.COMMIT, None) if commit else None
    for prefix, kind in (("refs/tags/", RefKind.TAG), ("refs/heads/", RefKind.BRANCH)):
        target = _ref(repo, prefix + version)
        if target is not None:
            commit = _peel(repo, target)
            return Revision(commit, kind, version) if commit else None
    # Remote-tracking branches of a user's repository (`-v origin/dev`).
    target = _ref(repo, "refs/remotes/" + version)
    if target is not None:
        commit = _peel(repo, target)
        return Revision(commit, RefKind.BRANCH, version) if commit else None
    return _abbreviated(repo, version) if is_hex(version) else None


def _abbreviated(repo: Repo, prefix: str) -> Revision | None:
    from git import BadName, BadObject

    try:
        full = repo.odb.partial_to_complete_sha_hex(prefix).hex()
    except (BadName, BadObject, ValueError) as exc:
        # `git cat-file --batch-check` answers "<prefix> ambiguous"; GitPython wraps it.
        if "ambiguous" in str(exc.__cause__ or ""):
            raise SourceError(
                f"-v {prefix}: more than one object starts with '{prefix}'; "
                "give more characters of the commit id"
            ) from None
        return None
    commit = _peel(repo, full)
    return Revision(commit, RefKind.COMMIT, None) if commit else None


def _head_branch(repo: Repo) -> str | None:
    try:
        return repo.head.reference.name
    except (TypeError, ValueError):  # detached HEAD
        return None


def has_commit(repo: Repo, commit: str) -> bool:
    """True when ``repo`` holds the commit ``commit`` (a full id)."""
    return _peel(repo, commit) == commit


def known_refs(repo: Repo) -> str:
    """A short list of the repository's branches and tags, for "unknown version" messages."""
    branches = sorted(head.name for head in repo.heads)
    tags = sorted((tag.name for tag in repo.tags), reverse=True)

    def shown(names: list[str]) -> str:
        more = f", ... ({len(names)} in all)" if len(names) > _SHOWN_REFS else ""
        return ", ".join(names[:_SHOWN_REFS]) + more if names else "none"

    return f"branches: {shown(branches)}; tags: {shown(tags)}"


def submodules(repo: Repo, commit: str) -> list[SubmoduleRef]:
    """The submodules recorded in ``commit`` (its ``.gitmodules`` and gitlinks), sorted by path.

    Raises:
        SourceError: ``.gitmodules`` cannot be parsed or names a path without a gitlink.
    """
    from git import Submodule

    tree = repo.commit(commit).tree
    try:
        tree.join(".gitmodules")
    except KeyError:
        return []
    try:
        found = [
            SubmoduleRef(sm.name, str(sm.path), sm.url, sm.hexsha)
            for sm in Submodule.iter_items(repo, parent_commit=commit)
        ]
    except Exception as exc:  # GitPython raises many kinds of error for a bad .gitmodules
        raise SourceError(
            f"commit {commit[:12]}: cannot read .gitmodules ({type(exc).__name__}: {exc})"
        ) from None
    return sorted(found, key=lambda sm: sm.path)
