"""Following bash's quoting through a template that needs a shell (see :mod:`mlproj.spec.shell`).

:func:`scan` finds the quoting context of each placeholder (what
:func:`~mlproj.spec.shell.quote_in` quotes for) and the syntax no quoting can make safe. Apart
from ``shell.py`` because only templates that run as ``bash -c`` text need it: a template
without shell syntax never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mlproj.spec.shell import (
    ANSI,
    BACKTICK,
    CMD,
    CODE,
    COMMENT,
    DOUBLE,
    HEREDOC,
    PAREN,
    SINGLE,
    Piece,
)


@dataclass(slots=True)
class Scan:
    """What :func:`scan` found: the context stack at each placeholder, and syntax problems."""

    contexts: list[tuple[str, ...]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def scan(pieces: Sequence[Piece], names: Sequence[str]) -> Scan:
    """Follow bash's quoting through the template's literal text.

    Args:
        pieces: The template as literal text and placeholders.
        names: The placeholder names, in order (for messages).
    """
    items: list[Piece] = []
    for piece in pieces:
        items.extend([None] if piece is None else list(piece))
    scanner = _Scanner(items)
    result = Scan()
    for index, item in enumerate(items):
        if item is None:
            name = names[len(result.contexts)]
            result.contexts.append(tuple(scanner.stack))
            result.problems.extend(scanner.placeholder_problems(index, name))
        else:
            scanner.step(index)
    result.problems.extend(scanner.end_problems())
    return result


class _Scanner:
    """A small model of bash's lexer: enough to know the quoting context of a placeholder."""

    def __init__(self, items: Sequence[Piece]) -> None:
        self.items = items
        self.stack: list[str] = [CODE]
        self.skip = 0
        self.escaped = -1  # index of the last character taken literally after a backslash
        self.heredoc_pending = False

    def _at(self, index: int) -> Piece:
        return self.items[index] if 0 <= index < len(self.items) else ""

    def step(self, index: int) -> None:
        if self.skip:
            self.skip -= 1
            self.escaped = index
            return
        char, top = self.items[index], self.stack[-1]
        if top == COMMENT:
            if char == "\n":
                self.stack.pop()
        elif top == SINGLE:
            if char == "'":
                self.stack.pop()
        elif top in (DOUBLE, ANSI):
            self._step_quoted(char, index, top)
        elif top != HEREDOC:
            self._step_code(char, index)

    def _step_quoted(self, char: Piece, index: int, top: str) -> None:
        closing = '"' if top == DOUBLE else "'"
        if char == "\\":
            self.skip = 1
        elif char == closing:
            self.stack.pop()
        elif top == DOUBLE and char == "$" and self._at(index + 1) == "(":
            self.stack.append(CMD)
            self.skip = 1
        elif top == DOUBLE and char == "`":
            self.stack.append(BACKTICK)

    def _step_code(self, char: Piece, index: int) -> None:
        nxt, top = self._at(index + 1), self.stack[-1]
        if char == "\\":
            self.skip = 1
        elif char in ("'", '"'):
            self.stack.append(SINGLE if char == "'" else DOUBLE)
        elif char == "$" and nxt in ("'", "("):
            self.stack.append(ANSI if nxt == "'" else CMD)
            self.skip = 1
        elif char == "(":
            self.stack.append(PAREN)
        elif (char == ")" and top in (CMD, PAREN)) or (char == "`" and top == BACKTICK):
            self.stack.pop()
        elif char == "`":
            self.stack.append(BACKTICK)
        elif char == "#" and self._at(index - 1) in ("", " ", "\t", "\n", ";", "&", "|", "(", ")"):
            self.stack.append(COMMENT)
        elif char == "<" and nxt == "<" and "<" not in (self._at(index - 1), self._at(index + 2)):
            self.heredoc_pending = True
        elif char == "\n" and self.heredoc_pending:
            # Here-document bodies expand $(...) but treat quotes as text: no quoting protects a
            # value there, so placeholders after this point are refused (see placeholder_problems).
            self.stack.append(HEREDOC)

    def placeholder_problems(self, index: int, name: str) -> list[str]:
        problems = []
        if HEREDOC in self.stack:
            problems.append(
                f"placeholder {{{name}}} is inside a here-document, where no quoting can protect "
                "its value; pass it as an argument instead"
            )
        dollar = self._at(index - 1) == "$" and self.escaped != index - 1
        if dollar and self.stack[-1] not in (SINGLE, ANSI, COMMENT):
            problems.append(
                f"placeholder {{{name}}} follows '$', so the shell would expand the value as a "
                "variable name; put the value in a variable of its own or drop the '$'"
            )
        return problems

    def end_problems(self) -> list[str]:
        names = {SINGLE: "' quote", DOUBLE: '" quote', ANSI: "$' quote", BACKTICK: "` backtick"}
        names[CMD] = "$( substitution"
        return [f"unclosed {names[ctx]} in the command" for ctx in self.stack if ctx in names]
