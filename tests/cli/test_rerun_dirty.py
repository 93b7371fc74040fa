"""`mlproj rerun` of a run whose tree was dirty: the exact tree, rebuilt in a private checkout.

Real git repositories in temp folders. The entry point prints a manifest of the tree it runs in
(every file's sha256 and executable bit), so "the same code" is checked byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from mlproj.tracking.store import Store

MLPROJECT = "entry_points:\n  main:\n    command: python tree.py\n"
# Prints {path: [sha256, executable]} for every file of the repository (the project's parent).
TREE_PY = """import hashlib, json, os
root = os.path.dirname(os.getcwd())
found = {}
for folder, dirs, files in os.walk(root):
    dirs[:] = [d for d in dirs if d not in (".git", "__pycache__")]
    for name in files:
        path = os.path.join(folder, name)
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        found[os.path.relpath(path, root)] = [digest, os.access(path, os.X_OK)]
print(json.dumps(found, sort_keys=True))
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def manifest(root: Path) -> dict[str, list[object]]:
    """What TREE_PY prints, computed on the user's work tree."""
    found: dict[str, list[object]] = {}
    for path in root.rglob("*"):
        if path.is_file() and not {".git", "__pycache__"} & set(path.parts):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = [digest, os.access(path, os.X_OK)]
    return found


