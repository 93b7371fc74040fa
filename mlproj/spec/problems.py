"""Validation problems: one fact about one place in one file, and the error that carries them.

Loading collects every problem of a project before reporting, so a user fixes an MLproject in one
pass instead of one error per run. :func:`problems_error` turns the list into the single
:class:`~mlproj.errors.ProjectError` the CLI reports. Loaders import this module when they find a
problem: loading a valid project never creates the :class:`Problem` record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.errors import ProjectError
from mlproj.spec.wording import did_you_mean, quoted_list

# Re-exported: they were defined here (new code imports them from mlproj.spec.wording).
__all__ = ["Problem", "did_you_mean", "problems_error", "quoted_list"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem.

    Attributes:
        file: The file the problem is in (absolute or as given).
        line: 1-based line of the offending key or value, None when unknown.
        key_path: Dotted path of the offending key (``entry_points.main.command``), may be empty.
        message: What is wrong and how to fix it.
        root: The project directory; when set, ``file`` is shown relative to it. Not part of
            equality, so problems compare by what they say.
    """

    file: Path
    line: int | None
    key_path: str
    message: str
    root: Path | None = field(default=None, compare=False)

    @property
    def shown_file(self) -> str:
        """The file as shown to users: relative to the project directory, else its name."""
        if self.root is not None:
            try:
                return self.file.relative_to(self.root).as_posix()
            except ValueError:
                pass
        return self.file.name

    def __str__(self) -> str:
        where = self.shown_file if self.line is None else f"{self.shown_file}:{self.line}"
        if self.key_path:
            where = f"{where} {self.key_path}"
        return f"{where}: {self.message}"


def problems_error(problems: Sequence[Problem]) -> ProjectError:
    """Build the one error that reports a list of problems.

    Args:
        problems: At least one problem, in file order.

    Returns:
        A ProjectError whose message is the problem itself when there is one, or
        ``"N problems in <files>: <first>"`` with every problem in ``details`` otherwise.

    Raises:
        ValueError: If ``problems`` is empty (a caller bug: there is nothing to report).
    """
    if not problems:
        raise ValueError("problems_error() needs at least one problem")
    first = problems[0]
    if len(problems) == 1:
        return ProjectError(str(first))
    files = ", ".join(dict.fromkeys(problem.shown_file for problem in problems))
    return ProjectError(
        f"{len(problems)} problems in {files}: {first}",
        details=tuple(str(problem) for problem in problems),
    )
