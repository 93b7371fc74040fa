"""Entry point of the `mlproj` command: the only place where errors become exit codes."""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any, NoReturn

from mlproj.errors import ExitCode, MlprojError, Terminated


def _raise_terminated(signum: int, _frame: object) -> NoReturn:
    raise Terminated(signum)


def _report(message: str, details: tuple[str, ...] = ()) -> None:
    try:
        sys.stderr.write(f"mlproj: error: {message}\n")
        for line in details:
            sys.stderr.write(f"  {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # no terminal any more (SIGHUP) or a closed stderr: the exit code still says it


def _is_cli_usage_error(exc: BaseException) -> bool:
    # Typer may vendor click or use it directly: recognise its exceptions by shape, not import.
    return hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int)


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI and exit with the documented code.

    Called as the command (no ``argv``), the process then exits without a last garbage
    collection: ``gc.freeze()`` moves every object out of the collector's reach, so the
    interpreter's shutdown frees them by reference counting only instead of walking them all
    again (~15 ms of every command on the project's machine). Nothing else about the exit
    changes: files are closed, buffers flushed and ``atexit`` functions run as usual. A caller
    that passes ``argv`` (a test, another program) keeps its collector as it was.
    """
    signal.signal(signal.SIGTERM, _raise_terminated)
    # A closed terminal stops mlproj as SIGTERM does; under nohup (SIGHUP ignored) it stays ignored.
    if signal.getsignal(signal.SIGHUP) != signal.SIG_IGN:
        signal.signal(signal.SIGHUP, _raise_terminated)
    code = _dispatch(sys.argv[1:] if argv is None else argv)
    sys.stdout.flush()
    if argv is None:
        import gc

        gc.freeze()
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
    except Terminated as exc:
        hangup = exc.signum == signal.SIGHUP
        _report("terminated (SIGHUP: the terminal closed)" if hangup else "terminated")
        return int(ExitCode.HANGUP if hangup else ExitCode.TERMINATED)
    except BrokenPipeError:
        # The reader of our output went away (`mlproj runs list | head`): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception as exc:
        return _unexpected(exc)
    return result if isinstance(result, int) else int(ExitCode.OK)


def _invoke(args: list[str]) -> Any:
    from mlproj.cli.fastparse import command_for

    found = command_for(args)
    if found is not None:  # a plain command line of a hot command: no Typer (cli/fastparse.py)
        from mlproj.deferred import defer_standard_modules

        defer_standard_modules()
        body, options = found
        module, _, name = body.partition(":")
        return getattr(importlib.import_module(module), name)(**options)
    from mlproj.cli.app import app
    from mlproj.cli.typerapp import invoke

    return invoke(app, args, prog_name="mlproj")


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
