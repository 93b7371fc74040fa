"""`mlproj cache list|prune`, checkouts' lifetime, and the cache folder setting."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time

import pytest

from mlproj.settings import cache_dir
from mlproj.sources.workdir import Workdir
from tests.sources.conftest import git, only_run, run_json


def test_cache_dir_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPROJ_CACHE_DIR", "relative/cache")
    monkeypatch.chdir(tmp_path)
    assert cache_dir() == tmp_path / "relative" / "cache"
    monkeypatch.delenv("MLPROJ_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "mlproj"
    monkeypatch.setenv("XDG_CACHE_HOME", "not/absolute")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "mlproj"


def test_list_and_prune(mlproj, upstream, cache_dir):
    empty = mlproj("cache", "list")
    assert empty.returncode == 0
    assert "the cache is empty" in empty.stdout
    url = upstream.bare.as_uri()
    assert mlproj("run", f"{url}#sub", "-v", "v1").returncode == 0
    listed = mlproj("cache", "list", "--json").json()
    assert [(i["kind"], i["url"], i["in_use"]) for i in listed] == [("mirror", url, False)]
    assert listed[0]["size"] > 0
    assert listed[0]["format_version"] == 1  # as every --json object
    text = mlproj("cache", "list").stdout
    assert "mirror" in text
    assert url in text
    assert mlproj("cache", "prune", "--older-than", "1").stdout.startswith("removed 0 items")
    dry = mlproj("cache", "prune", "--dry-run")
    assert f"would remove mirror {url}" in dry.stdout
    assert len(mlproj("cache", "list", "--json").json()) == 1
    pruned = mlproj("cache", "prune")
    assert f"removed mirror {url}" in pruned.stdout
    assert mlproj("cache", "list", "--json").json() == []
    # The next run clones again.
    assert mlproj("run", f"{url}#sub", "-v", "v1").returncode == 0
    assert only_run_fetches(mlproj) == ["cloned", "cloned"]


def only_run_fetches(mlproj) -> list[str]:
    return [r["source"]["details"]["fetch"] for r in mlproj("runs", "list", "--json").json()]


def test_prune_keeps_what_is_in_use(mlproj, upstream, cache_dir):
    url = upstream.bare.as_uri()
    assert mlproj("run", f"{url}#sub", "-v", "v1").returncode == 0
    mirror = next((cache_dir / "git").iterdir())
    fd = os.open(mirror / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # as a run resolving this URL holds it
        assert mlproj("cache", "list", "--json").json()[0]["in_use"] is True
        result = mlproj("cache", "prune")
        assert f"kept mirror {url} (in use)" in result.stdout
        assert (mirror / "mirror.git" / "HEAD").exists()
    finally:
        os.close(fd)
    assert "removed mirror" in mlproj("cache", "prune").stdout


def test_pruned_mirror_under_a_waiting_run_is_rebuilt(tmp_path, upstream):
    from mlproj.sources import resolve_source

    cache = tmp_path / "c"
    url = upstream.bare.as_uri() + "#sub"
    first = resolve_source(url, version="v1", caller_dir=tmp_path, cache_dir=cache)
    first.release()
    from mlproj.sources.housekeeping import prune_cache

    removed, busy = prune_cache(cache=cache)
    assert len(removed) == 1
    assert busy == []
    again = resolve_source(url, version="v1", caller_dir=tmp_path, cache_dir=cache)
    assert again.details["fetch"] == "cloned"
    assert (again.project_dir / "VERSION").read_text() == "one\n"
    again.release()


def test_workdir_is_removed_unless_the_run_wrote_into_it(tmp_path):
    unchanged = Workdir.create(tmp_path, "x")
    (unchanged.path / "code.py").write_text("print(1)\n")
    unchanged.seal()
    (unchanged.path / "__pycache__").mkdir()
    (unchanged.path / "__pycache__" / "code.cpython-311.pyc").write_bytes(b"\0")
    assert unchanged.release() is None
    assert not unchanged.path.exists()
    assert unchanged.release() is None  # twice is fine
    changed = Workdir.create(tmp_path, "y")
    changed.seal()
    (changed.path / "model.bin").write_bytes(b"weights")
    assert changed.release() == changed.path
    assert (changed.path / "model.bin").exists()


@pytest.mark.slow
def test_checkout_of_a_killed_runner_is_pruned(mlproj, upstream, cache_dir, store_dir, tmp_path):
    from tests.conftest import REPO, mlproj_env

    upstream.commit(
        {
            "sub/MLproject": "entry_points:\n  main:\n    command: python wait.py\n",
            "sub/wait.py": "import time\nprint('ready', flush=True)\ntime.sleep(120)\n",
        },
        "waits",
    )
    upstream.publish()
    env = {**mlproj_env(store_dir), "MLPROJ_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(REPO)}
    runner = subprocess.Popen(
        ["python3", "-m", "mlproj", "run", upstream.bare.as_uri() + "#sub", "-q"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert runner.stdout is not None
    assert runner.stdout.readline().strip() == b"ready"
    checkouts = [i for i in mlproj("cache", "list", "--json").json() if i["kind"] == "checkout"]
    assert [c["in_use"] for c in checkouts] == [True]
    busy = mlproj("cache", "prune")
    assert "kept checkout" in busy.stdout
    runner.send_signal(signal.SIGKILL)
    runner.wait(30)
    time.sleep(0.5)  # the entry point dies with its runner (parent-death signal)
    checkouts = [i for i in mlproj("cache", "list", "--json").json() if i["kind"] == "checkout"]
    assert [c["in_use"] for c in checkouts] == [False]
    assert "removed checkout" in mlproj("cache", "prune").stdout
    assert list((cache_dir / "work").iterdir()) == []


def test_validate_and_describe_take_git_urls(mlproj, upstream, cache_dir):
    url = upstream.bare.as_uri() + "#sub"
    assert "OK" in mlproj("validate", url).stdout
    described = mlproj("describe", url, "--json")
    assert described.json()["entry_points"]["main"]["command"] == "python show.py {word}"
    assert list((cache_dir / "work").iterdir()) == []


def test_validate_and_describe_take_a_version_and_offline(mlproj, upstream):
    upstream.commit({"sub/MLproject": "entry_points: [broken]\n"}, "broken")
    git("tag", "v3", cwd=upstream.work)
    upstream.publish()
    url = upstream.bare.as_uri() + "#sub"
    assert mlproj("validate", url, "-v", "v3").returncode == 113
    assert "OK" in mlproj("validate", url, "-v", "v1").stdout
    offline = mlproj("describe", url, "-v", "v1", "--offline", "--json")
    assert offline.returncode == 0, offline.stderr
    assert offline.json()["name"] == "shown"
    missing = mlproj("describe", url, "-v", "nosuch", "--offline")
    assert missing.returncode == 114


def test_source_line_and_runs_show(mlproj, upstream):
    url = upstream.bare.as_uri()
    result = mlproj("run", f"{url}#sub", "-v", "v1")
    assert run_json(result)["version"] == "one"
    commit = upstream.commits["one"]
    assert f"mlproj: source {url}#sub @ {commit[:12]} (tag v1, cloned, " in result.stderr
    run = only_run(mlproj)
    shown = mlproj("runs", "show", run["run_id"]).stdout
    assert f"source       {url}#sub" in shown
    assert "version      v1 (tag)" in shown
    assert f"commit       {commit}" in shown
    assert "cache        cloned" in shown


def test_an_unchanged_checkout_is_reused_by_the_next_run_of_its_commit(mlproj, upstream, cache_dir):
    upstream.commit(
        {
            "sub/MLproject": "entry_points:\n  main:\n    command: python main.py\n",
            "sub/main.py": "import helper, os\nprint(helper.VALUE, os.getcwd())\n",
            "sub/helper.py": "VALUE = 'helped'\n",
        },
        "imports a module",
    )
    git("tag", "v5", cwd=upstream.work)
    upstream.publish()
    url = upstream.bare.as_uri() + "#sub"
    first = mlproj("run", url, "-v", "v5")
    assert first.returncode == 0, first.stderr
    spares = next((cache_dir / "git").iterdir()) / "spares"
    assert len(list(spares.iterdir())) == 1  # importing helper made __pycache__: not a change
    assert not list(spares.rglob("__pycache__"))  # ...and it is not carried over
    second = mlproj("run", url, "-v", "v5")
    assert second.stdout.split()[0] == "helped"
    assert len(list(spares.iterdir())) == 1  # claimed, used, given back
    assert list((cache_dir / "work").iterdir()) == []
    runs = mlproj("runs", "list", "--json").json()
    assert [r["source"]["details"]["fetch"] for r in runs] == ["cached", "cloned"]
    assert {r["source"]["commit"] for r in runs} == {upstream.commits["imports a module"]}


def test_a_tampered_spare_is_never_used(mlproj, upstream, cache_dir):
    url = upstream.bare.as_uri() + "#sub"
    assert run_json(mlproj("run", url, "-v", "v1"))["version"] == "one"
    spare = next((next((cache_dir / "git").iterdir()) / "spares").iterdir())
    (spare / "tree" / "sub" / "VERSION").write_text("tampered\n")
    assert run_json(mlproj("run", url, "-v", "v1"))["version"] == "one"


def test_a_run_waiting_for_the_cache_lock_says_so(mlproj, upstream, cache_dir, store_dir, tmp_path):
    from tests.conftest import REPO, mlproj_env

    url = upstream.bare.as_uri()
    assert mlproj("run", f"{url}#sub", "-v", "main").returncode == 0
    mirror = next((cache_dir / "git").iterdir())
    fd = os.open(mirror / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a run fetching this URL holds it
    env = {**mlproj_env(store_dir), "MLPROJ_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(REPO)}
    runner = subprocess.Popen(
        ["python3", "-m", "mlproj", "run", f"{url}#sub", "-v", "main"],  # a branch: must fetch
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert runner.stderr is not None
    try:
        line = runner.stderr.readline()
        assert line.strip() == f"mlproj: waiting for another mlproj using the cache of {url}"
    finally:
        os.close(fd)  # the waiting run goes on
    assert runner.wait(120) == 0, runner.stderr.read()


def test_an_unwritable_cache_folder_is_a_source_error(mlproj, upstream, tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    result = mlproj("run", upstream.bare.as_uri() + "#sub", MLPROJ_CACHE_DIR=str(blocked))
    assert result.returncode == 114
    assert "MLPROJ_CACHE_DIR" in result.stderr
    assert "Traceback" not in result.stderr
