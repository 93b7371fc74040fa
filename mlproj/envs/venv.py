"""`--env-manager virtualenv` and `--env-manager uv`: cached Python virtual environments.

* virtualenv: an environment with pip inside, as users expect. With uv available, ``uv venv``
  creates it and ``uv pip`` installs pip and the dependencies in one call; the ``virtualenv``
  package alone costs ~0.25 s more per cold build. With ``MLPROJ_NO_UV=1`` (or no uv), the
  ``virtualenv`` package creates it, seeded with pip, and pip installs.
* uv: ``uv venv`` creates it and ``uv pip`` installs, the fastest path (no pip inside).

The interpreter is one already on the machine that matches the requested version (see
:mod:`mlproj.envs.interpreters`); nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

from mlproj.envs.base import EnvDescription, OutputSink, Prepared
from mlproj.envs.builds import Built, CacheRequest, PrefixEnvironment
from mlproj.envs.installed import installed_set, site_packages
from mlproj.envs.interpreters import Interpreter, current_interpreter, find_interpreter
from mlproj.envs.keys import environment_key
from mlproj.envs.requirements import install_args, python_requirements, referenced_paths
from mlproj.envs.tools import find_uv, run_step, uv_disabled
from mlproj.envs.versions import PythonRequest, parse_python_request
from mlproj.errors import EnvError, ProjectError
from mlproj.spec.model import Project


def choose_tool(manager: str) -> tuple[str, str | None]:
    """("uv" or "pip", the uv executable) for a manager.

    Raises:
        EnvError: The uv manager was asked for but uv is missing or disabled.
    """
    uv = find_uv()
    if manager == "uv":
        if uv_disabled():
            raise EnvError(
                "--env-manager uv while MLPROJ_NO_UV=1 disables uv; unset MLPROJ_NO_UV or use "
                "--env-manager virtualenv"
            )
        if uv is None:
            raise EnvError(
                "--env-manager uv: uv is not installed (mlproj's `uv` dependency is missing and "
                "there is no uv on PATH); run `pip install uv` or use --env-manager virtualenv"
            )
        return "uv", uv
    if uv is not None and not uv_disabled():
        return "uv", uv
    return "pip", None


class PythonEnvironment(PrefixEnvironment):
    """A cached virtual environment built from python_env.yaml, conda YAML or requirements.txt."""

    def __init__(
        self, project: Project, manager: str, *, pinned: Sequence[str] | None = None
    ) -> None:
        super().__init__()
        self.manager = manager
        self._project = project
        self._reqs = python_requirements(project, manager)
        # An installed set recorded by an earlier run (`mlproj rerun`): installed as it is,
        # in place of the requirements; the python request still comes from the project.
        self._pinned = tuple(pinned) if pinned is not None else None
        self._tool, self._uv = choose_tool(manager)
        self._request = self._python_request()

    def _python_request(self) -> PythonRequest | None:
        if self._reqs.python is None:
            return None
        try:
            return parse_python_request(self._reqs.python)
        except ValueError as exc:
            raise ProjectError(f"{self._reqs.where}: python: {exc}") from None

    def key(self) -> str:
        if self._key is None:
            reqs = self._reqs
            python = reqs.python or current_interpreter().version_text
            parts = {"manager": self.manager, "tool": self._tool, "python": python}
            lines = (*reqs.build_dependencies, *reqs.dependencies)
            if self._pinned is not None:  # a key of its own: never the env that floats
                lines = self._pinned
                parts["pinned"] = "\n".join(lines)
            try:
                references = referenced_paths(lines, reqs.base_dir)
            except EnvError as exc:
                raise ProjectError(f"{reqs.where}: dependencies: {exc.message}") from None
            if reqs.file is None:
                parts["dependencies"] = "\n".join(lines)
            self._key = environment_key(parts, reqs.file, references)
        return self._key

    def prepare(self, output: OutputSink) -> Prepared:
        request = CacheRequest(
            key=self.key(),
            manager=self.manager,
            project_dir=self._project.directory,
            build=self._build,
            freeze=installed_set,
            healthy=lambda prefix: (prefix / "bin" / "python").exists(),  # follows the symlink
            notes=self._notes(),
        )
        return self._cached().prepare(request, output)

    def variables(self) -> dict[str, str]:
        return {"VIRTUAL_ENV": str(self.prefix), "PATH": self._path_first()}

    def describe(self) -> EnvDescription:
        python = self._reqs.python or current_interpreter().version_text
        details = {"tool": self._tool, "python": python}
        if self._pinned is not None:
            details["pinned"] = f"{_count(self._pinned)} packages from a recorded installed set"
        return EnvDescription(self.manager, self.key(), details)

    def _notes(self) -> tuple[str, ...]:
        dropped = self._reqs.dropped
        if not dropped:
            return ()
        return (
            f"warning: {self._reqs.where}: conda packages {', '.join(dropped)} are not installed "
            f"by --env-manager {self.manager} (it uses the python pin and the pip: section); "
            "run with --env-manager conda to install them",
        )

    # Building -------------------------------------------------------------------------------

    def _interpreter(self) -> Interpreter:
        if self._request is None:
            return current_interpreter()
        where = f"{self._reqs.where}: python"
        return find_interpreter(self._request, where=where, uv=self._uv)

    def _build(self, prefix: Path, output: OutputSink) -> Built:
        interpreter = self._interpreter()
        output(
            f"mlproj: building {self.manager} env {self.key()} with Python "
            f"{interpreter.version_text} ({interpreter.path}), installing with {self._tool}\n"
        )
        self._create(prefix, interpreter, output)
        for what, args in self._install_steps():
            argv = self._install_argv(prefix, args)
            where = f"{self._reqs.where}: {what}"
            run_step(where, argv, output, cwd=self._project.directory, env=_tool_env())
        installed = installed_set(prefix)
        site = site_packages(prefix)
        watch = str(site.relative_to(prefix)) if site else ""
        return Built(installed, self._tool, interpreter.version_text, watch)

    def _create(self, prefix: Path, interpreter: Interpreter, output: OutputSink) -> None:
        started = time.monotonic()
        if self._uv is not None:
            # Both managers: uv creates the venv; for `virtualenv`, pip comes from uv's cache with
            # the build dependencies (see _install_steps), faster than the virtualenv package.
            argv = [self._uv, "venv", "--python", interpreter.path, str(prefix)]
            run_step("uv venv", argv, output, cwd=prefix.parent, env=_tool_env())
            return
        _virtualenv(prefix, interpreter)
        output(f"created virtualenv {prefix} in {time.monotonic() - started:.2f} s\n")

    def _install_steps(self) -> list[tuple[str, list[str]]]:
        """(what, installer arguments): build_dependencies first, then dependencies."""
        build = install_args(self._reqs.build_dependencies)
        deps = install_args(self._reqs.dependencies)
        if self._pinned is not None:
            build, deps = [], install_args(self._pinned)
        named = _names_pip(build) or _names_pip(deps)
        if self.manager == "virtualenv" and self._uv is not None and not named:
            # A virtualenv has pip, whoever installs into it; one installer call when possible.
            (build if build else deps).insert(0, "pip")
        what = "installing the pinned installed set" if self._pinned else "installing dependencies"
        steps = [("installing build_dependencies", build), (what, deps)]
        return [(what, args) for what, args in steps if args]

    def _install_argv(self, prefix: Path, args: list[str]) -> list[str]:
        python = str(prefix / "bin" / "python")
        if self._uv is not None:
            return [self._uv, "pip", "install", "--python", python, *args]
        return [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *args]


def _count(lines: Sequence[str]) -> int:
    return sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _names_pip(args: list[str]) -> bool:
    return any(re.match(r"^pip(\s*[=<>!~;\[]|$)", arg.strip().lower()) for arg in args)


def _virtualenv(prefix: Path, interpreter: Interpreter) -> None:
    """Create a virtualenv seeded with pip (in-process: saves a second interpreter start-up).

    Raises:
        EnvError: virtualenv could not create it (the message says why).
    """
    from virtualenv import cli_run

    args = [str(prefix), "--python", interpreter.path, "--no-periodic-update"]
    args.append("--no-setuptools")
    try:
        cli_run([*args, "--quiet"], setup_logging=False)
    except (Exception, SystemExit) as exc:  # virtualenv reports failures with many types
        raise EnvError(
            f"virtualenv could not create {prefix} with {interpreter.path}: {exc}; "
            "check that this Python works, or try --env-manager uv"
        ) from None


def _tool_env() -> dict[str, str]:
    """The installers' environment: the caller's, never downloading a Python behind our back."""
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME"):
        env.pop(name, None)  # an active environment of the caller must not be the target
    return env
