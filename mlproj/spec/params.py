"""Parameter values: parsing ``-P name=value``, checking types, resolving paths.

The text the user typed is what gets recorded (MLflow records shell-quoted text). Only ``path``
and local ``uri`` values change on their way into the command: they become absolute, because the
command may run in another directory than the one the user typed them in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlproj.errors import ProjectError, UsageError
from mlproj.spec.model import EntryPoint, Parameter, ParamType
from mlproj.spec.wording import did_you_mean, quoted_list

#: Patterns of the text a typed value may have. The JSON schema uses the same two patterns for
#: defaults, so a test can keep them equal. No inf/nan, underscores or spaces: what the program
#: receives must parse the same in every language, not only in Python.
INT_PATTERN = r"^[+-]?[0-9]+$"
FLOAT_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
#: YAML 1.1's spellings of booleans (what yaml.safe_load reads as bool), plus 1 and 0.
BOOL_WORDS = (
    *(
        spelling
        for word in ("true", "false", "yes", "no", "on", "off")
        for spelling in (word, word.capitalize(), word.upper())
    ),
    "1",
    "0",
)
# A scheme of two characters or more: "C:" is a Windows drive, not a URI. Like the patterns
# above, compiled on first use (re's cache): only path and uri parameters need it.
_SCHEME = r"^[A-Za-z][A-Za-z0-9+.-]+:"


@dataclass(frozen=True, slots=True)
class ResolvedParams:
    """The parameters of one run, ready to record and to put into the command.

    Attributes:
        given: What is recorded: the user's text for every ``-P`` value and every default used,
            declared parameters in declaration order, then the undeclared ones.
        values: What goes into the command for declared parameters: ``given`` except that
            local ``path`` and ``uri`` values are absolute paths.
        extra: Undeclared ``-P`` values (also in ``given``), appended as ``--key value``.
        remote: ``path`` parameters given as http(s) URLs (name -> URL): as MLflow does, the
            file is downloaded before the run and ``values`` then names the local copy.
    """

    given: dict[str, str]
    values: dict[str, str]
    extra: dict[str, str]
    remote: dict[str, str] = field(default_factory=dict)


def parse_param_args(args: Sequence[str]) -> dict[str, str]:
    """Parse ``-P`` arguments (``["alpha=0.5", "x=a=b"]``) into a dict, in order.

    Raises:
        UsageError: An argument has no ``=`` or an empty name, or a name is given twice.
    """
    params: dict[str, str] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep or not name:
            raise UsageError(f"-P {arg!r}: expected name=value, for example -P alpha=0.5")
        if name in params:
            raise UsageError(
                f"parameter {name!r} is given twice (-P {name}={params[name]}, -P {arg}); keep one"
            )
        params[name] = value
    return params


def type_problem(ptype: ParamType, text: str) -> str | None:
    """Return why ``text`` is not a value of ``ptype`` (None when it is, or is not checkable)."""
    if ptype is ParamType.INT and not is_int_text(text):
        return f"{text!r} is not an int"
    if ptype is ParamType.FLOAT and not is_float_text(text):
        return f"{text!r} is not a float"
    if ptype is ParamType.BOOL and text not in BOOL_WORDS:
        return f"{text!r} is not a bool (use true or false)"
    return None


# The two checks below say what INT_PATTERN and FLOAT_PATTERN say (a test compares them on every
# short text), with str methods: compiling the patterns costs ~1 ms of every run's start.


def is_int_text(text: str) -> bool:
    """True when the whole of ``text`` matches :data:`INT_PATTERN`."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()  # isdigit alone accepts "²" and "٣"


def is_float_text(text: str) -> bool:
    """True when the whole of ``text`` matches :data:`FLOAT_PATTERN`."""
    if not text.isascii():
        return False
    body = text[1:] if text[:1] in ("+", "-") else text
    mantissa, exponent_mark, exponent = body.replace("E", "e").partition("e")
    if exponent_mark and not is_int_text(exponent):
        return False
    whole, _, fraction = mantissa.partition(".")
    if (whole and not whole.isdigit()) or (fraction and not fraction.isdigit()):
        return False
    return bool(whole or fraction)


def has_scheme(text: str) -> bool:
    """True when ``text`` starts with a URI scheme (``s3:``, ``file:``, ``models:``...)."""
    return re.match(_SCHEME, text) is not None


