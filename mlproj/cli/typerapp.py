"""The one way mlproj makes a Typer (sub)application, so every command group starts the same."""

from __future__ import annotations

from typing import Any

import typer


def new_typer(help_text: str) -> typer.Typer:
    """A command group with plain help.

    No Rich markup: Rich's help formatter costs ~0.2 s of start-up on every call.
    """
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


def invoke(app: typer.Typer, args: list[str], prog_name: str) -> Any:
    """Run ``app`` on ``args`` as Typer does, building only the command that ``args`` name.

    Typer turns every command of the application into a click command on each start (about
    25 ms for mlproj's twenty commands, half of `mlproj run`'s parsing). When ``args`` start
    with the exact name of a command (``run``, ``runs list``), that command alone is built from
    the same Typer definition and run under its full name, which is what the whole group would
    do: same options, help, usage errors and result. Anything else (``--help``, ``--version``,
    a group without its command, an unknown name) goes through the whole application. The root
    callback is skipped on the short path: it only handles ``--version``, an option that comes
    before any command name; sub-groups with a callback always take the whole path.
    """
    found = _named_command(app, args)
    if found is None:
        return app(args=args, prog_name=prog_name, standalone_mode=False)
    info, depth = found
    command = typer.main.get_command_from_info(
        info,
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )
    name = " ".join([prog_name, *args[:depth]])
    return command.main(args=args[depth:], prog_name=name, standalone_mode=False)


def _named_command(app: typer.Typer, args: list[str]) -> tuple[Any, int] | None:
    """The CommandInfo that ``args`` start with, and how many words name it."""
    group, depth = app, 0
    while depth < len(args):
        word = args[depth]
        depth += 1
        for info in group.registered_commands:
            if _name(info) == word:
                return info, depth
        groups = [g for g in group.registered_groups if g.name == word and g.typer_instance]
        if len(groups) != 1 or groups[0].typer_instance is None:
            return None
        group = groups[0].typer_instance
        if group.registered_callback is not None or group.info.callback is not None:
            return None  # a group callback would run before the command: keep the whole path
    return None


def _name(info: Any) -> str | None:
    if info.name:
        return str(info.name)
    callback = info.callback
    return typer.main.get_command_name(callback.__name__) if callback is not None else None
