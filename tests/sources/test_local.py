"""Local folders: provenance in place, dirty-tree capture, and -v without touching the repo."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from mlproj.sources import resolve_source
from tests.sources.conftest import MLPROJECT, git, make_upstream, only_run, run_json


def repo_fingerprint(work: Path) -> dict[str, str]:
    """Everything -v must leave alone: HEAD, index, work tree state, remotes, refs."""
    index = work / ".git" / "index"
    return {
        "head": git("rev-parse", "HEAD", cwd=work),
        "symbolic": git("symbolic-ref", "-q", "HEAD", cwd=work, check=False),
        "status": git("status", "--porcelain=v2", "--untracked-files=all", cwd=work),
        "index": hashlib.sha256(index.read_bytes()).hexdigest(),
        "remotes": git("remote", "-v", cwd=work),
        "refs": git("for-each-ref", cwd=work),
        "files": json.dumps(
            sorted(
                (str(p.relative_to(work)), p.read_bytes().hex())
                for p in work.rglob("*")
                if p.is_file() and ".git" not in p.parts
            )
        ),
    }


def test_plain_folder_has_no_git_provenance(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "MLproject").write_text(MLPROJECT)
    source = resolve_source(str(folder), version=None, caller_dir=tmp_path)
    assert source.project_dir == folder
    assert source.commit is None
    assert source.dirty is None
    assert source.details == {"given": str(folder), "kind": "folder"}


def test_clean_repo_records_commit_branch_and_remote_without_credentials(tmp_path):
    up = make_upstream(tmp_path)
    git("remote", "add", "origin", "https://alice:tok3n@git.example.com/org/p.git", cwd=up.work)
    source = resolve_source(f"{up.work}#sub", version=None, caller_dir=tmp_path)
    assert source.project_dir == up.work / "sub"
    assert source.commit == up.commits["two"]
    assert source.dirty is False
    assert source.subdir == "sub"
    assert source.details["branch"] == "main"
    assert source.details["remote"] == "https://git.example.com/org/p.git"
    assert "tok3n" not in repr(source)
    assert source.snapshot_files == {}


def test_detached_head_on_a_tag_records_the_tag(tmp_path):
    up = make_upstream(tmp_path)
    git("checkout", "-q", "v1", cwd=up.work)
    source = resolve_source(f"{up.work}#sub", version=None, caller_dir=tmp_path)
    assert source.commit == up.commits["one"]
    assert source.details["tag"] == "v1"
    assert "branch" not in source.details


def test_dirty_tree_is_saved_with_the_run_and_can_be_rebuilt(mlproj, tmp_path, store_dir):
    up = make_upstream(tmp_path)
    (up.work / "sub" / "VERSION").write_text("edited\n")  # unstaged change
    (up.work / "staged.txt").write_text("staged\n")
    git("add", "staged.txt", cwd=up.work)  # staged new file
    (up.work / "sub" / "notes.txt").write_text("untracked text\n")
    (up.work / "blob.bin").write_bytes(b"\0\1\2" * 10)  # untracked binary: saved too
    result = mlproj("run", f"{up.work}#sub", "-P", "word=x", cwd=up.work)  # store ./mlruns?
    assert run_json(result)["version"] == "edited"
    run = only_run(mlproj)
    assert run["source"]["dirty"] is True
    assert run["source"]["commit"] == up.commits["two"]
    details = run["source"]["details"]
    assert details["diff"].startswith("source/diff.patch")
    assert "untracked.txt (2 files, 2 saved)" in details["untracked"]
    saved = store_dir / "runs" / run["run_id"] / "source"
    assert (saved / "untracked.txt").read_text().splitlines() == ["blob.bin", "sub/notes.txt"]
    assert (saved / "untracked" / "sub" / "notes.txt").read_text() == "untracked text\n"
    assert (saved / "untracked" / "blob.bin").read_bytes() == b"\0\1\2" * 10
    # Rebuild the exact code from the record: commit + diff + untracked files.
    rebuilt = tmp_path / "rebuilt"
    git("clone", "-q", str(up.work), str(rebuilt))
    git("checkout", "-q", run["source"]["commit"], cwd=rebuilt)
    git("apply", "--index", str(saved / "diff.patch"), cwd=rebuilt)
    assert (rebuilt / "sub" / "VERSION").read_text() == "edited\n"
    assert (rebuilt / "staged.txt").read_text() == "staged\n"
    shown = mlproj("runs", "show", run["run_id"])
    assert "dirty" in shown.stdout
    assert f"{store_dir / 'runs' / run['run_id']}/source/diff.patch" in shown.stdout


def test_the_tracking_store_inside_the_repo_does_not_make_it_dirty(mlproj, tmp_path):
    up = make_upstream(tmp_path)
    store = up.work / "mlruns"
    for _ in range(2):  # the second run sees the first run's store folder in the tree
        result = mlproj("run", f"{up.work}#sub", "--tracking-uri", str(store), cwd=up.work)
        assert result.returncode == 0, result.stderr
    runs = mlproj("runs", "list", "--json", "--tracking-uri", str(store)).json()
    assert [r["source"]["dirty"] for r in runs] == [False, False]


@pytest.mark.parametrize(
    ("version", "expected", "kind"),
    [
        ("v1", "one", "tag"),
        ("v2", "two", "tag"),
        ("dev", "dev", "branch"),
        ("main", "two", "branch"),
    ],
)
def test_version_of_a_local_repo_never_touches_it(mlproj, tmp_path, version, expected, kind):
    up = make_upstream(tmp_path)
    (up.work / "sub" / "VERSION").write_text("uncommitted\n")  # a dirty tree must survive too
    (up.work / "scratch.txt").write_text("mine\n")
    git("remote", "add", "origin", "https://example.com/org/p.git", cwd=up.work)
    before = repo_fingerprint(up.work)
    result = mlproj("run", f"{up.work}#sub", "-v", version)
    shown = run_json(result)
    assert shown["version"] == expected
    assert not shown["cwd"].startswith(str(up.work))  # a private checkout, not the repo
    assert repo_fingerprint(up.work) == before
    run = only_run(mlproj)
    assert run["source"]["version"] == version
    assert run["source"]["dirty"] is False  # what ran is exactly the commit
    assert run["source"]["details"][kind] == version
    assert run["source"]["details"]["kind"] == "repo"
    assert run["source"]["details"]["remote"] == "https://example.com/org/p.git"


def test_version_as_full_and_abbreviated_commit(tmp_path, cache_dir):
    up = make_upstream(tmp_path)
    for given in (up.commits["one"], up.commits["one"][:7]):
        source = resolve_source(
            f"{up.work}#sub", version=given, caller_dir=tmp_path, cache_dir=cache_dir
        )
        try:
            assert source.commit == up.commits["one"]
            assert (source.project_dir / "VERSION").read_text() == "one\n"
        finally:
            assert source.release() is None
        assert not source.project_dir.exists()  # unchanged private checkouts are removed


def test_version_from_a_subfolder_of_the_repo(tmp_path, cache_dir):
    up = make_upstream(tmp_path)
    source = resolve_source(
        str(up.work / "sub"), version="v1", caller_dir=tmp_path, cache_dir=cache_dir
    )
    assert (source.project_dir / "VERSION").read_text() == "one\n"
    assert source.project_dir.name == "sub"
    source.release()


def test_bare_repository_folder_runs_its_head(mlproj, tmp_path):
    up = make_upstream(tmp_path)
    shown = run_json(mlproj("run", f"{up.bare}#sub"))
    assert shown["version"] == "two"
    shown = run_json(mlproj("run", f"{up.bare}#sub", "-v", "dev"))
    assert shown["version"] == "dev"


def test_version_needs_a_git_repository(mlproj, tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "MLproject").write_text(MLPROJECT)
    result = mlproj("run", str(folder), "-v", "v1")
    assert result.returncode == 114
    assert "needs a git repository" in result.stderr
    assert mlproj("runs", "list", "--json").json() == []


def test_unknown_version_lists_what_exists(mlproj, tmp_path):
    up = make_upstream(tmp_path)
    result = mlproj("run", f"{up.work}#sub", "-v", "v9")
    assert result.returncode == 114
    assert "v9" in result.stderr
    assert "branches: dev, main" in result.stderr
    assert "tags: v2, v1" in result.stderr
    assert "Traceback" not in result.stderr
    assert mlproj("runs", "list", "--json").json() == []


@pytest.mark.parametrize(
    ("suffix", "needle"),
    [
        ("#nope", "no folder 'nope'"),
        ("#../..", "escapes"),
        ("#sub/../../x", "escapes"),
        ("#empty", "no MLproject file and no .py or .sh file"),
        ("#link", "leads out of"),
    ],
)
def test_bad_subdirs_fail_cleanly(mlproj, tmp_path, suffix, needle):
    up = make_upstream(tmp_path)
    (up.work / "empty" / "deeper").mkdir(parents=True)
    (up.work / "empty" / "deeper" / "data.txt").write_text("no code here\n")
    (up.work / "link").symlink_to(tmp_path)
    result = mlproj("run", f"{up.work}{suffix}")
    assert result.returncode == 114, result.stderr
    assert needle in result.stderr
    assert result.stderr.startswith("mlproj: error: ")
    assert mlproj("runs", "list", "--json").json() == []


def test_bad_subdir_at_a_version_removes_the_checkout(mlproj, tmp_path, cache_dir):
    up = make_upstream(tmp_path)
    result = mlproj("run", f"{up.work}#missing", "-v", "v1")
    assert result.returncode == 114
    assert "no folder 'missing'" in result.stderr
    assert list((cache_dir / "work").iterdir()) == []


def test_hooks_fsmonitor_and_external_diff_of_a_repo_never_run(mlproj, tmp_path):
    up = make_upstream(tmp_path)
    marker = tmp_path / "pwned"
    evil = f"touch {marker}"
    hook = up.work / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\n{evil}\n")
    hook.chmod(0o755)
    for key, value in (
        ("core.fsmonitor", evil),
        ("diff.external", evil),
        ("core.hooksPath", str(hook.parent)),
        ("core.pager", evil),
    ):
        git("config", key, value, cwd=up.work)
    (up.work / "sub" / "VERSION").write_text("dirty, so mlproj runs git diff\n")
    assert mlproj("run", f"{up.work}#sub").returncode == 0
    assert mlproj("run", f"{up.work}#sub", "-v", "v1").returncode == 0
    assert not marker.exists()
    # The same configuration does run the program in git's own hands (the test is meaningful).
    subprocess.run(["git", "status"], cwd=up.work, capture_output=True, check=False)
    assert marker.exists()


def test_a_repo_folder_still_runs_when_git_is_missing(mlproj, tmp_path):
    up = make_upstream(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(__import__("sys").executable)
    result = mlproj("run", f"{up.work}#sub", PATH=str(bin_dir))
    assert result.returncode == 0, result.stderr
    assert "git is not installed" in result.stderr
    assert only_run(mlproj)["source"]["commit"] is None
    missing = mlproj("run", f"{up.work}#sub", "-v", "v1", PATH=str(bin_dir))
    assert missing.returncode == 114
    assert "git" in missing.stderr


def test_version_of_a_local_repo_with_submodules_uses_its_own_copies(mlproj, tmp_path):
    import shutil

    up = make_upstream(tmp_path)
    lib = tmp_path / "lib"
    git("init", "-q", "-b", "main", str(lib))
    (lib / "data.txt").write_text("lib data\n")
    git("add", "-A", cwd=lib)
    git("commit", "-q", "-m", "lib", cwd=lib)
    git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(lib),
        "sub/lib",
        cwd=up.work,
    )
    up.commit(
        {
            "sub/MLproject": "entry_points:\n  main:\n    command: python read.py\n",
            "sub/read.py": "print(open('lib/data.txt').read().strip())\n",
        },
        "with submodule",
    )
    shutil.rmtree(lib)  # only the repository's own .git/modules copy is left
    before = repo_fingerprint(up.work)
    result = mlproj("run", f"{up.work}#sub", "-v", "main")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lib data"
    assert repo_fingerprint(up.work) == before
    details = only_run(mlproj)["source"]["details"]
    assert details["submodule.sub/lib"] == git("rev-parse", "HEAD", cwd=up.work / "sub" / "lib")


def test_untracked_folders_are_listed_file_by_file_and_config_is_honoured(tmp_path):
    up = make_upstream(tmp_path)
    (up.work / "new" / "deep").mkdir(parents=True)
    (up.work / "new" / "deep" / "a.txt").write_text("a\n")
    (up.work / "new" / "b.txt").write_text("b\n")
    (up.work / "mlruns" / "runs").mkdir(parents=True)
    (up.work / "mlruns" / "runs" / "log").write_text("store\n")
    source = resolve_source(
        str(up.work / "sub"), version=None, caller_dir=tmp_path, ignore=(up.work / "mlruns",)
    )
    listed = source.snapshot_files["untracked.txt"].decode().splitlines()
    assert listed == ["new/b.txt", "new/deep/a.txt"]
    assert source.dirty is True
    # A repository where the user turned untracked files off (a dotfiles repo at $HOME).
    git("config", "status.showUntrackedFiles", "no", cwd=up.work)
    quiet = resolve_source(str(up.work / "sub"), version=None, caller_dir=tmp_path)
    assert quiet.dirty is False
    assert quiet.snapshot_files == {}


def test_local_folders_never_import_gitpython(tmp_path):
    import subprocess
    import sys

    up = make_upstream(tmp_path)
    probe = (
        "import sys; from pathlib import Path; from mlproj.sources import resolve_source; "
        f"s = resolve_source({str(up.work)!r} + '#sub', version=None, caller_dir=Path('.')); "
        "print(s.commit, 'git' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [up.commits["two"], "False"]


@pytest.mark.parametrize(
    "name", ["plain.txt", "with space.txt", "new\nline.txt", "'quoted'.txt", "back\\slash", "é.txt"]
)
def test_untracked_names_survive_the_saved_list(name):
    from mlproj.sources.snapshot import parse_paths, quote_path

    line = quote_path(name)
    assert "\n" not in line
    assert parse_paths(f"other\n{line}\n".encode()) == ["other", name]
