"""`mlproj run` without Typer: plain command lines parsed by a table, the rest left to Typer.

Importing Typer and building the click command of `run` costs about 55 ms on every start, a
third of the budget for a whole run's overhead, for command lines that are almost always a few
`-P name=value`. So :func:`parse_run_args` reads the options of `mlproj run` from the table below
and returns the values Typer would pass to the `run` command (same names, same defaults), or
None for anything it is not certain of: `--help`, an unknown or misspelled option, a flag given
a value, an option missing its value or given one that starts with `-`, `--`, combined short
flags, a second argument. Those take the Typer path, which prints its usual help and usage
errors. The Typer definition in `cli/app.py` stays the reference: tests/cli/test_fastrun.py
checks this table against the click command Typer builds, option by option, and that both
paths give the same values for the same command line.
"""

from __future__ import annotations

from typing import Any

#: Options that take no value (click flags), by every spelling.
FLAGS: dict[str, str] = {
    "--strict-params": "strict_params",
    "-q": "quiet",
    "--quiet": "quiet",
    "--build-image": "build_image",
    "--keep-container": "keep_container",
    "--image-user": "image_user",
    "--reuse": "reuse",
    "--capture-scalars": "capture_scalars",
    "--offline": "offline",
    "--detach": "detach",
    "--dry-run": "dry_run",
}
#: Options that take one value; given twice, the last one counts (as in click).
VALUES: dict[str, str] = {
    "-e": "entry_point",
    "--entry-point": "entry_point",
    "-v": "version",
    "--version": "version",
    "--env-manager": "env_manager",
    "--experiment-name": "experiment_name",
    "--run-name": "run_name",
    "--tracking-uri": "tracking_uri",
    "-b": "backend",
    "--backend": "backend",
    "-c": "backend_config",
    "--backend-config": "backend_config",
}
#: Options that may be repeated, each value kept in order.
REPEATED: dict[str, str] = {
    "-P": "param",
    "--param": "param",
    "-A": "docker_args",
    "--docker-args": "docker_args",
}
#: The single argument (the project URI).
ARGUMENT = "uri"
#: What Typer passes for everything not given.
DEFAULTS: dict[str, Any] = {
    "uri": ".",
    "entry_point": "main",
    "param": None,
    "version": None,
    "env_manager": None,
    "experiment_name": None,
    "run_name": None,
    "tracking_uri": None,
    "strict_params": False,
    "quiet": False,
    "docker_args": None,
    "build_image": False,
    "keep_container": False,
    "image_user": False,
    "reuse": False,
    "capture_scalars": False,
    "offline": False,
    "backend": "local",
    "backend_config": None,
    "detach": False,
    "dry_run": False,
}


def parse_run_args(args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of `mlproj run ARGS`, or None to let Typer parse ``args``."""
    values = dict(DEFAULTS)
    repeated: dict[str, list[str]] = {}
    have_argument = False
    rest = list(reversed(args))
    while rest:
        word = rest.pop()
        if not word.startswith("-") or word == "-":
            if have_argument or word == "-":
                return None  # an extra argument, or stdin's "-": Typer's error or meaning
            values[ARGUMENT], have_argument = word, True
            continue
        option = _option(word, rest)
        if option is None:
            return None
        name, value = option
        if name in REPEATED.values():
            repeated.setdefault(name, []).append(str(value))
        else:
            values[name] = value
    values.update(repeated)
    return values


def _option(word: str, rest: list[str]) -> tuple[str, str | bool] | None:
    """The option that ``word`` (and maybe the next word, popped from ``rest``) gives."""
    if word.startswith("--"):
        spelling, equals, attached = word.partition("=")
        if not equals:
            attached = ""
    else:  # "-Pname=value" is -P with "name=value"; "-qv" (combined flags) goes to Typer
        spelling, attached = word[:2], word[2:]
        equals = "=" if attached else ""
        if attached.startswith("="):
            return None  # click would keep the "=" in the value: leave that to Typer
    if spelling in FLAGS:
        return None if equals else (FLAGS[spelling], True)
    name = VALUES.get(spelling) or REPEATED.get(spelling)
    if name is None:
        return None  # --help, a misspelling, an option of another command
    if equals:
        return name, attached
    if not rest or rest[-1].startswith("-"):
        return None  # a missing value, or one that looks like an option: Typer decides
    return name, rest.pop()
