"""The memo of immutable answers and the ref reader behind it (no git process, no GitPython)."""

from __future__ import annotations

from mlproj.sources import memo
from mlproj.sources.gitrepo import RefKind, Revision, SubmoduleRef
from tests.sources.conftest import git, make_upstream

A = "a" * 40
B = "b" * 40


def test_read_ref_loose_first_then_packed(tmp_path):
    git_dir = tmp_path / "repo.git"
    (git_dir / "refs" / "tags").mkdir(parents=True)
    (git_dir / "packed-refs").write_text(
        f"# pack-refs with: peeled fully-peeled sorted\n{A} refs/tags/v1\n^{B}\n{B} refs/tags/v2\n"
    )
    assert memo.read_ref(git_dir, "refs/tags/v1") == A
    assert memo.read_ref(git_dir, "refs/tags/v2") == B
    (git_dir / "refs" / "tags" / "v2").write_text(A + "\n")
    assert memo.read_ref(git_dir, "refs/tags/v2") == A
    assert memo.read_ref(git_dir, "refs/tags/v3") is None


def test_read_ref_agrees_with_git(tmp_path):
    up = make_upstream(tmp_path)
    for ref in ("refs/tags/v1", "refs/tags/v2", "refs/heads/dev"):
        assert memo.read_ref(up.bare, ref) == git("rev-parse", ref, cwd=up.bare)


def test_remember_and_lookup(tmp_path):
    up = make_upstream(tmp_path)
    root = tmp_path / "entry"
    root.mkdir()
    commit = up.commits["one"]
    subs = [SubmoduleRef("lib", "sub/lib", "../lib.git", B)]
    assert memo.lookup(root, up.bare, "v1") is None
    memo.remember(root, up.bare, Revision(commit, RefKind.TAG, "v1"), subs)
    assert memo.lookup(root, up.bare, "v1") == (Revision(commit, RefKind.TAG, "v1"), subs)
    assert memo.lookup(root, up.bare, commit) == (Revision(commit, RefKind.COMMIT, None), subs)
    assert memo.lookup(root, up.bare, commit[:8]) is None  # abbreviations always ask git
    assert memo.lookup(root, up.bare, None) is None
    # Branches are never remembered: they move.
    memo.remember(root, up.bare, Revision(up.commits["dev"], RefKind.BRANCH, "dev"), [])
    assert memo.lookup(root, up.bare, "dev") is None
    # A tag that now points elsewhere is not answered from the memo.
    git("tag", "-f", "v1", up.commits["two"], cwd=up.work)
    up.publish()
    assert memo.lookup(root, up.bare, "v1") is None
