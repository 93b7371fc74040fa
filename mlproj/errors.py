"""The one exception hierarchy of mlproj and the exit codes it maps to.

Every failure that is mlproj's own (not the entry point's) is an :class:`MlprojError` subclass that
carries its exit code. The codes live in a block (112-119) that ordinary programs do not use, in the
way `docker run` reserves 125-127, so a Makefile or a `set -e` script can tell "the project failed"
(the entry point's own status is passed through unchanged) from "mlproj could not run it".

The table in README.md ("Exit codes") is checked against :data:`EXIT_CODES` by a test.
"""

from __future__ import annotations

from enum import IntEnum

_SIGTERM = 15  # signal.SIGTERM on every platform mlproj runs on; a leaf module imports nothing


class ExitCode(IntEnum):
    """Documented exit codes of the `mlproj` command."""

    OK = 0
    USAGE = 112
    PROJECT = 113
    SOURCE = 114
    ENVIRONMENT = 115
    STORE = 116
    BACKEND = 117
    NOT_FOUND = 118
    INTERNAL = 119
    HANGUP = 129
    INTERRUPTED = 130
    TERMINATED = 143


#: One line of documentation per exit code; README.md repeats this table (a test keeps them equal).
EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success (for `mlproj run`: the entry point exited 0)",
    ExitCode.USAGE: "bad command line: unknown option, malformed `-P`, conflicting flags",
    ExitCode.PROJECT: (
        "invalid project: MLproject, python_env or conda file, entry point or parameters"
    ),
    ExitCode.SOURCE: "the project source could not be resolved (folder, git URL, version, subdir)",
    ExitCode.ENVIRONMENT: "the environment could not be prepared (env manager, build, image)",
    ExitCode.STORE: "the tracking store could not be opened, read or written",
    ExitCode.BACKEND: "the execution backend failed (submission, supervision)",
    ExitCode.NOT_FOUND: "no such run or experiment, or an ambiguous run id prefix",
    ExitCode.INTERNAL: "a bug in mlproj: please report it with the message",
    ExitCode.HANGUP: (
        "its terminal closed (SIGHUP), unless ignored as by nohup: stopped as by SIGTERM; "
        "the run is recorded as KILLED"
    ),
    ExitCode.INTERRUPTED: "interrupted by Ctrl-C (SIGINT); the run is recorded as KILLED",
    ExitCode.TERMINATED: "stopped by SIGTERM; the run is recorded as KILLED",
}


class MlprojError(Exception):
    """Base of every error mlproj reports itself. The message is one line, with the next step."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        #: Further lines (for example every validation problem after the first).
        self.details = details


class UsageError(MlprojError):
    """The command line itself is wrong."""

    exit_code = ExitCode.USAGE


class ProjectError(MlprojError):
    """The project (MLproject file, env files, entry point, parameters) is invalid."""

    exit_code = ExitCode.PROJECT


class SourceError(MlprojError):
    """The project source (local folder, git URL, version, subdir) cannot be resolved."""

    exit_code = ExitCode.SOURCE


class EnvError(MlprojError):
    """The environment cannot be prepared."""

    exit_code = ExitCode.ENVIRONMENT


class StoreError(MlprojError):
    """The tracking store cannot be opened, read or written."""

    exit_code = ExitCode.STORE


class BackendError(MlprojError):
    """The execution backend failed."""

    exit_code = ExitCode.BACKEND


class NotFoundError(MlprojError):
    """A run, experiment or other named object does not exist (or a prefix is ambiguous)."""

    exit_code = ExitCode.NOT_FOUND


class Terminated(BaseException):  # named after the signal, like KeyboardInterrupt
    """Raised in the main thread on SIGTERM or SIGHUP to mlproj (outside a supervised child).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it and every
    ``finally`` on the way out still records the run's end. ``signum`` is the signal received:
    mlproj exits with 128 + ``signum``.
    """

    def __init__(self, signum: int = _SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum
