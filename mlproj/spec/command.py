"""Entry-point commands: checking templates, and turning them into the argv to execute.

Templates use ``str.format``-style ``{name}`` placeholders, but ``str.format`` itself is never
called: ``{batch-size}`` is a valid placeholder name that ``format`` cannot look up, and format
specs or attribute access (``{alpha:.2f}``, ``{a.b}``) would change the user's value. Templates are
parsed with :class:`string.Formatter` and values inserted as text.

A template without shell syntax runs without a shell: it is split into words once and each value
is put inside its word, so no value is ever parsed again. A template with shell syntax runs as
``bash -c`` text, as in MLflow, with every value quoted for where it sits (see
:mod:`mlproj.spec.shell`).
"""

from __future__ import annotations

import shlex
import string
from collections.abc import Sequence
from pathlib import Path

from mlproj.errors import ProjectError
from mlproj.spec.model import EntryPoint
from mlproj.spec.params import ResolvedParams
from mlproj.spec.shell import MARK, Piece, needs_shell, quote_in, skeleton
from mlproj.spec.wording import did_you_mean

#: How an undeclared entry point given as a file (``-e train.py``) is run.
FILE_INTERPRETERS = {".py": "python", ".sh": "bash"}

_Parsed = list[tuple[str, str | None, str | None, str | None]]


def template_problems(entry: EntryPoint) -> list[str]:
    """Return what is wrong with ``entry``'s command template (empty when it is fine).

    Reports placeholders that are not declared parameters, positional placeholders (``{}``,
    ``{0}``), format specs and conversions, unbalanced braces, and shell syntax that would
    defeat quoting (an unclosed quote, ``${name}``, a placeholder in a here-document).
    """
    if entry.is_file:
        return []
    try:
        parsed: _Parsed = list(string.Formatter().parse(entry.command))
    except ValueError as exc:
        return [f"unbalanced braces in the command ({exc}); write {{{{ and }}}} for literal braces"]
    declared = [param.name for param in entry.parameters]
    problems: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is not None:
            problems.extend(_placeholder_problems(entry, declared, name, spec, conversion))
    pieces, names = _pieces(parsed)
    if needs_shell(pieces):
        from mlproj.spec.shellscan import scan  # templates that run as bash -c text only

        problems.extend(scan(pieces, names).problems)
    return list(dict.fromkeys(problems))  # a placeholder used twice is reported once


def _placeholder_problems(
    entry: EntryPoint, declared: list[str], name: str, spec: str | None, conversion: str | None
) -> list[str]:
    shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
    shown += "}"
    example = "{" + (declared[0] if declared else "alpha") + "}"
    if not name or name.isdigit():
        return [
            f"positional placeholder {shown} is not supported; name a parameter, like {example}"
        ]
    problems = []
    if name not in declared:
        known = f"declared: {', '.join(declared)}" if declared else "it declares no parameters"
        problems.append(
            f"unknown placeholder {{{name}}}: not a parameter of entry point {entry.name!r} "
            f"({known}){did_you_mean(name, declared)}"
        )
    if conversion or spec:
        what = "a conversion" if conversion else "a format spec"
        problems.append(
            f"placeholder {shown} has {what}; values are passed exactly as given, write {{{name}}}"
        )
    return problems


def _pieces(parsed: _Parsed) -> tuple[list[Piece], list[str]]:
    pieces: list[Piece] = []
    names: list[str] = []
    for literal, name, _, _ in parsed:
        if literal:
            pieces.append(literal)
        if name is not None:
            pieces.append(None)
            names.append(name)
    return pieces, names


