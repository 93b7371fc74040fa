"""Finding a Python interpreter already on the machine that satisfies a version request.

Searched in order: the interpreter running mlproj, ``pythonX.Y`` / ``python3`` / ``python`` on
PATH, pyenv's versions (``$PYENV_ROOT/versions``, default ``~/.pyenv``), and the Pythons uv
manages (``uv python dir``). Nothing is downloaded. A candidate whose name promises a version
the request refuses (``python3.10``, pyenv's ``3.10.13``) is not run; every other one is run once
to read its real version, because names can lie about the versions they accept. pyenv's shims on
PATH are skipped: each is a bash script that takes 0.2 to 0.5 s to run (or to fail, when the
selected version lacks that command), and the pyenv versions searched next are what they lead
to. Finding a second Python on a machine with pyenv took 3 to 6 s with them, 0.1 s without.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlproj.envs.versions import PythonRequest, Version, version_text
from mlproj.errors import EnvError
from mlproj.process import run_tool

_PROBE = "import sys; print('.'.join(map(str, sys.version_info[:3])))"
_PATH_NAME = re.compile(r"^python(\d+(?:\.\d+)?)?$")
_MINOR_NAME = re.compile(r"^python(\d+)\.(\d+)$")
_DIR_VERSION = re.compile(r"(?:^|-)(\d+)\.(\d+)\.(\d+)(?:$|-)")


@dataclass(frozen=True, slots=True)
class Interpreter:
    """A working interpreter and its version."""

    path: str
    version: Version

    @property
    def version_text(self) -> str:
        return version_text(self.version)


def current_interpreter() -> Interpreter:
    """The interpreter running mlproj (no process is started)."""
    return Interpreter(sys.executable, tuple(sys.version_info[:3]))


def find_interpreter(request: PythonRequest, *, where: str, uv: str | None) -> Interpreter:
    """The first interpreter on the machine that satisfies ``request``.

    Args:
        request: The version request.
        where: The file and key the request comes from, for the error message.
        uv: The uv executable, to look at the Pythons it manages (None: skip that place).

    Raises:
        EnvError: None matches; the message names every place searched and what it held.
    """
    current = current_interpreter()
    if request.accepts(current.version):
        return current
    seen: dict[str, list[str]] = {"PATH": [], "pyenv": [], "uv": []}
    for place, path, hint in _candidates(request, uv):
        if hint is not None and not request.could_accept(hint):
            seen[place].append(version_text(hint))
            continue
        version = _probe(path)
        if version is None:
            continue
        if request.accepts(version):
            return Interpreter(path, version)
        seen[place].append(version_text(version))
    raise EnvError(_not_found(request, where, current, seen))


def _not_found(
    request: PythonRequest, where: str, current: Interpreter, seen: dict[str, list[str]]
) -> str:
    found = "; ".join(
        f"{place}: {', '.join(sorted(set(versions))) or 'none'}" for place, versions in seen.items()
    )
    return (
        f"{where}: no Python matching {request.text!r} on this machine (searched: mlproj's own "
        f"{current.version_text}; {found}); install one (e.g. `uv python install "
        f"{request.text}` or `pyenv install`) or change the version"
    )


def _candidates(
    request: PythonRequest, uv: str | None
) -> Iterator[tuple[str, str, Version | None]]:
    """(place, path, version the name promises or None) in search order, each path once."""
    done: set[str] = set()
    for place, path, hint in _all_candidates(request, uv):
        real = os.path.realpath(path)
        if real in done or not os.access(path, os.X_OK):
            continue
        done.add(real)
        yield place, path, hint


def _all_candidates(
    request: PythonRequest, uv: str | None
) -> Iterator[tuple[str, str, Version | None]]:
    minor = request.exact_minor
    names = [f"python{minor[0]}.{minor[1]}"] if minor else []
    shims = _pyenv_root() / "shims"
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and _same_folder(folder, shims):
            continue
        for name in (*names, *_python_names(folder)):
            path = os.path.join(folder or ".", name)
            if os.path.isfile(path):
                yield "PATH", path, _name_version(name)
    for version_dir in _pyenv_versions():
        yield "pyenv", str(version_dir / "bin" / "python"), _dir_version(version_dir.name)
    for version_dir in _uv_pythons(uv):
        yield "uv", str(version_dir / "bin" / "python3"), _dir_version(version_dir.name)


def _python_names(folder: str) -> list[str]:
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return []
    # Newest versions first, so an open request (>=3.9) gets the newest on PATH.
    found = [name for name in entries if _PATH_NAME.match(name)]
    return sorted(found, key=lambda name: [int(p) for p in re.findall(r"\d+", name)], reverse=True)


def _name_version(name: str) -> Version | None:
    """(major, minor) that a ``pythonX.Y`` name promises; None for ``python3`` and ``python``."""
    match = _MINOR_NAME.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _same_folder(folder: str, other: Path) -> bool:
    try:
        return os.path.samefile(folder, other)
    except OSError:
        return False


def _pyenv_versions() -> list[Path]:
    return _version_folders(_pyenv_root() / "versions")


def _uv_pythons(uv: str | None) -> list[Path]:
    if uv is None:
        return []
    where = run_tool([uv, "python", "dir"], timeout=30)
    return _version_folders(Path(where.stdout.strip())) if where.ok else []


def _version_folders(root: Path) -> list[Path]:
    try:
        folders = [p for p in root.iterdir() if p.is_dir() and _dir_version(p.name)]
    except OSError:
        return []
    return sorted(folders, key=lambda p: _dir_version(p.name) or (), reverse=True)


def _dir_version(name: str) -> Version | None:
    match = _DIR_VERSION.search(name)
    return tuple(int(x) for x in match.groups()) if match else None


def _probe(path: str) -> Version | None:
    result = run_tool([path, "-c", _PROBE], timeout=30, env=_probe_env())
    if not result.ok:
        return None
    try:
        return tuple(int(x) for x in result.stdout.strip().split("."))
    except ValueError:
        return None


def _probe_env() -> dict[str, str]:
    # A pyenv shim obeys PYENV_VERSION; unset it so the shim reports what it would really run.
    return {k: v for k, v in os.environ.items() if k not in ("PYENV_VERSION", "PYTHONHOME")}
