"""Every refusal, proven against real git: no transport or option may run a program, and no
credential given in a URL may reach the store, the logs, --json output or an error message."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from mlproj.sources import gitcli
from mlproj.sources.giturl import GitUrl
from tests.sources.conftest import free_port, git, only_run


def assert_refused(mlproj, result, marker: Path, *needles: str) -> None:
    assert result.returncode == 114, result.stderr
    assert "mlproj: error: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert not marker.exists(), "a refused source ran a program"
    assert mlproj("runs", "list", "--json").json() == []


@pytest.mark.parametrize(
    ("template", "needle"),
    [
        ("ext::sh -c touch% {marker}", "'ext::' transport is refused"),
        ("ext::sh -c 'touch {marker}'#sub", "'ext::' transport is refused"),
        ("fd::7", "'fd::' transport is refused"),
        ("transport::{marker}", "'transport::' transport is refused"),
        ("--upload-pack=touch {marker}", "starts with '-'"),
        ("-oProxyCommand=touch {marker}", "starts with '-'"),
        ("ssh://-oProxyCommand=touch%20{marker}/repo", "starts with '-'"),
        ("-oProxyCommand=touch {marker}@host:repo", "starts with '-'"),
        ("git@host:--upload-pack=touch {marker}", "starts with '-'"),
        ("ftp://127.0.0.1/repo", "scheme 'ftp' is refused"),
    ],
)
def test_command_running_uris_are_refused(mlproj, tmp_path, template, needle):
    marker = tmp_path / "pwned"
    result = mlproj("run", "--", template.format(marker=marker))
    assert_refused(mlproj, result, marker, needle)


def test_version_that_looks_like_an_option_is_refused(mlproj, upstream, tmp_path):
    marker = tmp_path / "pwned"
    url = upstream.bare.as_uri()
    result = mlproj("run", url, "-v", f"--upload-pack=touch {marker}")
    assert_refused(mlproj, result, marker, "not a branch, tag or commit name")


def test_git_itself_refuses_ext_even_if_the_parser_were_bypassed(tmp_path):
    # Defence in depth: the environment of every git call allows only known protocols.
    marker = tmp_path / "pwned"
    url = GitUrl(url=f"ext::sh -c touch% {marker}", scheme="ext", host="", path="x")
    done = gitcli.clone_mirror(url, tmp_path / "mirror.git")
    assert not done.ok
    assert not marker.exists()
    assert "ext" in done.stderr


@pytest.mark.parametrize(
    ("sub_url", "needle"),
    [
        ("ext::sh -c touch% {marker}", "'ext::' transport is refused"),
        ("--upload-pack=touch {marker}", "starts with '-'"),
        ("hg://example.com/x", "scheme 'hg' is refused"),
    ],
)
def test_submodules_with_refused_urls(mlproj, upstream, git_daemon, tmp_path, sub_url, needle):
    marker = tmp_path / "pwned"
    # A gitlink and .gitmodules written by hand: git would refuse to add such a submodule.
    (upstream.work / "sub" / "evil").mkdir()  # an empty folder keeps the gitlink in `add -A`
    git(
        "update-index",
        "--add",
        "--cacheinfo",
        f"160000,{upstream.commits['one']},sub/evil",
        cwd=upstream.work,
    )
    (upstream.work / ".gitmodules").write_text(
        f'[submodule "evil"]\n\tpath = sub/evil\n\turl = {sub_url.format(marker=marker)}\n'
    )
    upstream.commit({}, "evil submodule")
    upstream.publish()
    result = mlproj("run", git_daemon.url("project.git") + "#sub")
    assert_refused(mlproj, result, marker, "submodule 'sub/evil'", needle)


TOKEN = "tok-S3CRET-4242"


def leaks(text: str | bytes) -> list[str]:
    """Which forms of the test credentials appear in ``text``."""
    forms = [TOKEN, base64.b64encode(f"alice:{TOKEN}".encode()).decode()]
    data = text.encode(errors="surrogateescape") if isinstance(text, str) else text
    return [form for form in forms if form.encode() in data]


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]


def test_credentials_work_and_never_leak(
    mlproj, upstream, http_git, store_dir, cache_dir, tmp_path
):
    http = http_git(auth=("alice", TOKEN))
    upstream.commit(
        {
            "sub/MLproject": "entry_points:\n  main:\n    command: python env.py\n",
            "sub/env.py": "import os\nprint(sorted(os.environ.items()))\n",
        },
        "prints its environment",
    )
    upstream.publish()
    url = http.url("project.git", f"alice:{TOKEN}") + "#sub"
    outputs = [mlproj("run", url), mlproj("run", url, "-v", "main")]
    assert [r.returncode for r in outputs] == [0, 0], outputs[0].stderr
    assert http.auth_seen, "git never sent the credentials"
    assert all(leaks(h) for h in http.auth_seen)  # the server did receive them
    run_id = mlproj("runs", "list", "--json").json()[0]["run_id"]
    shown = [
        mlproj("runs", "list", "--json"),
        mlproj("runs", "list"),
        mlproj("runs", "show", run_id),
        mlproj("runs", "show", run_id, "--json"),
        mlproj("runs", "logs", run_id),
        mlproj("cache", "list"),
        mlproj("cache", "list", "--json"),
    ]
    for result in [*outputs, *shown]:
        assert leaks(result.stdout) == [], (result.args, result.stdout)
        assert leaks(result.stderr) == [], (result.args, result.stderr)
    for path in files_under(store_dir) + files_under(cache_dir):
        assert leaks(path.read_bytes()) == [], path
    run = only_run_of(mlproj, run_id)
    assert run["source"]["uri"] == http.url("project.git")


def only_run_of(mlproj, run_id: str) -> dict:
    return mlproj("runs", "show", run_id, "--json").json()


def test_wrong_credentials_fail_without_showing_them(mlproj, upstream, http_git):
    http = http_git(auth=("alice", "the-right-one"))
    result = mlproj("run", http.url("project.git", f"alice:{TOKEN}") + "#sub")
    assert result.returncode == 114
    assert "cannot clone" in result.stderr
    assert leaks(result.stdout + result.stderr) == []
    assert mlproj("runs", "list", "--json").json() == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_unreachable_url_with_credentials_does_not_show_them(mlproj, scheme):
    url = f"{scheme}://alice:{TOKEN}@127.0.0.1:{free_port()}/org/repo.git#sub"
    result = mlproj("run", url)
    assert result.returncode == 114
    assert "cannot clone" in result.stderr
    assert f"{scheme}://127.0.0.1:" in result.stderr
    assert leaks(result.stdout + result.stderr) == []


def test_token_in_user_name_over_offline_error(mlproj):
    result = mlproj("run", f"https://{TOKEN}@127.0.0.1:1/org/repo.git", "--offline")
    assert result.returncode == 114
    assert leaks(result.stderr) == []


def test_git_environment_is_hardened():
    env = gitcli.git_env()
    assert env["GIT_ALLOW_PROTOCOL"] == "file:git:http:https:ssh"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "core.hooksPath=/dev/null" in gitcli.GIT_SAFE
    assert "core.fsmonitor=false" in gitcli.GIT_SAFE


def test_git_variables_of_a_calling_hook_do_not_redirect_mlproj(monkeypatch, tmp_path):
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "index"))
    env = gitcli.git_env()
    assert "GIT_DIR" not in env
    assert "GIT_INDEX_FILE" not in env
    assert os.environ["GIT_DIR"]  # only mlproj's git calls are cleaned


def test_mirror_stores_no_credentials_and_runs_no_hooks(mlproj, upstream, http_git, cache_dir):
    http = http_git(auth=("alice", TOKEN))
    url = http.url("project.git", f"alice:{TOKEN}") + "#sub"
    assert mlproj("run", url, "-v", "v1").returncode == 0
    mirror = next((cache_dir / "git").iterdir()) / "mirror.git"
    config = (mirror / "config").read_text()
    assert http.url("project.git") in config
    assert leaks(config) == []
    assert only_run(mlproj)["source"]["details"]["remote"] == http.url("project.git")


@pytest.mark.parametrize("path", ["../outside", "/etc", "sub/../../x", ".git/hooks", "link/x"])
def test_submodule_paths_cannot_leave_the_checkout(tmp_path, path):
    from mlproj.errors import SourceError
    from mlproj.sources.gitrepo import SubmoduleRef
    from mlproj.sources.remote import submodule_dest

    root = tmp_path / "checkout"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    (tmp_path / "outside" / "x").mkdir()
    with pytest.raises(SourceError, match=r"refused|unsafe path"):
        submodule_dest(root, SubmoduleRef("evil", path, "../x.git", "0" * 40), "parent")
