"""Parsing and checking git URLs: the refused transports and schemes, and credentials split off.

Apart from :mod:`mlproj.sources.uri` because only git sources need it: ``mlproj run <folder>``
never loads it (every git URL form has a colon, which :func:`mlproj.sources.uri.parse_source`
checks first). Like ``uri.py`` it is pure: no I/O, no git. Credentials found in URLs are split
off here, so that only the stripped URL travels on (see :class:`Credentials`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlproj.errors import SourceError
from mlproj.sources.uri import redact_url

#: URL schemes mlproj hands to git. Anything else could start a remote helper program.
ALLOWED_SCHEMES = ("https", "http", "ssh", "git", "file", "git+ssh", "ssh+git")
#: Protocols git itself may use (GIT_ALLOW_PROTOCOL), submodules included.
ALLOWED_PROTOCOLS = "file:git:http:https:ssh"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_TRANSPORT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9+.-]*)::")
_SCP = re.compile(r"^([^@/\s]+)@([^/:\s]+):(.*)$")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password (or token) taken out of an http(s) URL.

    They reach git only as an ``Authorization`` header in the environment of its process (see
    ``gitcli.git_env``): never in an argument, a config file, the store or a message.
    """

    username: str = field(repr=False)
    password: str = field(repr=False)

    def header(self) -> str:
        """The HTTP Basic ``Authorization`` header git sends for these credentials."""
        import base64  # lazy, like hashlib below: only URLs with credentials need it

        raw = f"{self.username}:{self.password}".encode()
        return "Authorization: Basic " + base64.b64encode(raw).decode()

    def secrets(self) -> tuple[str, ...]:
        """Every form in which these credentials could show up in text (to redact them)."""
        # With no password the user name is the token (https://TOKEN@github.com/...).
        forms = {self.password or self.username, self.header().split()[-1]}
        return tuple(sorted((s for s in forms if s), key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class GitUrl:
    """A git URL mlproj accepted, credentials stripped (``url`` is what git and the store see)."""

    url: str
    scheme: str
    host: str
    path: str
    credentials: Credentials | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """A readable slug of the repository name, for folder names."""
        last = self.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
        return _SLUG.sub("-", last)[:40].strip("-") or "repo"

    @property
    def key(self) -> str:
        """The cache key: one mirror per URL (credentials and letter case of the host aside)."""
        import hashlib  # lazy: loading OpenSSL costs ~4 ms that a cache hit's plan may not need

        normal = f"{self.scheme}://{self.host.lower()}/{self.path.strip('/')}"
        digest = hashlib.sha256(normal.encode()).hexdigest()[:16]
        return f"{self.name}-{digest}"

    @property
    def origin(self) -> str:
        """``scheme://host`` for http(s) URLs: where the credentials may be sent."""
        return f"{self.scheme}://{self.host}/"


def parse_git_url(text: str) -> GitUrl | None:
    """The git URL in ``text``, or None when it is a local path.

    Raises:
        SourceError: A transport or scheme that could run commands, or an option in disguise.
    """
    transport = _TRANSPORT.match(text)
    if transport:
        raise SourceError(
            f"source '{redact_url(text)}': the '{transport.group(1)}::' transport is refused "
            "(it runs a program); use an https://, ssh:// or file:// URL"
        )
    scheme = _SCHEME.match(text)
    if scheme:
        return _parse_scheme_url(text, scheme.group(1).lower())
    scp = _SCP.match(text)
    if scp:
        user, host, path = scp.groups()
        user = user.split(":", 1)[0]  # ssh takes no password in a URL: never keep one
        _refuse_option(text, user, host, path)
        if not path:
            raise SourceError(f"source '{user}@{host}:': no repository path after ':'")
        return GitUrl(url=f"{user}@{host}:{path}", scheme="ssh", host=f"{user}@{host}", path=path)
    return None


def _parse_scheme_url(text: str, scheme: str) -> GitUrl:
    from urllib.parse import unquote, urlsplit

    if scheme not in ALLOWED_SCHEMES:
        raise SourceError(
            f"source '{redact_url(text)}': URL scheme '{scheme}' is refused "
            f"(allowed: {', '.join(ALLOWED_SCHEMES)})"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise SourceError(f"source '{redact_url(text)}': malformed URL ({exc})") from None
    host = parts.hostname or ""
    if scheme != "file" and not host:
        raise SourceError(f"source '{redact_url(text)}': no host in the URL")
    if not parts.path.strip("/"):
        raise SourceError(f"source '{redact_url(text)}': no repository path in the URL")
    user = unquote(parts.username) if parts.username else None
    _refuse_option(text, user or "", host, parts.path.lstrip("/"))
    netloc_host = host if port is None else f"{host}:{port}"
    if ":" in host:  # IPv6 literal
        netloc_host = f"[{host}]" + ("" if port is None else f":{port}")
    credentials = None
    if scheme in ("http", "https") and parts.username is not None:
        credentials = Credentials(user or "", unquote(parts.password or ""))
        netloc = netloc_host  # the whole userinfo may be a token (https://TOKEN@github.com)
    elif parts.username is not None:  # ssh, git: keep the user name, drop any password
        netloc = f"{parts.username}@{netloc_host}"
    else:
        netloc = netloc_host
    _refuse_query_secret(text, parts.query)
    query = f"?{parts.query}" if parts.query else ""
    url = f"{scheme}://{netloc}{parts.path}{query}"
    return GitUrl(url=url, scheme=scheme, host=netloc, path=parts.path, credentials=credentials)


#: Query parameter names that carry a secret (``?private_token=...``, ``?sig=...``).
_SECRET_WORDS = ("token", "auth", "key", "sig", "pass", "secret", "credential")


def _refuse_query_secret(text: str, query: str) -> None:
    """Refuse a credential in the query string: it would be stored with the run and in the cache."""
    for pair in query.split("&") if query else ():
        name = pair.split("=", 1)[0].lower()
        if any(word in name for word in _SECRET_WORDS):
            shown = redact_url(text).split("?", 1)[0]
            raise SourceError(
                f"source '{shown}?{name}=...': a credential in the URL's query string would be "
                "recorded with the run; give it as https://TOKEN@host/... (sent as a header, "
                "never stored) or through a git credential helper"
            )


def _refuse_option(text: str, user: str, host: str, path: str) -> None:
    # ssh and git read "-oProxyCommand=..." as an option wherever it lands on their command line.
    for part, what in ((user, "user"), (host, "host"), (path, "path")):
        if part.startswith("-"):
            raise SourceError(
                f"source '{redact_url(text)}': the {what} '{part}' starts with '-' and would be "
                "read as an option; refused"
            )


def redact(text: str, credentials: Credentials | None) -> str:
    """``text`` with URL userinfo and every form of ``credentials`` removed."""
    text = redact_url(text)
    if credentials is not None:
        for secret in credentials.secrets():
            text = text.replace(secret, "***")
    return text


def join_submodule_url(parent: str, url: str) -> str:
    """Resolve a submodule URL from ``.gitmodules`` against the superproject's URL, as git does.

    ``./x`` and ``../x`` are relative to the parent repository's URL; anything else is as is.
    """
    if not url.startswith(("./", "../")):
        return url
    from urllib.parse import urlsplit

    scp = None if _SCHEME.match(parent) else _SCP.match(parent)
    prefix, path = ("", parent)
    if _SCHEME.match(parent):
        parts = urlsplit(parent)
        prefix, path = f"{parts.scheme}://{parts.netloc}", parts.path
    elif scp:
        prefix, path = f"{scp.group(1)}@{scp.group(2)}:", scp.group(3)
    absolute = path.startswith("/")
    path = path.rstrip("/")
    rest = url
    while True:
        if rest.startswith("./"):
            rest = rest[2:]
        elif rest.startswith("../"):
            rest = rest[3:]
            path = path.rsplit("/", 1)[0] if "/" in path else ""
        else:
            break
    joined = f"{path}/{rest}" if path or absolute else rest
    return prefix + joined
