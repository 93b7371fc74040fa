"""Parsing and checking what the user gives as a source: URI, ``#subdir`` and ``-v`` version.

Everything here is pure (no I/O, no git). With :mod:`mlproj.sources.giturl` (git URLs, loaded
only for them) it is where every refusal for safety lives: command-running transports
(``ext::``, ``fd::``, any ``<helper>::`` form), URLs and hosts that would be read as git or ssh
options, subdirs escaping the repository, version names git would read as revision expressions.

Patterns are compiled on first use (``re``'s own cache) rather than at import: a plain folder
run matches none of them.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, NamedTuple

from mlproj.errors import SourceError

if TYPE_CHECKING:
    from mlproj.sources.giturl import GitUrl

_CONTROL_CHARS = frozenset(map(chr, (*range(0x20), 0x7F)))
_HEX = r"^[0-9a-f]{4,64}$"
# git check-ref-format's rules, plus no leading "-" (an option) and no revision syntax.
_BAD_VERSION = r"[\x00-\x20~^:?*\[\\\x7f]|\.\.|@\{|//|^[-/.]|[/.]$|\.lock$|^@$"


class SourceUri(NamedTuple):
    """The URI as given, split into a local folder or a git URL and a subdir.

    ``base`` is the folder as typed, or the git URL without credentials. A named tuple rather
    than a frozen dataclass: :func:`parse_source`'s answer, which resolving the source reads and
    drops (the run records a :class:`~mlproj.sources.model.ResolvedSource`); creating a
    dataclass would add about 1 ms to every `mlproj run`.
    """

    base: str
    subdir: str | None
    git: GitUrl | None = None

    @property
    def display(self) -> str:
        """The URI as given, credentials stripped: safe to store and print."""
        shown = self.git.url if self.git else self.base
        return shown + (f"#{self.subdir}" if self.subdir else "")


def parse_source(uri: str) -> SourceUri:
    """Split ``uri`` into base and ``#subdir`` and decide whether the base is a git URL.

    Raises:
        SourceError: The URI uses a refused transport, smuggles an option, or has a bad subdir.
    """
    base, sep, sub = uri.partition("#")
    subdir = check_subdir(sub, redact_url(uri)) if sep else None
    if not _CONTROL_CHARS.isdisjoint(base):
        raise SourceError(
            f"source '{redact_url(base)!r}': control characters in the URI; type it again"
        )
    if base.startswith("-"):
        raise SourceError(
            f"source '{redact_url(base)}' starts with '-' and would be read as a git option; "
            "write a folder as ./" + base
        )
    git = _git_url(base)
    return SourceUri(base=git.url if git else base, subdir=subdir, git=git)


def check_subdir(sub: str, shown: str) -> str | None:
    """Normalize ``#subdir``; refuse one that is absolute or leaves the repository.

    Raises:
        SourceError: The subdir is absolute, goes above the root, or enters ``.git``.
    """
    if not _CONTROL_CHARS.isdisjoint(sub) or "\\" in sub:
        raise SourceError(f"source '{shown}': subdir {sub!r} has control characters or '\\'")
    if sub.startswith("/"):
        raise SourceError(
            f"source '{shown}': subdir '{sub}' is absolute; give it relative to the repository"
        )
    cleaned = posixpath.normpath(sub) if sub.strip("/") else "."
    if cleaned == "..":
        cleaned = "../"
    if cleaned.startswith("../"):
        raise SourceError(f"source '{shown}': subdir '{sub}' escapes the repository; refused")
    if cleaned.split("/", 1)[0] == ".git":
        raise SourceError(f"source '{shown}': subdir '{sub}' is inside .git; refused")
    return None if cleaned == "." else cleaned


def check_version(version: str) -> str:
    """Refuse a ``-v`` that is not a plain branch, tag or commit name.

    Raises:
        SourceError: The name has revision syntax (``~``, ``^``, ``@{``, ``..``) or starts
            with '-' (git would read it as an option).
    """
    if not version or re.search(_BAD_VERSION, version):
        raise SourceError(
            f"-v {version!r}: not a branch, tag or commit name (revision expressions like "
            "'HEAD~1' or names starting with '-' are refused); give a branch, tag or commit"
        )
    return version


def is_hex(version: str) -> bool:
    """True when ``version`` could be a full or abbreviated commit id."""
    return re.match(_HEX, version) is not None


def redact_url(text: str) -> str:
    """``text`` with the userinfo of every http(s) URL in it replaced (for messages)."""
    return re.sub(r"(?i)\b(https?://)[^/\s@]*@", r"\1", text)


def is_remote(uri: str) -> bool:
    """True when ``uri`` (``#subdir`` allowed) names a git URL rather than a local folder."""
    return _git_url(uri.partition("#")[0]) is not None


def _git_url(text: str) -> GitUrl | None:
    """The git URL in ``text`` (see :func:`~mlproj.sources.giturl.parse_git_url`), or None."""
    if ":" not in text:  # every git URL form has one (scheme://, user@host:path, helper::)
        return None
    from mlproj.sources.giturl import parse_git_url

    return parse_git_url(text)