def fingerprint(repo: Path) -> dict[str, object]:
    """Everything a rerun must leave alone: HEAD, branch, index, status, every file."""
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "symbolic-ref", "HEAD"),
        "index": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
        "status": git(repo, "status", "--porcelain=v2", "--untracked-files=all"),
        "files": manifest(repo),
    }


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MLPROJ_CACHE_DIR", str(folder))  # the mlproj fixture passes it on
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed repository with the project in ``proj/`` and files around it."""
    root = tmp_path / "repo"
    (root / "proj").mkdir(parents=True)
    (root / "proj" / "MLproject").write_text(MLPROJECT)
    (root / "proj" / "tree.py").write_text(TREE_PY)
    (root / "proj" / "params.txt").write_text("alpha=1\nbeta=2\n")
    (root / "proj" / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (root / "proj" / "old.txt").write_text("to be deleted\n")
    (root / "run.sh").write_text("echo hi\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    return root


def make_dirty(repo: Path) -> None:
    """Every kind of change: staged, unstaged, deleted, binary, mode, untracked text/binary."""
    (repo / "proj" / "params.txt").write_text("alpha=1\nbeta=3\n")
    git(repo, "add", "proj/params.txt")  # staged
    (repo / "proj" / "params.txt").write_text("alpha=5\nbeta=3\n")  # and unstaged on top
    (repo / "proj" / "weights.bin").write_bytes(bytes(range(255, -1, -1)) * 4 + b"\0tail")
    (repo / "proj" / "old.txt").unlink()
    (repo / "run.sh").chmod(0o755)
    (repo / "proj" / "notes").mkdir()
    (repo / "proj" / "notes" / "idea.md").write_text("untracked text\n")
    (repo / "proj" / "extra.bin").write_bytes(b"\0\xff\x10binary\n" * 50)
    (repo / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    (repo / "tool.sh").chmod(0o755)


def runs(mlproj) -> list[dict]:
    return mlproj("runs", "list", "--json").json()


def run_manifest(result) -> dict[str, list[object]]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dirty_tree_is_rebuilt_exactly_and_the_user_tree_is_untouched(
    mlproj, repo, cache, store_dir
):
    make_dirty(repo)
    expected = manifest(repo)
    assert run_manifest(mlproj("run", f"{repo}#proj")) == expected
    [original] = runs(mlproj)
    assert original["source"]["dirty"] is True
    # The user moves on: commits the changes, then edits again and adds files.
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "second")
    (repo / "proj" / "params.txt").write_text("alpha=9\n")
    (repo / "proj" / "later.txt").write_text("later\n")
    before = fingerprint(repo)

    again = mlproj("rerun", original["run_id"])
    assert run_manifest(again) == expected  # byte for byte, modes included
    assert "rebuilt its tree in a private checkout: commit" in again.stderr
    assert fingerprint(repo) == before
    assert not list((cache / "work").glob("*-*")), "the checkout is removed after the run"

    rerun = runs(mlproj)[0]
    source = rerun["source"]
    assert (source["commit"], source["dirty"]) == (original["source"]["commit"], True)
    assert source["subdir"] == "proj"
    saved = store_dir / "runs" / original["run_id"] / "source"
    assert source["details"]["rebuilt_from"] == str(saved)
    assert rerun["tags"]["mlproj.rerun_of"] == original["run_id"]
    # The rerun saved the same changes, so it can be rerun in turn.
    copied = store_dir / "runs" / rerun["run_id"] / "source"
    assert manifest(copied) == manifest(saved)
    assert run_manifest(mlproj("rerun", rerun["run_id"])) == expected
    assert fingerprint(repo) == before


def test_only_untracked_files_and_a_repository_that_moved_away(mlproj, repo):
    (repo / "proj" / "notes.txt").write_text("only an untracked file\n")
    expected = manifest(repo)
    assert run_manifest(mlproj("run", str(repo / "proj"))) == expected
    [original] = runs(mlproj)
    assert "diff" not in original["source"]["details"]
    (repo / "proj" / "notes.txt").unlink()
    git(repo, "checkout", "-q", "-b", "other")
    assert run_manifest(mlproj("rerun", original["run_id"])) == expected


def test_an_untracked_file_too_large_to_save_is_named_and_nothing_runs(mlproj, repo, cache):
    make_dirty(repo)
    (repo / "proj" / "model.pt").write_bytes(b"\1" * (200 * 1024))
    assert mlproj("run", f"{repo}#proj").returncode == 0
    [original] = runs(mlproj)
    assert "(4 files, 3 saved)" in original["source"]["details"]["untracked"]
    result = mlproj("rerun", original["run_id"])
    assert result.returncode == 114
    *_, line = result.stderr.strip().splitlines()
    assert line.startswith("mlproj: error: ")
    assert "untracked file 'proj/model.pt' was not saved" in line
    assert "rebuilt its tree" not in result.stderr
    assert len(runs(mlproj)) == 1  # no run recorded
    assert not (cache / "work").exists() or not list((cache / "work").iterdir())


def test_saved_changes_that_do_not_apply_are_refused(mlproj, repo, cache, store_dir):
    make_dirty(repo)
    assert mlproj("run", f"{repo}#proj").returncode == 0
    [original] = runs(mlproj)
    patch = store_dir / "runs" / original["run_id"] / "source" / "diff.patch"
    patch.write_bytes(patch.read_bytes().replace(b"-alpha=1", b"-alpha=7"))
    result = mlproj("rerun", original["run_id"])
    assert result.returncode == 114
    *_, line = result.stderr.strip().splitlines()
    assert line.startswith("mlproj: error: ")
    assert f"{patch} does not apply to the recorded commit" in line
    assert len(runs(mlproj)) == 1
    assert not list((cache / "work").glob("*-*")), "the failed checkout is removed"


def test_a_dirty_run_whose_changes_were_not_saved_is_refused(mlproj, repo, store_dir):
    (repo / "proj" / "params.txt").write_text("changed\n")
    assert mlproj("run", f"{repo}#proj").returncode == 0
    [original] = runs(mlproj)
    with Store.open(str(store_dir)) as store:
        store.set_tags(original["run_id"], {"mlproj.source.diff": "not saved: over 64 MiB"})
    result = mlproj("rerun", original["run_id"])
    assert result.returncode == 114
    assert "its diff was not saved: over 64 MiB" in result.stderr
    # A run folder that lost its source/ folder.
    with Store.open(str(store_dir)) as store:
        store.set_tags(original["run_id"], {"mlproj.source.diff": "source/diff.patch (1 files)"})
    for path in sorted((store_dir / "runs" / original["run_id"] / "source").rglob("*"))[::-1]:
        path.unlink() if path.is_file() else path.rmdir()
    (store_dir / "runs" / original["run_id"] / "source").rmdir()
    missing = mlproj("rerun", original["run_id"])
    assert missing.returncode == 114
    assert "are missing" in missing.stderr
    assert len(runs(mlproj)) == 1
