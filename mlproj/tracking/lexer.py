"""The tokenizer of the ``--filter`` and ``--sort`` languages (see :mod:`mlproj.tracking.filters`).

Identifiers keep their prefix apart from their key (``params`` and ``batch-size`` for
params.`batch-size`), so quoting a key never changes how the prefix is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlproj.errors import UsageError

_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})
_COMPARISONS = frozenset({"=", "==", "!=", "<", "<=", ">", ">="})
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Unquoted keys may hold dots, dashes, slashes and colons: there is no arithmetic to confuse.
_BARE_KEY = re.compile(r"[A-Za-z0-9_.\-/:]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``kind`` is ident, keyword, string, number, op, punct or end."""

    kind: str
    value: str
    column: int
    prefix: str | None = None  # for idents: "params" in params.alpha, None for bare attributes


def tokenize(text: str, what: str) -> list[Token]:
    """Split ``text`` into tokens (the last one has kind ``end``)."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        token, pos = _next_token(text, pos, what)
        tokens.append(token)
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _next_token(text: str, pos: int, what: str) -> tuple[Token, int]:
    char = text[pos]
    if char in "(),=!<>":
        return _symbol(text, pos, what)
    if char in "'\"":
        value, end = _quoted(text, pos, what)
        return Token("string", value, pos + 1), end
    number = _NUMBER.match(text, pos)
    if number:
        return Token("number", number.group(), pos + 1), number.end()
    return _word(text, pos, what)


def _symbol(text: str, pos: int, what: str) -> tuple[Token, int]:
    char = text[pos]
    if char in "(),":
        return Token("punct", char, pos + 1), pos + 1
    op = text[pos : pos + 2] if text[pos : pos + 2] in _COMPARISONS else char
    if op not in _COMPARISONS:
        raise UsageError(f"{what}: unknown operator '{op}' at column {pos + 1} (use !=)")
    return Token("op", op, pos + 1), pos + len(op)


def _word(text: str, pos: int, what: str) -> tuple[Token, int]:
    word = _WORD.match(text, pos)
    if word is None:
        raise UsageError(f"{what}: unexpected character '{text[pos]}' at column {pos + 1}")
    end = word.end()
    if end < len(text) and text[end] == ".":
        key, end = _key(text, end + 1, what)
        return Token("ident", key, pos + 1, prefix=word.group()), end
    if word.group().upper() in _KEYWORDS:
        return Token("keyword", word.group().upper(), pos + 1), end
    return Token("ident", word.group(), pos + 1), end


def _quoted(text: str, pos: int, what: str) -> tuple[str, int]:
    """The content of the quoted text starting at ``pos`` (a doubled quote stands for one)."""
    quote, index = text[pos], pos + 1
    chars: list[str] = []
    while index < len(text):
        if text[index] == quote:
            if text[index + 1 : index + 2] != quote:
                return "".join(chars), index + 1
            index += 1
        chars.append(text[index])
        index += 1
    raise UsageError(f"{what}: unterminated {quote} quote starting at column {pos + 1}")


def _key(text: str, pos: int, what: str) -> tuple[str, int]:
    if pos < len(text) and text[pos] in "`\"'":
        key, end = _quoted(text, pos, what)
    else:
        match = _BARE_KEY.match(text, pos)
        key, end = (match.group(), match.end()) if match else ("", pos)
    if not key:
        raise UsageError(
            f"{what}: expected a key after '{text[:pos]}' at column {pos + 1} "
            "(quote keys with special characters: params.`batch size`)"
        )
    return key, end
