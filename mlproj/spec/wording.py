"""Wording shared by every message that names what the user could have meant.

Apart from :mod:`mlproj.spec.problems` so that loading a valid project, which words no message,
never creates the :class:`~mlproj.spec.problems.Problem` record (a frozen dataclass costs about
1 ms of start-up to create).
"""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest option, or ``""`` when none is close."""
    import difflib  # only when reporting a problem

    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def quoted_list(names: Iterable[str]) -> str:
    """Return ``'a', 'b'`` for messages that name several things."""
    return ", ".join(repr(name) for name in names)
