"""`mlproj run`, `runs list|show|logs` and `log` without Typer: command lines parsed from tables.

Importing Typer and building a click command costs about 55 ms on every start: a third of the
budget for a whole run's overhead, a fifth of `runs list`'s (and of `runs show RUN --json`'s,
which scripts call), and most of a `mlproj log metric` called once per step of a shell loop,
for command lines that are almost always a few `-P name=value`, `--json` or `loss 0.25 --step
3`. So :func:`command_for` reads the options of these commands from the tables below and
returns the command body and the keyword arguments their Typer functions pass to it (same
names, same defaults), or None for anything it is not certain of: `--help`, an unknown or
misspelled option, a flag given a value, an option missing its value, a number that is not
plain digits, `--`, combined short flags, an argument too many or too few. Those take the Typer
path, which prints its usual help and usage errors. The Typer definitions stay the reference:
tests/cli/test_fastparse.py checks each table against the click command Typer builds, spelling
by spelling, and that both paths give the same values for the same command lines.
"""

from __future__ import annotations

from typing import Any


class Table:
    """The options of one command, by spelling, each naming its keyword in the command body.

    A plain class: a frozen dataclass would cost about 1 ms of start-up to create, here where
    start-up is the point.
    """

    __slots__ = (
        "arguments",
        "body",
        "defaults",
        "flags",
        "integers",
        "repeated",
        "required",
        "values",
    )

    def __init__(
        self,
        body: str,
        *,
        defaults: dict[str, Any],
        flags: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        integers: dict[str, str] | None = None,
        repeated: dict[str, str] | None = None,
        arguments: tuple[str, ...] = (),
        required: int = 0,
    ) -> None:
        self.body = body  # "module:function" of the command body the Typer function calls
        self.defaults = defaults  # what the Typer function passes for what is not given
        self.flags = flags or {}  # options that take no value (click flags)
        self.values = values or {}  # one value each; given twice, the last counts (as in click)
        self.integers = integers or {}  # one whole number each
        self.repeated = repeated or {}  # may be repeated, each value kept in order
        self.arguments = arguments  # the positional arguments, in order
        self.required = required  # how many of them must be given


RUN = Table(
    "mlproj.cli.commands:run_command",
    arguments=("uri",),
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
    "mlproj.cli.commands:runs_list_command",
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

RUNS_SHOW = Table(
    "mlproj.cli.commands:runs_show_command",
    arguments=("run_id",),
    required=1,
    flags={"--json": "as_json"},
    values={"--tracking-uri": "tracking_uri"},
    repeated={"--metric": "metric"},
    defaults={"as_json": False, "tracking_uri": None, "metric": None},
)

RUNS_LOGS = Table(
    "mlproj.cli.commands:runs_logs_command",
    arguments=("run_id",),
    required=1,
    flags={"--stderr": "stderr", "-f": "follow", "--follow": "follow"},
    values={"--tracking-uri": "tracking_uri"},
    defaults={"stderr": False, "tracking_uri": None, "follow": False},
)

_LOG_OPTIONS = {"--run": "run_id", "--tracking-uri": "tracking_uri"}
_LOG_BODY = "mlproj.cli.tracking_commands:log_value_command"


def _log_defaults(kind: str, **more: Any) -> dict[str, Any]:
    return {"kind": kind, "run_id": None, "tracking_uri": None, **more}


LOG_METRIC = Table(
    _LOG_BODY,
    arguments=("key", "value"),
    required=2,
    values=_LOG_OPTIONS,
    integers={"--step": "step"},
    defaults=_log_defaults("metric", step=None),
)


def _key_value_table(kind: str) -> Table:
    """`mlproj log param|tag KEY VALUE [--run R] [--tracking-uri U]`."""
    defaults = _log_defaults(kind)
    return Table(
        _LOG_BODY, arguments=("key", "value"), required=2, values=_LOG_OPTIONS, defaults=defaults
    )


LOG_PARAM = _key_value_table("param")
LOG_TAG = _key_value_table("tag")
LOG_ARTIFACT = Table(
    _LOG_BODY,
    arguments=("key",),
    required=1,
    values={**_LOG_OPTIONS, "--artifact-path": "artifact_path"},
    defaults=_log_defaults("artifact", artifact_path=None),
)

#: The commands parsed here, by the words that name them.
TABLES: dict[tuple[str, ...], Table] = {
    ("run",): RUN,
    ("runs", "list"): RUNS_LIST,
    ("runs", "show"): RUNS_SHOW,
    ("runs", "logs"): RUNS_LOGS,
    ("log", "metric"): LOG_METRIC,
    ("log", "param"): LOG_PARAM,
    ("log", "tag"): LOG_TAG,
    ("log", "artifact"): LOG_ARTIFACT,
}


def command_for(args: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The command body ("module:function") and its keyword arguments for ``mlproj ARGS``.

    None when ``args`` name no command of the tables, or when Typer should parse them.
    """
    for words, table in TABLES.items():
        if args[: len(words)] == list(words):
            options = parse(table, args[len(words) :])
            return None if options is None else (table.body, options)
    return None


def parse(table: Table, args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of the command for ``args``, or None to let Typer parse them."""
    values = dict(table.defaults)
    repeated: dict[str, list[str]] = {}
    given = 0
    rest = list(reversed(args))
    while rest:
        word = rest.pop()
        if not word.startswith("-") or word == "-":
            if given == len(table.arguments) or word == "-":
                return None  # an extra argument, or stdin's "-": Typer's error or meaning
            values[table.arguments[given]] = word
            given += 1
            continue
        option = _option(table, word, rest)
        if option is None:
            return None
        name, value = option
        if name in table.repeated.values():
            repeated.setdefault(name, []).append(str(value))
        else:
            values[name] = value
    if given < table.required:
        return None  # a missing argument: Typer's usage error
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
