"""Entry point of the `mlproj` command: the only place where errors become exit codes."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

from mlproj.errors import ExitCode, MlprojError, Terminated


def _raise_terminated(_signum: int, _frame: object) -> NoReturn:
    raise Terminated


def _report(message: str, details: tuple[str, ...] = ()) -> None:
    sys.stderr.write(f"mlproj: error: {message}\n")
    for line in details:
        sys.stderr.write(f"  {line}\n")
    sys.stderr.flush()


def _is_cli_usage_error(exc: BaseException) -> bool:
    # Typer may vendor click or use it directly: recognise its exceptions by shape, not import.
    return hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int)


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI and exit with the documented code."""
    signal.signal(signal.SIGTERM, _raise_terminated)
    code = _dispatch(sys.argv[1:] if argv is None else argv)
    sys.stdout.flush()
    sys.exit(code)


def _dispatch(args: list[str]) -> int:
    try:
        result = _invoke(args)
    except MlprojError as exc:
        _report(exc.message, exc.details)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _report("interrupted")
        return int(ExitCode.INTERRUPTED)
    except Terminated:
        _report("terminated")
        return int(ExitCode.TERMINATED)
    except BrokenPipeError:
        # The reader of our output went away (`mlproj runs list | head`): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception as exc:
        return _unexpected(exc)
    return result if isinstance(result, int) else int(ExitCode.OK)


def _invoke(args: list[str]) -> Any:
    if args[:1] == ["run"] or args[:2] == ["runs", "list"]:
        fast = _without_typer(args)
        if fast is not None:
            return fast()
    from mlproj.cli.app import app
    from mlproj.cli.typerapp import invoke

    return invoke(app, args, prog_name="mlproj")


def _without_typer(args: list[str]) -> Callable[[], int] | None:
    """`mlproj run` or `mlproj runs list` with a plain command line, parsed without Typer."""
    from mlproj.cli.fastparse import RUN, RUNS_LIST, parse

    is_run = args[0] == "run"
    options = parse(RUN, args[1:]) if is_run else parse(RUNS_LIST, args[2:])
    if options is None:
        return None
    from mlproj.cli import commands  # the command bodies, which import the core

    body: Callable[..., int] = commands.run_command if is_run else commands.runs_list_command
    return partial(body, **options)


def _unexpected(exc: Exception) -> int:
    if _is_cli_usage_error(exc):
        exc.show()  # type: ignore[attr-defined]  # click-style exception, checked above
        if type(exc).__name__ == "Abort":
            return int(ExitCode.INTERRUPTED)
        return int(ExitCode.USAGE)
    if type(exc).__name__ == "Abort":  # click turns Ctrl-C at a prompt into Abort
        _report("interrupted")
        return int(ExitCode.INTERRUPTED)
    if os.environ.get("MLPROJ_DEBUG"):
        raise exc
    _report(
        f"internal error: {type(exc).__name__}: {exc} "
        "(set MLPROJ_DEBUG=1 for a traceback and report it)"
    )
    return int(ExitCode.INTERNAL)