def file_entry_point(
    project_dir: Path, name: str, *, declared: Sequence[str] | None = None
) -> EntryPoint:
    """Make an entry point for a file the project does not declare (``-e train.py``).

    ``.py`` files run with the environment's python, ``.sh`` files with bash; every parameter
    is passed as ``--key value``.

    Args:
        project_dir: The project directory.
        name: The file, relative to the project directory.
        declared: The declared entry point names, for the error message; read from the
            project's MLproject when not given.

    Raises:
        ProjectError: The name has another extension, or the file is not in the project.
    """
    interpreter = FILE_INTERPRETERS.get(Path(name).suffix.lower())
    if declared is None:
        declared = _declared_names(project_dir)
    listing = f"declared: {', '.join(declared)}" if declared else "the project declares none"
    if interpreter is None:
        raise ProjectError(
            f"no entry point {name!r} ({listing}); to run a file, give a .py or .sh file "
            "inside the project"
        )
    root = project_dir.resolve()
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise ProjectError(f"entry point file {name!r} is outside the project directory {root}")
    if not target.is_file():
        raise ProjectError(
            f"no entry point {name!r} ({listing}) and no file {name!r} in {root}"
            f"{did_you_mean(name, declared)}"
        )
    return EntryPoint(name=name, command=f"{interpreter} {shlex.quote(name)}", is_file=True)


def _declared_names(project_dir: Path) -> list[str]:
    # Imported here: load imports this module (for template_problems), so a top-level import
    # would be circular.
    from mlproj.spec.load import check_project

    project, _ = check_project(project_dir)
    return list(project.entry_points) if project is not None else []


def render_command(
    entry: EntryPoint, params: ResolvedParams, *, python: str = "python"
) -> list[str]:
    """Return the argv that runs ``entry`` with ``params``.

    Args:
        entry: A declared entry point, or one from :func:`file_entry_point`.
        params: From :func:`mlproj.spec.params.resolve_params` for the same entry point.
        python: The interpreter for ``.py`` file entry points. A template's own leading
            ``python`` is left alone: the environment puts its python first on PATH.

    Returns:
        The words of the command when the template needs no shell, else
        ``["bash", "-c", text]`` with every value quoted; undeclared parameters are appended
        as ``--key value``.

    Raises:
        ProjectError: The template has problems (see :func:`template_problems`).
    """
    if entry.is_file:
        interpreter = python if Path(entry.name).suffix.lower() == ".py" else "bash"
        return [interpreter, entry.name, *_extra_words(params)]
    problems = template_problems(entry)
    if problems:
        raise ProjectError(
            f"entry point {entry.name!r}: {problems[0]}", details=tuple(problems[1:])
        )
    pieces, names = _pieces(list(string.Formatter().parse(entry.command)))
    values = [_value(entry, params, name) for name in names]
    if not needs_shell(pieces):
        return [*_split_and_fill(pieces, values), *_extra_words(params)]
    from mlproj.spec.shellscan import scan

    contexts = scan(pieces, names).contexts
    filled = iter(zip(contexts, values, strict=True))
    text = "".join(quote_in(*next(filled)) if piece is None else piece for piece in pieces)
    extras = " ".join(shlex.quote(word) for word in _extra_words(params))
    return ["bash", "-c", f"{text} {extras}" if extras else text]


def _value(entry: EntryPoint, params: ResolvedParams, name: str) -> str:
    if name not in params.values:
        raise ProjectError(f"entry point {entry.name!r}: no value for placeholder {{{name}}}")
    return params.values[name]


def _split_and_fill(pieces: Sequence[Piece], values: Sequence[str]) -> list[str]:
    """Split the template into words like the shell would, then put each value in its word."""
    remaining = iter(values)
    words = []
    for word in shlex.split(skeleton(pieces)):
        parts = word.split(MARK)
        words.append(parts[0] + "".join(next(remaining) + part for part in parts[1:]))
    return words


def _extra_words(params: ResolvedParams) -> list[str]:
    return [word for key, value in params.extra.items() for word in (f"--{key}", value)]


def display_command(argv: Sequence[str]) -> str:
    """Return the one-line form of ``argv`` recorded with the run and shown to users.

    For ``["bash", "-c", text]`` that is ``text``; otherwise the shell-quoted words, which a
    shell would run as the same command.
    """
    if len(argv) == 3 and argv[0] == "bash" and argv[1] == "-c":
        return argv[2]
    return shlex.join(argv)
