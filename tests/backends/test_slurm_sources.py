"""What the node runs: a git source pinned at submission, and a project changed meanwhile."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.usefixtures("slurm"), pytest.mark.slow]

#: The job starts a few seconds after submission: time to change things under it.
LATER = json.dumps({"sbatch-args": ["--begin=now+3"]})
IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
PROJECT = {
    "MLproject": 'name: pinned\nentry_points:\n  main:\n    command: "cat VERSION"\n',
    "VERSION": "one\n",
}


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit(work: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def test_git_source_runs_the_commit_resolved_at_submission(mlproj, tmp_path):
    work, bare = tmp_path / "repo", tmp_path / "served.git"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    first = commit(work, PROJECT, "one")
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    url = f"file://{bare}"
    run_id = mlproj("run", url, "-v", "main", "-b", "slurm", "-c", LATER, "--detach").stdout
    run_id = run_id.strip()
    commit(work, {"VERSION": "two\n"}, "two")  # main moves before the job starts
    git("push", "-q", str(bare), "main", cwd=work)
    assert mlproj("runs", "wait", run_id).returncode == 0
    assert mlproj("runs", "logs", run_id).stdout == "one\n"
    run = mlproj("runs", "show", run_id, "--json").json()
    assert run["source"]["commit"] == first


def test_project_broken_before_the_job_starts_fails_the_run_with_why(mlproj, write_project):
    project = write_project(PROJECT)
    run_id = mlproj("run", str(project), "-b", "slurm", "-c", LATER, "--detach").stdout.strip()
    (project / "MLproject").write_text("name: pinned\nentry_points: [oops]\n")
    assert mlproj("runs", "wait", run_id).returncode == 113
    run = mlproj("runs", "show", run_id, "--json").json()
    assert (run["status"], run["exit_code"]) == ("FAILED", 113)
    assert "MLproject" in run["tags"]["mlproj.failure"]


def test_rerun_of_a_dirty_run_on_slurm_rebuilds_its_tree_on_the_node(mlproj, tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    commit(work, PROJECT, "one")
    (work / "VERSION").write_text("dirty\n")  # uncommitted: saved with the run
    first = mlproj("run", str(work))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "dirty\n"
    run_id = mlproj("runs", "list", "--json").json()[0]["run_id"]
    (work / "VERSION").write_text("changed again\n")
    rerun = mlproj("rerun", run_id, "-b", "slurm", "--detach")
    assert rerun.returncode == 0, rerun.stderr
    new_id = rerun.stdout.strip()
    assert mlproj("runs", "wait", new_id).returncode == 0
    assert mlproj("runs", "logs", new_id).stdout == "dirty\n"  # the recorded tree, on the node
    new = mlproj("runs", "show", new_id, "--json").json()
    assert new["tags"]["mlproj.rerun_of"] == run_id
    assert new["tags"]["mlproj.backend"] == "slurm"
