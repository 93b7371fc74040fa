"""Write log records into the current mlproj run: the child side of the log-record protocol.

``mlproj run`` gives every entry point two environment variables:

* ``MLPROJ_LOG_FILE``: a file to append JSON lines to, one record each (published as
  ``schemas/log-record.schema.json``), which mlproj ingests while the run goes and at its end;
* ``MLPROJ_ARTIFACT_DIR``: the run's artifact folder, where artifacts are copied right away.

This module uses the standard library only and imports nothing else from mlproj, so that it
can be copied as a single file into a project whose environment does not have mlproj installed
(a virtualenv, a conda env, a container)::

    import mlproj_log  # a copy of this file
    mlproj_log.log_param("alpha", 0.5)
    mlproj_log.log_metric("loss", 0.25, step=3)

Each record is one ``write()`` on a file opened with ``O_APPEND``, so records from several
processes of one run (workers, a shell script calling ``mlproj log``) never interleave.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

LOG_FILE_ENV = "MLPROJ_LOG_FILE"
ARTIFACT_DIR_ENV = "MLPROJ_ARTIFACT_DIR"
#: Longest key accepted (MLflow's limit, so keys move between the two tools).
MAX_KEY_LENGTH = 250
#: How non-finite metric values are spelled: JSON has no NaN or Infinity.
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


_quote = json.encoder.encode_basestring  # a str as a JSON string, as json.dumps writes it
# One encoder for every record: json.dumps with options builds a new one per call (~3x slower).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class NoRunError(RuntimeError):
    """Logging was asked for outside a run (``MLPROJ_LOG_FILE`` is not set)."""


def now_ms() -> int:
    """The current time in milliseconds since the epoch (the unit of record timestamps)."""
    return time.time_ns() // 1_000_000


def check_key(key: object) -> str:
    """``key`` when it is a usable key (a non-empty string of at most 250 characters)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"a key must be a non-empty string (got {key!r})")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"key {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters")
    return key


