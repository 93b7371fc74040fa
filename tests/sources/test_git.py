"""Git URLs end to end: every transport, -v kinds, #subdir, cache reuse, offline and failures."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO
from tests.sources.conftest import git, only_run, run_json


def transport_url(kind, upstream, git_daemon, http_git, fake_ssh) -> tuple[str, dict[str, str]]:
    """The URL of ``upstream`` over one transport, and the environment it needs."""
    if kind == "file":
        return upstream.bare.as_uri(), {}
    if kind == "daemon":
        return git_daemon.url("project.git"), {}
    if kind == "daemon-no-suffix":
        return git_daemon.url("project"), {}
    if kind == "http":
        return http_git().url("project.git"), {}
    if kind == "scp":
        return "git@fakehost:project.git", fake_ssh
    if kind == "ssh":
        return f"ssh://git@fakehost{upstream.served}/project.git", fake_ssh
    raise AssertionError(kind)


RUN_SCHEMA = json.loads((REPO / "schemas" / "run.schema.json").read_text())
TRANSPORTS = ["file", "daemon", "daemon-no-suffix", "http", "scp", "ssh"]


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_every_transport_with_tag_and_subdir(
    mlproj, upstream, git_daemon, http_git, fake_ssh, kind, cache_dir
):
    url, env = transport_url(kind, upstream, git_daemon, http_git, fake_ssh)
    result = mlproj("run", f"{url}#sub", "-v", "v1", "-P", "word=hi", **env)
    shown = run_json(result)
    assert shown == {"cwd": shown["cwd"], "argv": ["hi"], "version": "one"}
    assert shown["cwd"].startswith(str(cache_dir / "work"))
    assert shown["cwd"].endswith("/sub")
    run = only_run(mlproj)
    assert run["status"] == "FINISHED"
    assert run["source"]["uri"] == url
    assert run["source"]["version"] == "v1"
    assert run["source"]["commit"] == upstream.commits["one"]  # the annotated tag, peeled
    assert run["source"]["subdir"] == "sub"
    assert run["source"]["dirty"] is False
    details = run["source"]["details"]
    assert details["tag"] == "v1"
    assert details["remote"] == url
    assert details["kind"] == "git"
    assert details["fetch"] == "cloned"
    assert "source " in result.stderr  # the source line: what code runs
    jsonschema.validate(run, RUN_SCHEMA)
    assert list((cache_dir / "work").iterdir()) == []  # the private checkout is gone


@pytest.mark.parametrize(
    ("version", "expected", "key"),
    [
        (None, "two", "branch"),
        ("main", "two", "branch"),
        ("dev", "dev", "branch"),
        ("v2", "two", "tag"),
    ],
)
def test_version_kinds_over_git_daemon(mlproj, upstream, git_daemon, version, expected, key):
    args = ["-v", version] if version else []
    shown = run_json(mlproj("run", git_daemon.url("project.git") + "#sub", *args))
    assert shown["version"] == expected
    details = only_run(mlproj)["source"]["details"]
    assert details[key] == (version or "main")


def test_full_and_abbreviated_commits(mlproj, upstream, git_daemon):
    url = git_daemon.url("project.git") + "#sub"
    full = upstream.commits["one"]
    assert run_json(mlproj("run", url, "-v", full))["version"] == "one"
    assert run_json(mlproj("run", url, "-v", full[:8]))["version"] == "one"
    runs = mlproj("runs", "list", "--json").json()
    assert {r["source"]["commit"] for r in runs} == {full}


def test_cache_hit_makes_no_network_call(mlproj, upstream, git_daemon, http_git, cache_dir):
    http = http_git()
    url = http.url("project.git") + "#sub"
    assert run_json(mlproj("run", url, "-v", "v1"))["version"] == "one"
    first = len(http.requests)
    assert first > 0
    again = mlproj("run", url, "-v", "v1")
    assert run_json(again)["version"] == "one"
    assert len(http.requests) == first  # not one request: the tag was cached
    assert mlproj("runs", "list", "--json").json()[0]["source"]["details"]["fetch"] == "cached"
    mirrors = list((cache_dir / "git").iterdir())
    assert len(mirrors) == 1


def test_a_branch_is_fetched_and_only_new_objects_come(mlproj, upstream, git_daemon, cache_dir):
    url = git_daemon.url("project.git") + "#sub"
    assert run_json(mlproj("run", url, "-v", "dev"))["version"] == "dev"
    git("checkout", "-q", "dev", cwd=upstream.work)
    upstream.commit({"sub/VERSION": "dev two\n"}, "dev two")
    upstream.publish()
    assert run_json(mlproj("run", url, "-v", "dev"))["version"] == "dev two"
    runs = mlproj("runs", "list", "--json").json()
    assert runs[0]["source"]["commit"] == upstream.commits["dev two"]
    assert runs[0]["source"]["details"]["fetch"] == "fetched"
    # A tag created upstream later is found by a fetch after the cache misses it.
    git("tag", "v3", cwd=upstream.work)
    upstream.publish()
    assert run_json(mlproj("run", url, "-v", "v3"))["version"] == "dev two"


def test_failed_fetch_falls_back_to_the_cached_commit(mlproj, upstream, git_daemon):
    url = git_daemon.url("project.git") + "#sub"
    assert run_json(mlproj("run", url, "-v", "dev"))["version"] == "dev"
    git_daemon.stop()
    result = mlproj("run", url, "-v", "dev")
    assert run_json(result)["version"] == "dev"
    assert "warning: cannot fetch" in result.stderr
    assert "using the cached copy" in result.stderr
    fetch = mlproj("runs", "list", "--json").json()[0]["source"]["details"]["fetch"]
    assert fetch.startswith("fetch failed, used the cache")


def test_offline(mlproj, upstream, git_daemon):
    url = git_daemon.url("project.git") + "#sub"
    missing = mlproj("run", url, "--offline")
    assert missing.returncode == 114
    assert "not in the cache" in missing.stderr
    assert run_json(mlproj("run", url, "-v", "v1"))["version"] == "one"
    git_daemon.stop()  # offline must not even try the network
    assert run_json(mlproj("run", url, "--offline", "-v", "v1"))["version"] == "one"
    assert run_json(mlproj("run", url, "--offline"))["version"] == "two"  # cached main
    assert run_json(mlproj("run", url, "--offline", "-v", "dev"))["version"] == "dev"
    unknown = mlproj("run", url, "--offline", "-v", "v7")
    assert unknown.returncode == 114
    assert "--offline" in unknown.stderr
    fetches = [r["source"]["details"]["fetch"] for r in mlproj("runs", "list", "--json").json()]
    assert fetches == ["offline", "offline", "offline", "cloned"]


def test_unreachable_remote(mlproj, tmp_path):
    from tests.sources.conftest import free_port

    result = mlproj("run", f"git://127.0.0.1:{free_port()}/nothing.git")
    assert result.returncode == 114
    assert "cannot clone" in result.stderr
    assert "Traceback" not in result.stderr
    assert mlproj("runs", "list", "--json").json() == []


def test_unknown_version_of_a_remote(mlproj, upstream, git_daemon, cache_dir):
    result = mlproj("run", git_daemon.url("project.git") + "#sub", "-v", "nope")
    assert result.returncode == 114
    assert "no branch, tag or commit 'nope'" in result.stderr
    assert "branches: dev, main" in result.stderr
    assert mlproj("runs", "list", "--json").json() == []
    assert list((cache_dir / "work").iterdir()) == []


@pytest.mark.parametrize(
    ("sub", "needle"),
    [("nope", "no folder 'nope' in"), ("docs", "no MLproject file and no .py or .sh file")],
)
def test_subdir_errors_of_a_remote(mlproj, upstream, git_daemon, sub, needle):
    upstream.commit({"docs/readme.txt": "words\n"}, "docs")
    upstream.publish()
    result = mlproj("run", git_daemon.url("project.git") + f"#{sub}")
    assert result.returncode == 114
    assert needle in result.stderr
    assert mlproj("runs", "list", "--json").json() == []


def test_symlink_subdir_cannot_leave_the_checkout(mlproj, upstream, git_daemon):
    (upstream.work / "escape").symlink_to("/etc")
    upstream.commit({}, "symlink")
    upstream.publish()
    result = mlproj("run", git_daemon.url("project.git") + "#escape")
    assert result.returncode == 114
    assert "leads out of" in result.stderr


def test_a_run_that_writes_into_its_checkout_keeps_it(mlproj, upstream, git_daemon, cache_dir):
    upstream.commit(
        {
            "sub/MLproject": "entry_points:\n  main:\n    command: python write.py\n",
            "sub/write.py": "open('model.txt', 'w').write('trained')\n",
        },
        "writer",
    )
    upstream.publish()
    result = mlproj("run", git_daemon.url("project.git") + "#sub")
    assert result.returncode == 0, result.stderr
    run = only_run(mlproj)
    kept = Path(run["tags"]["mlproj.source.workdir"])
    assert (kept / "sub" / "model.txt").read_text() == "trained"
    assert "kept at" in result.stderr
    assert kept.parent == cache_dir / "work"


def test_submodules_are_checked_out_at_their_recorded_commit(mlproj, upstream, git_daemon):
    lib = upstream.served.parent / "lib-work"
    git("init", "-q", "-b", "main", str(lib))
    (lib / "data.txt").write_text("from the submodule\n")
    git("add", "-A", cwd=lib)
    git("commit", "-q", "-m", "lib", cwd=lib)
    lib_commit = git("rev-parse", "HEAD", cwd=lib)
    git("clone", "-q", "--bare", str(lib), str(upstream.served / "lib.git"))
    git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(upstream.served / "lib.git"),
        "sub/lib",
        cwd=upstream.work,
    )
    # A relative URL, as projects on a forge use: resolved against the superproject's URL.
    git("config", "-f", ".gitmodules", "submodule.sub/lib.url", "../lib.git", cwd=upstream.work)
    upstream.commit(
        {
            "sub/MLproject": "entry_points:\n  main:\n    command: python read.py\n",
            "sub/read.py": "print(open('lib/data.txt').read().strip())\n",
        },
        "with submodule",
    )
    upstream.publish()
    # Move the submodule upstream: the run must still get the commit the superproject records.
    (lib / "data.txt").write_text("newer\n")
    git("commit", "-q", "-am", "newer", cwd=lib)
    git("push", "-q", str(upstream.served / "lib.git"), "main", cwd=lib)
    result = mlproj("run", git_daemon.url("project.git") + "#sub")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from the submodule"
    details = only_run(mlproj)["source"]["details"]
    assert details["submodule.sub/lib"] == lib_commit
    shown = mlproj("runs", "show", only_run(mlproj)["run_id"])
    assert f"submodule    sub/lib @ {lib_commit}" in shown.stdout


@pytest.mark.slow
def test_concurrent_runs_of_a_new_url_share_one_mirror(
    mlproj, upstream, git_daemon, cache_dir, store_dir, tmp_path
):
    from tests.conftest import mlproj_env

    env = mlproj_env(store_dir)
    env["MLPROJ_CACHE_DIR"] = str(cache_dir)
    url = git_daemon.url("project.git") + "#sub"
    procs = [
        subprocess.Popen(
            ["python3", "-m", "mlproj", "run", url, "-v", version, "-q"],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version in ("v1", "v2", "dev", "main", "v1", "dev")
    ]
    outputs = [proc.communicate(timeout=180) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), outputs
    runs = mlproj("runs", "list", "--json").json()
    assert len(runs) == len(procs)
    assert all(r["status"] == "FINISHED" for r in runs)
    mirrors = [p for p in (cache_dir / "git").iterdir() if not p.name.startswith(".")]
    assert len(mirrors) == 1
    assert [p.name for p in mirrors[0].iterdir() if p.name.startswith(".trash")] == []
    fsck = subprocess.run(
        ["git", "--git-dir", str(mirrors[0] / "mirror.git"), "fsck", "--strict"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert fsck.returncode == 0, fsck.stderr
    fetches = sorted(r["source"]["details"]["fetch"] for r in runs)
    assert fetches.count("cloned") == 1
    assert list((cache_dir / "work").iterdir()) == []


def test_a_moved_tag_is_seen_once_a_fetch_brings_it(mlproj, upstream, git_daemon):
    url = git_daemon.url("project.git") + "#sub"
    assert run_json(mlproj("run", url, "-v", "v1"))["version"] == "one"
    git("tag", "-f", "-a", "v1", "-m", "moved", "main", cwd=upstream.work)
    upstream.publish()
    # Tags are taken as immutable: a cached tag is used without asking the remote...
    assert run_json(mlproj("run", url, "-v", "v1"))["version"] == "one"
    # ...until a fetch (any branch run of the URL) updates it; then the new target is used.
    assert run_json(mlproj("run", url, "-v", "main"))["version"] == "two"
    assert run_json(mlproj("run", url, "-v", "v1"))["version"] == "two"


def test_unreachable_remote_and_a_version_the_cache_lacks(mlproj, upstream, git_daemon):
    url = git_daemon.url("project.git") + "#sub"
    assert run_json(mlproj("run", url, "-v", "v1"))["version"] == "one"
    git_daemon.stop()
    result = mlproj("run", url, "-v", "v9")
    assert result.returncode == 114
    assert "cannot fetch" in result.stderr
    assert "'v9' is not in the cache" in result.stderr
    assert "warning" not in result.stderr
    assert len(mlproj("runs", "list", "--json").json()) == 1


def test_store_failure_after_resolution_leaves_no_run_and_no_checkout(
    mlproj, upstream, store_dir, cache_dir
):
    store_dir.mkdir()
    (store_dir / "mlproj.db").write_bytes(b"not a database" * 100)
    result = mlproj("run", upstream.bare.as_uri() + "#sub", "-v", "v1")
    assert result.returncode == 116
    assert "Traceback" not in result.stderr
    assert list((cache_dir / "work").iterdir()) == []
