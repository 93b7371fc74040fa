"""How a command template relates to the shell: does it need one, and how to quote a value in it.

MLflow joins every command into ``bash -c`` text with ``shlex.quote``d values. That is wrong in
two places this module fixes: a value inside double quotes (``"{msg}"``) is not protected by
single quotes there (``$(...)`` still runs), and a value inside single quotes breaks out of them.
So the quoting depends on where the placeholder sits; :func:`scan` works that out from the
template's literal text, and :func:`quote_in` quotes for it.

Templates are handled as pieces: literal text (``str``) and placeholders (``None``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

Piece = str | None

# Characters after which bash does more than split words and remove quotes. Conservative on
# purpose: a template that needs no shell runs without one, and with one it runs as in MLflow,
# so a false "needs a shell" costs nothing but a bash process.
_SHELL_CHARS = frozenset("|&;<>()$`\\\n\r*?[]{}~#")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=")
# Words that mean something else (or only exist) in command position in bash: keywords and
# builtins (some also exist as programs, but behave differently).
_SHELL_WORD_LIST = """
    ! [[ ]] { } case do done elif else esac fi for function if in select then time until while
    . : alias bg bind break builtin caller cd command compgen complete compopt continue declare
    dirs disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill
    let local logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt
    source suspend test times trap true type typeset ulimit umask unalias unset wait"""
_SHELL_WORDS = frozenset(_SHELL_WORD_LIST.split())
#: Stands for a placeholder while a template is split into words without a shell.
MARK = "\ue000"

# Quoting contexts of the scanner.
CODE, CMD, PAREN, BACKTICK = "code", "$(", "(", "`"
SINGLE, DOUBLE, ANSI = "'", '"', "$'"
COMMENT, HEREDOC = "#", "<<"


def needs_shell(pieces: Sequence[Piece]) -> bool:
    """True when the template uses shell syntax, so it must run as ``bash -c`` text."""
    literal = "".join(piece for piece in pieces if piece is not None)
    if MARK in literal or any(char in _SHELL_CHARS for char in literal):
        return True
    try:
        words = shlex.split(skeleton(pieces))
    except ValueError:  # an unclosed quote: let bash report it as MLflow would
        return True
    return not words or bool(_ASSIGNMENT.match(words[0])) or words[0] in _SHELL_WORDS


def skeleton(pieces: Sequence[Piece]) -> str:
    """The template text with :data:`MARK` in place of each placeholder."""
    return "".join(MARK if piece is None else piece for piece in pieces)


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


def quote_in(context: Sequence[str], value: str) -> str:
    """Quote ``value`` so that bash reads it back as one literal word in ``context``.

    Args:
        context: The context stack at the placeholder, as found by :func:`scan`.
        value: The parameter value.
    """
    top = context[-1]
    if top == SINGLE:
        text = "'" + shlex.quote(value) + "'"  # close, quoted value, reopen
    elif top == ANSI:
        text = "'" + shlex.quote(value) + "$'"
    elif top == DOUBLE:
        text = re.sub(r'([\\$`"])', r"\\\1", value)
    elif top == COMMENT:
        # Nothing in a comment runs, but a newline would end it and run the rest.
        text = value.replace("\n", " ").replace("\r", " ")
    else:
        text = shlex.quote(value)
    # Inside `...`, bash removes one backslash before \ ` $ before running the text: add one
    # per enclosing backtick level so the inner shell sees the quoting above unchanged.
    for ctx in context:
        if ctx == BACKTICK:
            text = re.sub(r"([\\$`])", r"\\\1", text)
    return text
