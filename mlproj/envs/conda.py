"""`--env-manager conda`: a cached conda environment from the project's conda YAML.

With conda, mamba or micromamba (or ``MLPROJ_CONDA_EXE``) the tool creates the prefix from the
file itself. Without them mlproj solves ``channels`` and ``dependencies`` with py-rattler and
installs the ``pip:`` section with uv (or the environment's pip when ``MLPROJ_NO_UV=1``).
"""

from __future__ import annotations

from pathlib import Path

from mlproj.envs.base import EnvDescription, OutputSink, Prepared
from mlproj.envs.builds import Built, CacheRequest, PrefixEnvironment
from mlproj.envs.condatools import (
    channel_url,
    explicit_list,
    find_conda_tool,
    local_channel_digest,
    rattler_create,
)
from mlproj.envs.keys import environment_key
from mlproj.envs.requirements import install_args, referenced_paths
from mlproj.envs.tools import capture, find_uv, run_step, uv_disabled
from mlproj.errors import EnvError, ProjectError
from mlproj.settings import cache_dir
from mlproj.spec.envfiles import load_conda_env
from mlproj.spec.model import EnvKind, Project

MANAGER = "conda"


class CondaEnvironment(PrefixEnvironment):
    """A cached conda prefix built from a conda YAML."""

    manager = MANAGER

    def __init__(self, project: Project) -> None:
        super().__init__()
        if project.env.kind is not EnvKind.CONDA or project.env.file is None:
            declared = {
                EnvKind.DOCKER: "declares docker_env (use --env-manager docker)",
                EnvKind.PYTHON_ENV: "declares python_env (use --env-manager virtualenv or uv)",
                EnvKind.NONE: "has none (use --env-manager local, virtualenv or uv)",
            }[project.env.kind]
            raise EnvError(
                "--env-manager conda needs a conda YAML (conda_env in the MLproject, or "
                f"conda.yaml in the project); this project {declared}"
            )
        self._project = project
        self._file = project.env.file
        self._spec = load_conda_env(self._file)
        self._tool = find_conda_tool()
        self._uv = None if uv_disabled() else find_uv()
        try:
            self._channels = [
                url for ch in self._spec.channels for url in channel_url(ch, project.directory)
            ]
        except EnvError as exc:
            raise EnvError(f"{self._file.name}: {exc.message}") from None

    def key(self) -> str:
        if self._key is None:
            parts: dict[str, str | None] = {"manager": MANAGER, "tool": self._tool_name()}
            for url in self._channels:
                parts[f"channel {url}"] = local_channel_digest(url)
            try:
                references = referenced_paths(self._spec.pip, self._project.directory)
            except EnvError as exc:
                raise ProjectError(f"{self._file.name}: pip: {exc.message}") from None
            self._key = environment_key(parts, self._file, references)
        return self._key

    def _tool_name(self) -> str:
        return Path(self._tool).name

    def prepare(self, output: OutputSink) -> Prepared:
        request = CacheRequest(
            key=self.key(),
            manager=MANAGER,
            project_dir=self._project.directory,
            build=self._build,
            freeze=self._installed,
            healthy=lambda prefix: (prefix / "conda-meta").is_dir(),
        )
        return self._cached().prepare(request, output)

    def variables(self) -> dict[str, str]:
        prefix = str(self.prefix)
        return {"CONDA_PREFIX": prefix, "CONDA_DEFAULT_ENV": prefix, "PATH": self._path_first()}

    def describe(self) -> EnvDescription:
        return EnvDescription(MANAGER, self.key(), {"tool": self._tool_name()})

    # Building -------------------------------------------------------------------------------

    def _build(self, prefix: Path, output: OutputSink) -> Built:
        tool = self._tool_name()
        output(f"mlproj: building conda env {self.key()} from {self._file.name} with {tool}\n")
        if self._tool == "py-rattler":
            packages = cache_dir() / "conda-pkgs"
            specs = list(self._spec.dependencies)
            try:
                rattler_create(self._channels, specs, prefix, packages, output)
            except EnvError as exc:
                raise EnvError(f"{self._file.name}: {exc.message}", details=exc.details) from None
            self._install_pip(prefix, output)
        else:
            run_step(
                f"{self._file.name}: {tool} create",
                self._create_argv(prefix),
                output,
                cwd=self._project.directory,
            )
        return Built(
            self._installed(prefix), self._tool_name(), _python_version(prefix), "conda-meta"
        )

    def _create_argv(self, prefix: Path) -> list[str]:
        if self._tool_name().startswith("micromamba"):
            return [
                self._tool,
                "create",
                "--yes",
                "--prefix",
                str(prefix),
                "--file",
                str(self._file),
            ]
        return [self._tool, "env", "create", "--prefix", str(prefix), "--file", str(self._file)]

    def _install_pip(self, prefix: Path, output: OutputSink) -> None:
        args = install_args(self._spec.pip)
        if not args:
            return
        python = prefix / "bin" / "python"
        if not python.exists():
            raise EnvError(
                f"{self._file.name}: the pip: section needs python in the environment; add "
                "python (and pip) to dependencies"
            )
        if self._uv is not None:
            argv = [self._uv, "pip", "install", "--python", str(python), *args]
        elif (prefix / "bin" / "pip").exists():
            argv = [str(python), "-m", "pip", "install", "--disable-pip-version-check", *args]
        else:
            raise EnvError(
                f"{self._file.name}: the pip: section needs pip in the environment when uv is "
                "not used (MLPROJ_NO_UV=1); add pip to dependencies"
            )
        what = f"{self._file.name}: installing the pip: section"
        run_step(what, argv, output, cwd=self._project.directory)

    def _installed(self, prefix: Path) -> tuple[str, ...]:
        lines = explicit_list(prefix)
        python = prefix / "bin" / "python"
        if self._spec.pip and python.exists():
            if self._uv is not None:
                argv = [self._uv, "pip", "freeze", "--python", str(python)]
            else:
                argv = [str(python), "-m", "pip", "freeze", "--disable-pip-version-check"]
            frozen = capture("recording the pip packages", argv).splitlines()
            lines = (*lines, "# pip", *(line for line in frozen if line.strip()))
        return lines


def _python_version(prefix: Path) -> str:
    for record in (prefix / "conda-meta").glob("python-[0-9]*.json"):
        return record.name.split("-")[1]
    return "none"
