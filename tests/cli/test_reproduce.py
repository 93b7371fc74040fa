"""Reproducing runs: `mlproj rerun`, `mlproj run --reuse`, and `runs diff` across commits."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from mlproj.tracking.history import PastRun
from mlproj.tracking.models import RunStatus
from mlproj.tracking.store import Store
from tests.tracking.conftest import BASE_RUN

PROJECT = {
    "MLproject": "entry_points:\n  main:\n"
    "    parameters:\n"
    "      alpha: {type: float, default: 0.1}\n"
    "      data: {type: path, default: data/points.csv}\n"
    "    command: python train.py {alpha} {data}\n"
    "  fail:\n    command: python -c 'raise SystemExit(3)'\n",
    "train.py": "import sys\n"
    "print('alpha', sys.argv[1], 'rows', len(open(sys.argv[2]).readlines()))\n",
    "data/points.csv": "x,y\n1,2\n",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(write_project) -> Path:
    folder = write_project(PROJECT, name="repo")
    git(folder, "init", "-q")
    git(folder, "config", "user.email", "t@example.com")
    git(folder, "config", "user.name", "t")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "first")
    return folder


def runs(mlproj) -> list[dict]:
    return mlproj("runs", "list", "--json").json()


def test_rerun_repeats_source_entry_params_and_env(mlproj, repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "in").mkdir(parents=True)
    (elsewhere / "in" / "mine.csv").write_text("x,y\n1,2\n3,4\n")
    first = mlproj("run", str(repo), "-P", "alpha=0.5", "-P", "data=in/mine.csv", cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    [original] = runs(mlproj)
    # From another folder: the relative path is still taken from where the first run was started.
    again = mlproj("rerun", original["run_id"][:8])
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout == "alpha 0.5 rows 3\n"
    assert f"rerunning run {original['run_id']}" in again.stderr
    new = runs(mlproj)[0]
    assert new["run_id"] != original["run_id"]
    assert new["tags"]["mlproj.rerun_of"] == original["run_id"]
    for field in ("params", "entry_point", "source", "env", "experiment", "command"):
        assert new[field] == original[field], field


def test_rerun_with_overrides_and_defaults(mlproj, repo):
    assert mlproj("run", str(repo)).returncode == 0  # every parameter at its default
    [original] = runs(mlproj)
    assert original["tags"]["mlproj.params.defaults"] == '["alpha", "data"]'
    # The path default resolves against the project again, not against the caller's folder.
    changed = mlproj("rerun", original["run_id"], "-P", "alpha=0.9", "--run-name", "again")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout == "alpha 0.9 rows 2\n"
    new = runs(mlproj)[0]
    assert new["run_name"] == "again"
    assert new["params"] == {"alpha": "0.9", "data": "data/points.csv"}
    bad = mlproj("rerun", original["run_id"], "-P", "alpha=abc")
    assert bad.returncode == 113
    assert len(runs(mlproj)) == 2  # nothing recorded for the invalid rerun


def test_rerun_runs_the_recorded_commit_when_the_folder_moved_on(mlproj, repo):
    assert mlproj("run", str(repo)).returncode == 0
    [original] = runs(mlproj)
    (repo / "train.py").write_text("print('changed')\n")
    dirty = mlproj("rerun", original["run_id"])  # uncommitted changes now
    assert dirty.returncode == 0, dirty.stderr
    assert dirty.stdout == "alpha 0.1 rows 2\n"  # the recorded code, not the edit
    assert "from a private checkout (your folder is untouched)" in dirty.stderr
    git(repo, "commit", "-qam", "second")
    head = git(repo, "rev-parse", "HEAD")
    moved = mlproj("rerun", original["run_id"])  # another commit now
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout == "alpha 0.1 rows 2\n"
    assert runs(mlproj)[0]["source"]["commit"] == original["source"]["commit"]
    assert git(repo, "rev-parse", "HEAD") == head  # the user's folder is untouched
    assert (repo / "train.py").read_text() == "print('changed')\n"


def test_rerun_of_a_dirty_run_runs_the_saved_changes(mlproj, repo):
    """More in test_rerun_dirty.py: the tree is rebuilt exactly in a private checkout."""
    (repo / "train.py").write_text("print('uncommitted')\n")
    assert mlproj("run", str(repo)).returncode == 0
    [original] = runs(mlproj)
    assert original["source"]["dirty"] is True
    git(repo, "checkout", "--", "train.py")  # the change is gone from the work tree
    result = mlproj("rerun", original["run_id"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "uncommitted\n"
    assert (repo / "train.py").read_text() == PROJECT["train.py"]


def test_rerun_outside_git_warns(mlproj, write_project):
    project = write_project(PROJECT)
    assert mlproj("run", str(project), "-q").returncode == 0
    [original] = runs(mlproj)
    result = mlproj("rerun", original["run_id"], "-q")
    assert result.returncode == 0
    assert "not in a git repository: its code may have changed" in result.stderr


def test_rerun_keeps_the_exit_status_and_unknown_ids_fail(mlproj, repo):
    assert mlproj("run", str(repo), "-e", "fail").returncode == 3
    [original] = runs(mlproj)
    assert mlproj("rerun", original["run_id"]).returncode == 3
    unknown = mlproj("rerun", "abcdef")
    assert unknown.returncode == 118


def test_reuse_skips_a_run_of_the_same_work(mlproj, repo):
    first = mlproj("run", str(repo), "--reuse", "-P", "alpha=0.5")
    assert first.returncode == 0, first.stderr
    assert "--reuse: running, because no FINISHED run" in first.stderr
    [done] = runs(mlproj)
    second = mlproj("run", str(repo), "--reuse", "-P", "alpha=0.5")
    assert second.returncode == 0
    assert second.stdout == f"{done['run_id']}\n"
    assert f"reusing run {done['run_id']}" in second.stderr
    assert len(runs(mlproj)) == 1
    # Defaults count as given: the same effective parameters are the same work.
    assert mlproj("run", str(repo), "-q").returncode == 0
    assert mlproj("run", str(repo), "--reuse", "-q", "-P", "alpha=0.1").stdout.startswith(
        runs(mlproj)[0]["run_id"]
    )
    assert len(runs(mlproj)) == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("params", "no FINISHED run"),
        ("entry", "no FINISHED run"),
        ("dirty", "uncommitted changes"),
        ("commit", "no FINISHED run"),
    ],
)
def test_reuse_runs_again_when_anything_differs(mlproj, repo, change, reason):
    assert mlproj("run", str(repo), "-q", "-P", "alpha=0.5").returncode == 0
    args = ["run", str(repo), "--reuse", "-P", "alpha=0.5"]
    if change == "params":
        args[-1] = "alpha=0.6"
    elif change == "entry":
        args += ["-e", "train.py"]
    elif change == "dirty":
        (repo / "train.py").write_text("print('x')\n")
    elif change == "commit":
        (repo / "README").write_text("x\n")
        git(repo, "add", "README")
        git(repo, "commit", "-qm", "second")
    result = mlproj(*args)
    assert reason in result.stderr, result.stderr
    assert len(runs(mlproj)) == 2


def test_reuse_needs_the_same_environment(mlproj, repo, store_dir):
    """A run of the same commit and params in another environment is not reused."""
    other_env = replace(
        BASE_RUN,
        source_uri=str(repo),
        source_commit=git(repo, "rev-parse", "HEAD"),
        source_dirty=False,
        env_manager="virtualenv",
        env_key="0123abcd",
        params={"alpha": "0.5", "data": "data/points.csv"},
    )
    with Store.open(str(store_dir)) as store:
        store.bulk_insert_runs([PastRun(other_env, 1, 2, RunStatus.FINISHED, 0)])
    result = mlproj("run", str(repo), "--reuse", "-P", "alpha=0.5")
    assert "no FINISHED run" in result.stderr
    assert len(runs(mlproj)) == 2
    again = mlproj("run", str(repo), "--reuse", "-P", "alpha=0.5")
    assert again.stdout.strip() == runs(mlproj)[0]["run_id"]  # the local one now matches


def test_reuse_never_reuses_failed_runs_or_runs_outside_git(mlproj, repo, write_project):
    assert mlproj("run", str(repo), "-e", "fail").returncode == 3
    again = mlproj("run", str(repo), "-e", "fail", "--reuse")
    assert again.returncode == 3
    plain = write_project(PROJECT)
    assert mlproj("run", str(plain), "-q").returncode == 0
    result = mlproj("run", str(plain), "--reuse")
    assert "not in a git repository" in result.stderr
    assert len(runs(mlproj)) == 4


def test_diff_shows_the_code_change(mlproj, repo):
    assert mlproj("run", str(repo), "-q").returncode == 0
    (repo / "train.py").write_text(PROJECT["train.py"] + "print('more')\n")
    git(repo, "commit", "-qam", "second")
    assert mlproj("run", str(repo), "-q", "-P", "alpha=0.2").returncode == 0
    new, old = runs(mlproj)
    result = mlproj("runs", "diff", old["run_id"], new["run_id"])
    assert result.returncode == 0, result.stderr
    assert "CODE (git diff --stat)" in result.stdout
    assert "train.py | 1 +" in result.stdout
    commit = next(line for line in result.stdout.splitlines() if line.split()[1:2] == ["commit"])
    assert commit.startswith("*")
    data = mlproj("runs", "diff", old["run_id"], new["run_id"], "--json").json()
    assert "train.py" in data["code"]["diff_stat"]
    assert {row["name"] for row in data["rows"]} >= {"commit", "alpha"}


def test_rerun_stops_when_the_recorded_commit_is_gone(mlproj, repo):
    assert mlproj("run", str(repo)).returncode == 0
    [original] = runs(mlproj)
    (repo / "train.py").write_text("print('rewritten')\n")
    git(repo, "commit", "-q", "--amend", "-am", "rewritten history")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    gone = mlproj("rerun", original["run_id"])
    assert gone.returncode == 114, gone.stderr
    assert original["source"]["commit"][:12] in gone.stderr
    assert len(runs(mlproj)) == 1  # nothing recorded
