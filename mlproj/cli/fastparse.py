"""`mlproj run` and `mlproj runs list` without Typer: plain command lines parsed from a table.

Importing Typer and building a click command costs about 55 ms on every start: a third of the
budget for a whole run's overhead, and a fifth of `runs list`'s, for command lines that are
almost always a few `-P name=value` or `--json`. So :func:`parse` reads the options of these
two commands from the tables below and returns the keyword arguments their Typer functions pass
to the command bodies in `cli/commands.py` (same names, same defaults), or None for anything it
is not certain of: `--help`, an unknown or misspelled option, a flag given a value, an option
missing its value, a number that is not plain digits, `--`, combined short flags, a second
argument. Those take the Typer path, which prints its usual help
and usage errors. The Typer definitions stay the reference: tests/cli/test_fastparse.py checks
each table against the click command Typer builds, spelling by spelling, and that both paths
give the same values for the same command lines.
"""

from __future__ import annotations

from typing import Any


class Table:
    """The options of one command, by spelling, each naming its keyword in the command body.

    A plain class: a frozen dataclass would cost about 1 ms of start-up to create, here where
    start-up is the point.
    """

    __slots__ = ("argument", "defaults", "flags", "integers", "repeated", "values")

    def __init__(
        self,
        *,
        defaults: dict[str, Any],
        flags: dict[str, str],
        values: dict[str, str],
        integers: dict[str, str] | None = None,
        repeated: dict[str, str] | None = None,
        argument: str | None = None,
    ) -> None:
        self.defaults = defaults  # what the Typer function passes for what is not given
        self.flags = flags  # options that take no value (click flags)
        self.values = values  # one value each; given twice, the last one counts (as in click)
        self.integers = integers or {}  # one whole number each
        self.repeated = repeated or {}  # may be repeated, each value kept in order
        self.argument = argument  # the one positional argument, if the command takes one


RUN = Table(
    argument="uri",
    flags={
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
    },
    values={
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
    },
    repeated={
        "-P": "param",
        "--param": "param",
        "-A": "docker_args",
        "--docker-args": "docker_args",
    },
    defaults={
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
    },
)

RUNS_LIST = Table(
    flags={"--json": "as_json", "--csv": "as_csv"},
    values={
        "--experiment": "experiment",
        "--status": "status",
        "--filter": "filter_expr",
        "--sort": "sort",
        "--tracking-uri": "tracking_uri",
    },
    integers={"--limit": "limit"},
    defaults={
        "experiment": None,
        "status": None,
        "filter_expr": None,
        "sort": None,
        "limit": 100,
        "as_json": False,
        "tracking_uri": None,
        "as_csv": False,
    },
)

#: The commands parsed here, by the words that name them.
TABLES: dict[tuple[str, ...], Table] = {("run",): RUN, ("runs", "list"): RUNS_LIST}


def parse(table: Table, args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of the command for ``args``, or None to let Typer parse them."""
    values = dict(table.defaults)
    repeated: dict[str, list[str]] = {}
    have_argument = False
    rest = list(reversed(args))
    while rest:
        word = rest.pop()
        if not word.startswith("-") or word == "-":
            if table.argument is None or have_argument or word == "-":
                return None  # an extra argument, or stdin's "-": Typer's error or meaning
            values[table.argument], have_argument = word, True
            continue
        option = _option(table, word, rest)
        if option is None:
            return None
        name, value = option
        if name in table.repeated.values():
            repeated.setdefault(name, []).append(str(value))
        else:
            values[name] = value
    values.update(repeated)
    return values


def _option(table: Table, word: str, rest: list[str]) -> tuple[str, str | int | bool] | None:
    """The option that ``word`` (and maybe the next word, popped from ``rest``) gives."""
    if word.startswith("--"):
        spelling, equals, attached = word.partition("=")
    else:  # "-Pname=value" is -P with "name=value"; "-qv" (combined flags) goes to Typer
        spelling, attached = word[:2], word[2:]
        equals = "=" if attached else ""
        if attached.startswith("="):
            return None  # click would keep the "=" in the value: leave that to Typer
    if spelling in table.flags:
        return None if equals else (table.flags[spelling], True)
    name = table.values.get(spelling) or table.repeated.get(spelling)
    number = table.integers.get(spelling)
    if name is None and number is None:
        return None  # --help, a misspelling, an option of another command
    if not equals:
        if not rest:
            return None  # a missing value: Typer's usage error
        attached = rest.pop()  # whatever it is, as click does: `--sort -metrics.rmse`
    if number is not None:
        # click's int() also takes " 5", "+5" and "5_0": anything but plain digits goes to Typer
        return (number, int(attached)) if attached.isascii() and attached.isdigit() else None
    assert name is not None
    return name, attached
