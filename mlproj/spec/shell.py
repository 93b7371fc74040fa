"""How a command template relates to the shell: does it need one, and how to quote a value in it.

MLflow joins every command into ``bash -c`` text with ``shlex.quote``d values. That is wrong in
two places this module fixes: a value inside double quotes (``"{msg}"``) is not protected by
single quotes there (``$(...)`` still runs), and a value inside single quotes breaks out of them.
So the quoting depends on where the placeholder sits; :func:`mlproj.spec.shellscan.scan` works
that out from the template's literal text, and :func:`quote_in` quotes for it.

Templates are handled as pieces: literal text (``str``) and placeholders (``None``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

Piece = str | None

# Characters after which bash does more than split words and remove quotes. Conservative on
# purpose: a template that needs no shell runs without one, and with one it runs as in MLflow,
# so a false "needs a shell" costs nothing but a bash process.
_SHELL_CHARS = frozenset("|&;<>()$`\\\n\r*?[]{}~#")
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
    return not words or _is_assignment(words[0]) or words[0] in _SHELL_WORDS


def _is_assignment(word: str) -> bool:
    """``NAME=...`` or ``NAME+=...``: in command position bash sets a variable instead."""
    name, equals, _ = word.partition("=")
    name = name.removesuffix("+")
    return bool(equals) and name.isascii() and name.isidentifier()  # [A-Za-z_][A-Za-z0-9_]*


def skeleton(pieces: Sequence[Piece]) -> str:
    """The template text with :data:`MARK` in place of each placeholder."""
    return "".join(MARK if piece is None else piece for piece in pieces)


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
