"""`--env-manager local`: run in the caller's own environment, as it is."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence

from mlproj.envs.base import EnvDescription, OutputSink, Prepared


class LocalEnvironment:
    """The caller's environment: nothing is built, cached or wrapped."""

    manager = "local"

    def key(self) -> str | None:
        return None

    def python(self) -> str:
        # The `python` the user would get in their shell, as MLflow's local manager does; the
        # interpreter running mlproj only when no `python` is on PATH.
        return shutil.which("python") or shutil.which("python3") or sys.executable

    def prepare(self, output: OutputSink) -> Prepared:  # noqa: ARG002 - nothing to build
        return Prepared(created=False)

    def wrap(self, argv: Sequence[str]) -> list[str]:
        return list(argv)

    def variables(self) -> dict[str, str]:
        return {}

    def describe(self) -> EnvDescription:
        return EnvDescription(manager=self.manager, key=None, details={"python": self.python()})