def resolve_params(
    entry: EntryPoint,
    given: Mapping[str, str],
    *,
    project_dir: Path,
    caller_dir: Path,
    strict: bool = False,
) -> ResolvedParams:
    """Check and resolve the parameters of one run of ``entry``.

    ``-P`` values that are relative paths resolve against ``caller_dir``; defaults resolve
    against ``project_dir`` (so a default keeps working when the project comes from git).
    For a file entry point (``-e train.py``) nothing is declared and every value is extra;
    ``strict`` does not apply there, as the values are the script's whole interface.

    Raises:
        ProjectError: Listing every problem at once: missing required parameters, values of
            the wrong type, missing local paths, and (with ``strict``) undeclared parameters.
    """
    if entry.is_file:
        return ResolvedParams(given=dict(given), values={}, extra=dict(given))
    errors: list[str] = []
    missing = [p.name for p in entry.parameters if p.name not in given and p.default is None]
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        errors.append(
            f"entry point {entry.name!r} is missing required {noun} {quoted_list(missing)}: "
            "pass " + " ".join(f"-P {name}=..." for name in missing)
        )
    recorded, values = _resolve_declared(entry, given, project_dir, caller_dir, errors)
    extra = {name: text for name, text in given.items() if entry.parameter(name) is None}
    if strict and extra:
        errors.append(_undeclared_message(entry, extra))
    if errors:
        raise _params_error(entry, errors)
    remote = {
        p.name: values[p.name]
        for p in entry.parameters
        if p.type is ParamType.PATH and p.name in values and is_download(values[p.name])
    }
    return ResolvedParams(given={**recorded, **extra}, values=values, extra=extra, remote=remote)


def is_download(text: str) -> bool:
    """True for a ``path`` value mlproj downloads before the run (an http or https URL)."""
    return text.lower().startswith(("http://", "https://"))


def _resolve_declared(
    entry: EntryPoint,
    given: Mapping[str, str],
    project_dir: Path,
    caller_dir: Path,
    errors: list[str],
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (recorded text, command value) of each declared parameter that has a value."""
    recorded: dict[str, str] = {}
    values: dict[str, str] = {}
    for param in entry.parameters:
        from_user = param.name in given
        text = given[param.name] if from_user else param.default
        if text is None:  # missing, reported by the caller
            continue
        recorded[param.name] = text
        value, error = _resolve_value(param, text, caller_dir if from_user else project_dir)
        if error is not None:
            origin = "" if from_user else "default "
            errors.append(
                f"parameter {param.name!r} of entry point {entry.name!r}: {origin}{error}"
            )
        values[param.name] = value
    return recorded, values


def _resolve_value(param: Parameter, text: str, base: Path) -> tuple[str, str | None]:
    """Return (value for the command, problem or None) for one parameter value."""
    if param.type is ParamType.PATH:
        return _resolve_path(text, base)
    if param.type is ParamType.URI:
        if not text:
            return text, "the value is empty (expected a URI or a path)"
        return (text if has_scheme(text) else _absolute(text, base)), None
    return text, type_problem(param.type, text)


def _resolve_path(text: str, base: Path) -> tuple[str, str | None]:
    if not text:
        return text, "the value is empty (expected a path)"
    local = text
    if is_download(text):
        return text, None  # downloaded before the run (see ResolvedParams.remote)
    if has_scheme(text):
        url = urlparse(text)
        if url.scheme != "file" or url.netloc not in ("", "localhost"):
            # Handing the program a URI where it expects a file would only fail later.
            return text, (
                f"{text!r} is a remote URI that mlproj cannot download (it fetches http and "
                "https); download it first and pass the file, or declare the parameter as "
                "type uri to pass URIs through"
            )
        local = unquote(url.path)
    absolute = _absolute(local, base)
    if not os.path.exists(absolute):
        return absolute, f"path {text!r} does not exist (looked for {absolute})"
    return absolute, None


def _absolute(text: str, base: Path) -> str:
    # abspath normalises "a/../b" but, unlike resolve(), keeps the symlinks the user named.
    return os.path.abspath(os.path.join(base, text))


def _undeclared_message(entry: EntryPoint, extra: Mapping[str, str]) -> str:
    declared = [p.name for p in entry.parameters]
    hints = "".join(did_you_mean(name, declared) for name in extra)
    known = f"declared: {', '.join(declared)}" if declared else "it declares no parameters"
    return (
        f"entry point {entry.name!r} does not declare {quoted_list(extra)} ({known}); "
        f"remove them or drop --strict-params{hints}"
    )


def _params_error(entry: EntryPoint, errors: list[str]) -> ProjectError:
    if len(errors) == 1:
        return ProjectError(errors[0])
    return ProjectError(
        f"{len(errors)} problems with the parameters of entry point {entry.name!r}: {errors[0]}",
        details=tuple(errors),
    )
