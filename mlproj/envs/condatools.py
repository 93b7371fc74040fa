"""The conda tooling a conda environment is built with, and reading what a prefix holds.

``MLPROJ_CONDA_EXE``, else ``conda``, ``mamba`` or ``micromamba`` on PATH, else py-rattler (the
``mlproj[conda]`` extra), which solves and installs without any conda installation.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

from mlproj.envs.base import OutputSink
from mlproj.envs.keys import file_digest
from mlproj.errors import EnvError

CONDA_EXECUTABLES = ("conda", "mamba", "micromamba")
#: What conda calls "defaults" (rattler has no such alias).
DEFAULTS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")


def find_conda_tool() -> str:
    """The conda executable to use, or ``"py-rattler"``.

    Raises:
        EnvError: MLPROJ_CONDA_EXE names nothing executable, or there is no tooling at all.
    """
    explicit = os.environ.get("MLPROJ_CONDA_EXE")
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise EnvError(
                f"MLPROJ_CONDA_EXE={explicit} is not an executable; point it at conda, mamba or "
                "micromamba, or unset it"
            )
        return found
    for name in CONDA_EXECUTABLES:
        found = shutil.which(name)
        if found:
            return found
    if importlib.util.find_spec("rattler") is not None:
        return "py-rattler"
    raise EnvError(
        "--env-manager conda: no conda, mamba or micromamba on PATH, MLPROJ_CONDA_EXE is unset, "
        "and py-rattler is not installed; run `pip install 'mlproj[conda]'` (or install "
        "micromamba), or use --env-manager virtualenv to install only the python pin and pip: "
        "section"
    )


def channel_url(channel: str, base_dir: Path) -> list[str]:
    """Channel URLs for a conda YAML ``channels`` entry.

    A name stays a name (rattler resolves it on conda.anaconda.org); ``defaults`` becomes
    Anaconda's URLs; a folder path (``./channel``, ``/srv/chan``) resolves against the project
    folder and becomes a ``file://`` URL, as conda does with local channels.

    Raises:
        EnvError: A local channel folder does not exist.
    """
    if channel == "defaults":
        return list(DEFAULTS)
    if channel.startswith("file://"):
        folder = Path(channel.removeprefix("file://"))
    elif channel.startswith((".", "/", "~")):
        folder = (base_dir / Path(channel).expanduser()).resolve()
    else:
        return [channel]
    if not folder.is_dir():
        raise EnvError(
            f"conda channel {channel!r}: no such folder {folder}; build the channel or fix the "
            "channels list"
        )
    return [folder.as_uri()]


def local_channel_digest(url: str) -> str | None:
    """For a ``file://`` channel, a digest of its repodata files (so new packages rebuild)."""
    if not url.startswith("file://"):
        return None
    folder = Path(url.removeprefix("file://"))
    parts = sorted(folder.glob("*/repodata.json"))
    return ",".join(f"{p.parent.name}:{file_digest(p)}" for p in parts)


def explicit_list(prefix: Path) -> tuple[str, ...]:
    """The prefix's conda packages as conda's ``--explicit`` list (URL#md5), read in-process."""
    lines = []
    for record in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        url, md5 = data.get("url"), data.get("md5")
        if url:
            lines.append(f"{url}#{md5}" if md5 else str(url))
    return ("@EXPLICIT", *sorted(lines)) if lines else ()


def rattler_create(
    channels: list[str], specs: list[str], prefix: Path, package_cache: Path, output: OutputSink
) -> None:
    """Solve ``specs`` from ``channels`` and install them into ``prefix`` with py-rattler.

    Raises:
        EnvError: The channels cannot be read, or the specs cannot be solved or installed.
    """
    import rattler

    platforms: list[Any] = [rattler.Platform.current(), "noarch"]
    output(f"solving {', '.join(specs) or 'nothing'} from {', '.join(channels)} with py-rattler\n")
    try:
        records = _run(
            rattler.solve(channels, specs, platforms=platforms, virtual_packages=_virtual())
        )
    except Exception as exc:  # rattler raises its own error types for every failure
        raise EnvError(
            f"conda solve failed: {_first_lines(exc)}; check the channels and specs"
        ) from None
    for record in records:
        output(f"  {record.name.normalized} {record.version} {record.build} ({record.channel})\n")
    try:
        _run(
            rattler.install(
                records, target_prefix=prefix, cache_dir=package_cache, show_progress=False
            )
        )
    except Exception as exc:
        raise EnvError(f"installing the conda packages failed: {_first_lines(exc)}") from None
    output(f"installed {len(records)} conda packages into {prefix}\n")


def _virtual() -> list[Any]:
    import rattler

    return list(rattler.VirtualPackage.detect())


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def _first_lines(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " / ".join(lines[:4]) or type(exc).__name__
