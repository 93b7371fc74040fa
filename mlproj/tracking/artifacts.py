"""A run's artifact folder: storing files in it, listing them, copying them out, all confined.

Every path a user or a run gives is taken relative to the artifact folder and refused when it
would lead outside: no absolute paths, no ``..``, and no symbolic link (planted in the folder
by a run, say) is ever followed on the way in or out; links found inside are skipped.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlproj.errors import NotFoundError, UsageError
from mlproj.logwriter import confined_path, copy_artifact, relative_parts


@dataclass(frozen=True, slots=True)
class ArtifactFile:
    """One stored file: its path inside the artifact folder (``/``-separated) and size."""

    path: str
    size: int


def store_artifact(root: Path, source: Path, artifact_path: str = "") -> str:
    """Copy ``source`` (file or folder) into ``root/artifact_path/``; returns where, relative.

    Raises:
        UsageError: ``source`` does not exist, ``artifact_path`` leads outside the folder, or
            the copy failed.
    """
    try:
        return copy_artifact(source, root, artifact_path)
    except FileNotFoundError as exc:
        raise UsageError(f"cannot log artifact: {source} does not exist") from exc
    except ValueError as exc:
        raise UsageError(f"cannot log artifact {source}: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"cannot log artifact {source}: {exc.strerror or exc}") from exc


def locate(root: Path, path: str) -> Path:
    """The file or folder ``path`` names inside ``root`` (``""``: the folder itself).

    Raises:
        UsageError: ``path`` is absolute, has ``..`` or passes through a symbolic link.
        NotFoundError: Nothing is stored there.
    """
    try:
        parts = relative_parts(path)
        target = confined_path(root, path)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    lexical = Path(os.path.realpath(root), *parts)
    if target != lexical or lexical.is_symlink():
        raise UsageError(f"artifact path {path!r} passes through a symbolic link; refusing")
    if not target.exists():
        raise NotFoundError(f"no artifact {path!r} in {root}")
    return target


def list_files(root: Path, path: str = "") -> list[ArtifactFile]:
    """Every file under ``path`` (or the file itself), sorted; symbolic links are skipped.

    A run without artifacts lists nothing (the folder may not even exist).
    """
    if not path and not root.is_dir():
        return []
    target = locate(root, path)
    real_root = Path(os.path.realpath(root))
    if target.is_file():
        return [ArtifactFile(target.relative_to(real_root).as_posix(), target.stat().st_size)]
    found = [
        ArtifactFile(file.relative_to(real_root).as_posix(), file.stat().st_size)
        for file in _walk(target)
    ]
    return sorted(found, key=lambda each: each.path)


def copy_out(root: Path, path: str, destination: Path) -> list[Path]:
    """Copy ``path`` (a file, a folder, or ``""`` for everything) into folder ``destination``.

    A file or folder lands as ``destination/<its name>``; everything lands as the contents of
    ``destination``. Returns the files written.

    Raises:
        UsageError: ``path`` is unsafe, or ``destination`` exists and is not a folder.
        NotFoundError: Nothing is stored at ``path``.
    """
    target = locate(root, path)
    if destination.exists() and not destination.is_dir():
        raise UsageError(f"{destination} exists and is not a folder; give a folder to copy into")
    base = destination if not path else destination / target.name
    if target.is_file():
        destination.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, base)
        return [base]
    written = []
    for file in _walk(target):
        out = base / file.relative_to(target)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, out)
        written.append(out)
    if not written:
        base.mkdir(parents=True, exist_ok=True)
    return written


def _walk(folder: Path) -> list[Path]:
    files: list[Path] = []
    for current, dirs, names in os.walk(folder, followlinks=False):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
        files.extend(here / name for name in sorted(names) if not (here / name).is_symlink())
    return [file for file in files if file.is_file()]
