"""URI parsing, credentials and every refusal, without any git (pure functions)."""

from __future__ import annotations

import pytest

from mlproj.errors import SourceError
from mlproj.sources.giturl import Credentials, join_submodule_url, parse_git_url, redact
from mlproj.sources.uri import check_subdir, check_version, parse_source, redact_url


@pytest.mark.parametrize(
    ("uri", "url", "subdir"),
    [
        ("https://github.com/org/repo", "https://github.com/org/repo", None),
        ("https://github.com/org/repo.git#a/b", "https://github.com/org/repo.git", "a/b"),
        ("http://127.0.0.1:8080/repo.git#sub/", "http://127.0.0.1:8080/repo.git", "sub"),
        ("ssh://git@host.example/org/repo.git", "ssh://git@host.example/org/repo.git", None),
        ("ssh://host.example:2222/org/repo", "ssh://host.example:2222/org/repo", None),
        ("git://127.0.0.1:9418/repo#x", "git://127.0.0.1:9418/repo", "x"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git", None),
        ("git@github.com:org/repo#deep/er/dir", "git@github.com:org/repo", "deep/er/dir"),
        ("file:///srv/git/repo.git#p", "file:///srv/git/repo.git", "p"),
        ("git+ssh://git@host/org/repo", "git+ssh://git@host/org/repo", None),
    ],
)
def test_git_url_forms(uri, url, subdir):
    parsed = parse_source(uri)
    assert parsed.git is not None
    assert parsed.git.url == url
    assert parsed.subdir == subdir


@pytest.mark.parametrize("uri", [".", "project", "../up/there#sub", "/abs/path", "a@b/c:d"])
def test_local_folders_are_not_git_urls(uri):
    assert parse_source(uri).git is None


def test_credentials_are_split_off_and_never_in_the_url():
    parsed = parse_source("https://alice:s3cr%40t@git.example.com/org/repo.git#sub")
    assert parsed.git is not None
    assert parsed.git.url == "https://git.example.com/org/repo.git"
    assert parsed.display == "https://git.example.com/org/repo.git#sub"
    creds = parsed.git.credentials
    assert creds == Credentials("alice", "s3cr@t")
    assert "s3cr" not in repr(parsed)
    assert creds.header().startswith("Authorization: Basic ")
    text = f"fatal: auth failed for s3cr@t with {creds.header()}"
    assert "s3cr@t" not in redact(text, creds)
    assert creds.header().split()[-1] not in redact(text, creds)


def test_token_as_user_name_is_a_secret_too():
    parsed = parse_source("https://ghp_abcdef123456@github.com/org/repo")
    assert parsed.git is not None
    assert parsed.git.url == "https://github.com/org/repo"
    assert "ghp_abcdef123456" not in redact("x ghp_abcdef123456 y", parsed.git.credentials)


def test_ssh_keeps_the_user_drops_a_password():
    parsed = parse_source("ssh://git:pw@host.example/org/repo")
    assert parsed.git is not None
    assert parsed.git.url == "ssh://git@host.example/org/repo"


def test_same_mirror_whatever_the_credentials():
    plain = parse_source("https://host.example/org/repo").git
    with_token = parse_source("https://u:t@HOST.example/org/repo").git
    other = parse_source("https://host.example/org/other").git
    assert plain is not None
    assert with_token is not None
    assert other is not None
    assert plain.key == with_token.key
    assert plain.key != other.key
    assert plain.key.startswith("repo-")


def test_redact_url_in_free_text():
    text = "cannot reach https://bob:tok123@example.com/x and http://tok@h/y"
    assert redact_url(text) == "cannot reach https://example.com/x and http://h/y"


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("ext::sh -c touch% /tmp/pwned", "ext::"),
        ("fd::3", "fd::"),
        ("helper::anything", "helper::"),
        ("--upload-pack=touch /tmp/pwned", "starts with '-'"),
        ("-oProxyCommand=touch /tmp/x", "starts with '-'"),
        ("ssh://-oProxyCommand=touch%20x/repo", "starts with '-'"),
        ("-user@host:repo", "starts with '-'"),
        ("git@-oProxyCommand=x:repo", "starts with '-'"),
        ("git@host:-repo", "starts with '-'"),
        ("hg://host/repo", "scheme 'hg'"),
        ("s3://bucket/repo", "scheme 's3'"),
        ("https:///no-host", "no host"),
        ("https://host.example", "no repository path"),
        ("https://host.example/repo\nrm", "control characters"),
    ],
)
def test_refused_uris(uri, needle):
    with pytest.raises(SourceError, match=None) as caught:
        parse_source(uri)
    assert needle in caught.value.message


@pytest.mark.parametrize(
    "sub",
    ["../x", "a/../../x", "/etc", "..", ".git", ".git/hooks", "a\\..\\b", "a\x00b"],
)
def test_refused_subdirs(sub):
    with pytest.raises(SourceError):
        check_subdir(sub, "src")


@pytest.mark.parametrize(("sub", "clean"), [("a/b/", "a/b"), ("./a", "a"), ("a/./b", "a/b")])
def test_subdir_normalised(sub, clean):
    assert check_subdir(sub, "src") == clean


@pytest.mark.parametrize(
    "version", ["HEAD~1", "main^", "a..b", "@{1}", "x:y", "-x", "--upload-pack=x", "a b", ""]
)
def test_refused_versions(version):
    with pytest.raises(SourceError, match="not a branch, tag or commit name"):
        check_version(version)


@pytest.mark.parametrize("version", ["main", "v1.2.3", "feature/x-y", "1a2b3c4", "release_2"])
def test_accepted_versions(version):
    assert check_version(version) == version


@pytest.mark.parametrize(
    ("parent", "url", "joined"),
    [
        ("https://h.example/org/app.git", "../lib.git", "https://h.example/org/lib.git"),
        ("https://h.example/org/app", "./sub", "https://h.example/org/app/sub"),
        ("git@h.example:org/app.git", "../lib.git", "git@h.example:org/lib.git"),
        ("file:///srv/app", "../../other/lib", "file:///other/lib"),
        ("https://h.example/org/app", "https://x.example/y", "https://x.example/y"),
    ],
)
def test_submodule_urls(parent, url, joined):
    assert join_submodule_url(parent, url) == joined


@pytest.mark.parametrize(
    "url",
    [
        "https://gitlab.example/org/repo.git?private_token=glpat-SECRET",
        "https://host.example/repo.git?ref=main&access_token=SECRET",
        "https://host.example/repo.git?sig=SECRET&se=2027",
        "https://host.example/repo.git?X-Amz-Credential=SECRET",
    ],
)
def test_a_credential_in_the_query_string_is_refused_without_showing_it(url):
    with pytest.raises(SourceError) as raised:
        parse_git_url(url)
    assert "SECRET" not in raised.value.message
    assert "would be recorded with the run" in raised.value.message


def test_a_harmless_query_string_is_kept():
    parsed = parse_git_url("https://host.example/repo.git?ref=main")
    assert parsed is not None
    assert parsed.url.endswith("?ref=main")
