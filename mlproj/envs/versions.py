"""Python version requests as projects write them, and whether an interpreter satisfies one.

``python_env.yaml`` writes ``3.10`` or ``3.10.13``; conda YAML writes ``=3.10``, ``3.10.*``,
``>=3.9,<3.12`` or ``3.9|3.10``. A bare or ``=`` version is a prefix (``3.10`` accepts 3.10.13),
``==`` is exact, and comparisons pad missing parts with zeros.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

Version = tuple[int, ...]

_CLAUSE = re.compile(r"^(==|=|>=|<=|!=|~=|>|<)?\s*(\d+(?:\.\d+){0,2})(\.\*)?$")
_COMPARE: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True, slots=True)
class Clause:
    """One comparison: ``op`` is "prefix", "==", "!=", "~=" or an ordering operator."""

    op: str
    version: Version

    def accepts(self, found: Version) -> bool:
        if self.op == "prefix":
            return found[: len(self.version)] == self.version
        if self.op in ("==", "!="):
            equal = _pad(found) == _pad(self.version)
            return equal if self.op == "==" else not equal
        if self.op == "~=":  # compatible release: >= X.Y(.Z) and the same leading parts
            return _pad(found) >= _pad(self.version) and (
                found[: len(self.version) - 1] == self.version[:-1]
            )
        return _COMPARE[self.op](_pad(found), _pad(self.version))


@dataclass(frozen=True, slots=True)
class PythonRequest:
    """A parsed version request: any of the ``|`` alternatives, each an AND of clauses."""

    text: str
    alternatives: tuple[tuple[Clause, ...], ...]

    def accepts(self, found: Version) -> bool:
        """True when an interpreter of version ``found`` (major, minor, micro) satisfies it."""
        return any(all(c.accepts(found) for c in group) for group in self.alternatives)

    def could_accept(self, promised: Version) -> bool:
        """False when no interpreter of the version a name promises can satisfy the request.

        ``promised`` is (major, minor, micro) from a folder name like pyenv's ``3.12.1``, or
        (major, minor) from a command name like ``python3.12`` (any micro release of it).
        """
        if len(promised) >= 3:
            return self.accepts(promised[:3])
        return any(self.accepts((*promised[:2], micro)) for micro in range(100))

    @property
    def exact_minor(self) -> tuple[int, int] | None:
        """(major, minor) when the request names one minor version (to look for `pythonX.Y`)."""
        if len(self.alternatives) != 1 or len(self.alternatives[0]) != 1:
            return None
        clause = self.alternatives[0][0]
        if clause.op in ("prefix", "==") and len(clause.version) >= 2:
            return clause.version[0], clause.version[1]
        return None


def parse_python_request(text: str) -> PythonRequest:
    """Parse a version request.

    Raises:
        ValueError: The text is not a version request (the message says what is accepted).
    """
    alternatives = []
    for group in text.split("|"):
        clauses = [_clause(part.strip(), text) for part in group.split(",") if part.strip()]
        if not clauses:
            raise ValueError(_bad(text))
        alternatives.append(tuple(clauses))
    return PythonRequest(text=text.strip(), alternatives=tuple(alternatives))


def _clause(part: str, text: str) -> Clause:
    match = _CLAUSE.match(part)
    if match is None:
        raise ValueError(_bad(text))
    op, digits, star = match.groups()
    version = tuple(int(x) for x in digits.split("."))
    if op in (None, "=") or (op == "==" and star):
        return Clause("prefix", version)
    if star:  # `>=3.10.*` and the like mean nothing more than without the star
        raise ValueError(_bad(text))
    return Clause(op, version)


def _bad(text: str) -> str:
    return (
        f"python version {text!r} is not a version request "
        "(expected e.g. 3.10, 3.10.13, 3.10.*, >=3.9,<3.12)"
    )


def _pad(version: Version) -> Version:
    return (*version, 0, 0, 0)[:3]


def version_text(version: Version) -> str:
    """``(3, 11, 7)`` -> ``"3.11.7"``."""
    return ".".join(str(part) for part in version)