def metric_value(key: str, value: object) -> float | str:
    """``value`` as it is written in a metric record: a finite float, or "NaN"/"Infinity"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # type: ignore[arg-type]  # numpy scalars, Decimal, ...
        except (TypeError, ValueError):
            raise ValueError(f"metric {key!r}: value {value!r} is not a number") from None
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def metric_step(key: str, step: object) -> int:
    """``step`` as an integer (0 when None)."""
    if step is None:
        return 0
    if isinstance(step, bool) or not isinstance(step, int):
        try:
            as_float = float(step)  # type: ignore[arg-type]  # e.g. 3.0 or numpy ints
        except (TypeError, ValueError):
            raise ValueError(f"metric {key!r}: step {step!r} is not an integer") from None
        if not as_float.is_integer():
            raise ValueError(f"metric {key!r}: step {step!r} is not an integer")
        return int(as_float)
    return step


def relative_parts(relative: str) -> tuple[str, ...]:
    """The parts of a relative artifact path (``/`` or ``\\`` separated).

    Raises:
        ValueError: The path is absolute or has a ``..`` part.
    """
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise ValueError(f"artifact path {relative!r} must be relative, without '..'")
    return pure.parts


def confined_path(root: Path | str, relative: str) -> Path:
    """The path ``relative`` inside ``root``, refusing anything that would land outside it.

    ``relative`` may not be absolute or contain ``..``; symbolic links inside ``root`` are
    followed and the result must still be inside ``root`` (so a link planted in the artifact
    folder cannot redirect a copy elsewhere).

    Raises:
        ValueError: The path escapes ``root``.
    """
    pure = relative_parts(relative)
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, *pure))
    if target != real_root and not target.startswith(real_root.rstrip(os.sep) + os.sep):
        raise ValueError(f"artifact path {relative!r} leads outside the artifact folder")
    return Path(target)


def copy_artifact(source: Path | str, artifact_dir: Path | str, artifact_path: str = "") -> str:
    """Copy a file or folder into ``artifact_dir/artifact_path/``; returns where, relative.

    Folders are copied whole; symbolic links inside them are copied as the files they point to
    (as MLflow does), so the artifact folder itself never holds a link.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        ValueError: ``artifact_path`` escapes the artifact folder, or the destination holds a
            symbolic link.
    """
    src = Path(source)
    if not src.exists():
        raise FileNotFoundError(f"artifact {str(source)!r} does not exist")
    folder = confined_path(artifact_dir, artifact_path)
    dest = folder / src.name
    if dest.is_symlink():
        raise ValueError(f"artifact destination {dest} is a symbolic link; refusing to write")
    folder.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        if dest.exists() and any(p.is_symlink() for p in dest.rglob("*")):
            raise ValueError(f"artifact destination {dest} holds symbolic links; refusing")
        shutil.copytree(src, dest, dirs_exist_ok=True)
    else:
        shutil.copyfile(src, dest)
    return str(dest.relative_to(os.path.realpath(artifact_dir)).as_posix())


class LogWriter:
    """Appends records to one log file; copies artifacts into one artifact folder."""

    __slots__ = ("_fd", "_pid", "artifact_dir", "path")

    def __init__(self, path: Path | str, artifact_dir: Path | str | None = None) -> None:
        self.path = str(path)
        self.artifact_dir = None if artifact_dir is None else str(artifact_dir)
        self._fd: int | None = None
        self._pid = 0

    @classmethod
    def from_environment(cls) -> LogWriter:
        """The writer of the run this process belongs to.

        Raises:
            NoRunError: ``MLPROJ_LOG_FILE`` is not set.
        """
        path = os.environ.get(LOG_FILE_ENV)
        if not path:
            raise NoRunError(
                f"{LOG_FILE_ENV} is not set: this process is not running inside `mlproj run`"
            )
        return cls(path, os.environ.get(ARTIFACT_DIR_ENV) or None)

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record as one line (one write, so concurrent writers never interleave)."""
        self._append(_ENCODER.encode(record) + "\n")

    def _append(self, line: str) -> None:
        data = line.encode()
        fd = self._descriptor()
        while data:
            written = os.write(fd, data)
            data = data[written:]

    def _descriptor(self) -> int:
        # Reopened after a fork: a child process gets its own descriptor (same file, O_APPEND).
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._pid = os.getpid()
        return self._fd

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Record one metric value (``step`` defaults to 0, ``timestamp`` to now, in ms)."""
        # The hot path of a training loop: the line is built by hand (json.dumps of a dict costs
        # about three times more), with the same text json would write.
        number = metric_value(check_key(key), value)
        text = repr(number) if type(number) is float else f'"{number}"'
        stamp = time.time_ns() // 1_000_000 if timestamp is None else int(timestamp)
        self._append(
            f'{{"type":"metric","key":{_quote(key)},"value":{text},'
            f'"step":{metric_step(key, step)},"timestamp":{stamp}}}\n'
        )

    def log_param(self, key: str, value: object) -> None:
        """Record a parameter (its value as text, as MLflow does)."""
        self.write({"type": "param", "key": check_key(key), "value": str(value)})

    def set_tag(self, key: str, value: object) -> None:
        """Set a tag (its value as text)."""
        self.write({"type": "tag", "key": check_key(key), "value": str(value)})

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> str:
        """Store a file or folder with the run; returns its path inside the artifact folder.

        With an artifact folder the copy happens now, so the file may be deleted right after
        (a temporary folder). Without one, an artifact record names the file and mlproj copies
        it when it reads the record: the file must then stay until the run ends.
        """
        if self.artifact_dir is not None and os.path.isdir(self.artifact_dir):
            return copy_artifact(path, self.artifact_dir, artifact_path or "")
        source = Path(path).absolute()
        if not source.exists():
            raise FileNotFoundError(f"artifact {str(path)!r} does not exist")
        record: dict[str, Any] = {"type": "artifact", "path": str(source)}
        if artifact_path:
            relative_parts(artifact_path)  # refuse escapes now rather than at ingestion
            record["artifact_path"] = artifact_path
        self.write(record)
        return f"{artifact_path}/{source.name}" if artifact_path else source.name


_writer: LogWriter | None = None


def current_writer() -> LogWriter:
    """The writer of this process's run (made on first use; NoRunError outside a run)."""
    global _writer  # noqa: PLW0603 - one writer per process, created on first use
    path = os.environ.get(LOG_FILE_ENV)
    if _writer is None or _writer.path != path:
        _writer = LogWriter.from_environment()
    return _writer


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Record one value of a metric at ``step`` (default 0) in the current run."""
    current_writer().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Record several metrics at the same step."""
    writer = current_writer()
    for key, value in metrics.items():
        writer.log_metric(key, value, step)


def log_param(key: str, value: object) -> None:
    """Record a parameter of the current run."""
    current_writer().log_param(key, value)


def log_params(params: Mapping[str, object]) -> None:
    """Record several parameters."""
    writer = current_writer()
    for key, value in params.items():
        writer.log_param(key, value)


def set_tag(key: str, value: object) -> None:
    """Set a tag on the current run."""
    current_writer().set_tag(key, value)


def set_tags(tags: Mapping[str, object]) -> None:
    """Set several tags."""
    writer = current_writer()
    for key, value in tags.items():
        writer.set_tag(key, value)


def log_artifact(path: Path | str, artifact_path: str | None = None) -> str:
    """Store a file or folder with the current run (see :meth:`LogWriter.log_artifact`)."""
    return current_writer().log_artifact(path, artifact_path)
