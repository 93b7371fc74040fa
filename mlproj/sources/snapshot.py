"""The saved state of a dirty work tree, and rebuilding that exact tree from it.

A run of a dirty local tree saves, in ``<run folder>/source/`` (written by ``local.py``):

* ``diff.patch``: ``git diff COMMIT --binary`` (staged and unstaged changes of tracked files:
  edits, deletions, new files, mode changes, binary files);
* ``untracked.txt``: every untracked, not ignored file, one path a line (paths with a newline,
  tab, backslash or a leading quote are written as Python string literals);
* ``untracked/<path>``: a copy of each such file that was small enough to save;
* ``executable.txt``: the untracked files that were executable.

:func:`read_snapshot` checks that such a folder is complete (every untracked file saved) and
:func:`apply_snapshot` rebuilds the tree on a fresh checkout of the commit: ``git apply`` of the
diff, then the untracked files. Either refuses with a :class:`SourceError` rather than rebuild
something else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.sources.gitcli import first_error, git_env, run_git

DIFF_FILE = "diff.patch"
UNTRACKED_LIST = "untracked.txt"
UNTRACKED_DIR = "untracked"
EXECUTABLE_LIST = "executable.txt"
_QUOTES = ("'", '"')


def quote_path(path: str) -> str:
    """One line of ``untracked.txt`` (see the module docstring)."""
    special = any(ch in path for ch in "\n\r\t\\") or path.startswith(_QUOTES)
    return repr(path) if special else path


def parse_paths(data: bytes) -> list[str]:
    """The paths of an ``untracked.txt`` or ``executable.txt``.

    Raises:
        ValueError: A quoted line is not a string literal.
    """
    import ast  # only when reading a snapshot back

    paths = []
    for line in data.decode(errors="surrogateescape").split("\n"):
        if not line:
            continue
        value = ast.literal_eval(line) if line.startswith(_QUOTES) else line
        if not isinstance(value, str):
            raise ValueError(f"not a path: {line!r}")
        paths.append(value)
    return paths


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A complete saved dirty tree: the diff (if tracked files changed) and untracked files."""

    folder: Path
    diff: bytes | None = None
    untracked: dict[str, bytes] = field(default_factory=dict)
    executable: frozenset[str] = frozenset()

    def files(self) -> dict[str, bytes]:
        """The snapshot in its saved layout (a run of the rebuilt tree saves the same files)."""
        files: dict[str, bytes] = {}
        if self.diff is not None:
            files[DIFF_FILE] = self.diff
        if self.untracked:
            names = "".join(f"{quote_path(p)}\n" for p in sorted(self.untracked))
            files[UNTRACKED_LIST] = names.encode(errors="surrogateescape")
            files.update({f"{UNTRACKED_DIR}/{p}": c for p, c in self.untracked.items()})
        if self.executable:
            names = "".join(f"{quote_path(p)}\n" for p in sorted(self.executable))
            files[EXECUTABLE_LIST] = names.encode(errors="surrogateescape")
        return files

    def details(self) -> dict[str, str]:
        """Provenance tags, in the form a run of the dirty tree records them."""
        found: dict[str, str] = {"rebuilt_from": str(self.folder)}
        if self.diff is not None:
            count = self.diff.count(b"\ndiff --git ") + self.diff.startswith(b"diff --git ")
            found["diff"] = f"source/{DIFF_FILE} ({count} files)"
        if self.untracked:
            count = len(self.untracked)
            found["untracked"] = f"source/{UNTRACKED_LIST} ({count} files, {count} saved)"
        return found


def read_snapshot(folder: Path, commit: str) -> Snapshot:
    """Read the saved dirty tree in ``folder``, refusing when it is incomplete.

    Raises:
        SourceError: The folder is missing or unreadable, or an untracked file was not saved.
    """
    start = f"the saved changes in {folder}"
    if not folder.is_dir():
        raise SourceError(f"{start} are missing, so the tree on top of {commit} cannot be rebuilt")
    try:
        diff_path = folder / DIFF_FILE
        diff = diff_path.read_bytes() if diff_path.is_file() else None
        listed = _listed(folder / UNTRACKED_LIST)
        executable = frozenset(_listed(folder / EXECUTABLE_LIST))
        untracked = {rel: _saved_copy(folder, rel, commit) for rel in listed}
    except (OSError, ValueError) as exc:
        raise SourceError(f"{start} cannot be read ({exc}); the tree cannot be rebuilt") from None
    if diff is None and not untracked:
        raise SourceError(f"{start} hold neither {DIFF_FILE} nor untracked files; nothing to apply")
    return Snapshot(folder, diff, untracked, executable & untracked.keys())


def _listed(path: Path) -> list[str]:
    return parse_paths(path.read_bytes()) if path.is_file() else []


def _saved_copy(folder: Path, rel: str, commit: str) -> bytes:
    copy = folder / UNTRACKED_DIR / rel
    inside = copy.resolve().is_relative_to((folder / UNTRACKED_DIR).resolve())
    if not inside or not copy.is_file() or copy.is_symlink():
        raise SourceError(
            f"the saved changes in {folder} are incomplete: the untracked file '{rel}' was not "
            "saved (only regular files up to 100 KB are, 2 MiB and 200 files in all), so the "
            f"tree on top of {commit} cannot be rebuilt; commit or .gitignore such files so "
            "future runs can be rerun"
        )
    return copy.read_bytes()


def apply_snapshot(snapshot: Snapshot, root: Path) -> None:
    """Rebuild the saved tree in ``root``, a fresh checkout of the recorded commit.

    Raises:
        SourceError: The diff does not apply, or an untracked file cannot be written.
    """
    if snapshot.diff is not None:
        # Outside any repository (the ceiling stops git looking above ``root``), `git apply`
        # patches the files in place, binary deltas and modes included, and refuses paths that
        # leave ``root`` or go through a symbolic link.
        env = git_env(GIT_CEILING_DIRECTORIES=str(root.parent))
        patch = str((snapshot.folder / DIFF_FILE).resolve())
        done = run_git(["apply", "--whitespace=nowarn", patch], env=env, cwd=root, timeout=300)
        if not done.ok:
            raise SourceError(
                f"{snapshot.folder / DIFF_FILE} does not apply to the recorded commit "
                f"({first_error(done)}); the exact tree cannot be rebuilt"
            )
    for rel, content in snapshot.untracked.items():
        target = root / rel
        if not target.parent.resolve().is_relative_to(root.resolve()) or target.is_symlink():
            raise SourceError(f"untracked file '{rel}' would be written outside {root}; refused")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            if rel in snapshot.executable:
                # The saved file was executable; git records no other mode than 755.
                os.chmod(target, target.stat().st_mode | 0o111)  # noqa: S103
        except OSError as exc:
            raise SourceError(f"cannot write untracked file '{rel}' into {root}: {exc}") from None
