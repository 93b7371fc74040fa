"""The log-record protocol, reading side: one JSON line becomes one checked record.

Loaded by ingestion with the first line a run logs (:class:`Batch` groups a look's records).

A run's entry point appends lines like these to the file named by ``MLPROJ_LOG_FILE``::

    {"type": "metric", "key": "loss", "value": 0.25, "step": 3, "timestamp": 1764000000000}
    {"type": "param", "key": "alpha", "value": "0.5"}
    {"type": "tag", "key": "note", "value": "baseline"}
    {"type": "artifact", "path": "model.pkl", "artifact_path": "models"}

The rules are those of ``schemas/log-record.schema.json`` (a test keeps the two in agreement):
unknown types and fields are refused, ``step`` defaults to 0 and ``timestamp`` (milliseconds)
to the time the line was read. Metric values are numbers, or the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` since JSON has no spelling for them; Python's own bare
``NaN``/``Infinity`` tokens are accepted too. Param and tag values may be strings, numbers or
booleans; they are stored as text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from mlproj.tracking.history import Metric

MAX_KEY_LENGTH = 250
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_FIELDS = {
    "metric": ({"type", "key", "value"}, {"step", "timestamp"}),
    "param": ({"type", "key", "value"}, set()),
    "tag": ({"type", "key", "value"}, set()),
    "artifact": ({"type", "path"}, {"artifact_path"}),
}

_METRIC_FIELDS = frozenset(_FIELDS["metric"][0] | _FIELDS["metric"][1])


class RecordError(ValueError):
    """A line that is not a valid log record; the message says why."""


@dataclass(frozen=True, slots=True)
class ParamRecord:
    """A parameter logged by the run."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class TagRecord:
    """A tag set by the run."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """A file or folder to copy into the run's artifacts (``artifact_path``: where inside)."""

    path: str
    artifact_path: str = ""


Record = Metric | ParamRecord | TagRecord | ArtifactRecord


@dataclass(slots=True)
class Batch:
    """The records of one look at the log file, grouped by how they are stored.

    Params and artifacts keep their line numbers, for the problems they may cause.
    """

    metrics: list[Metric] = field(default_factory=list)
    params: list[tuple[int, ParamRecord]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[tuple[int, ArtifactRecord]] = field(default_factory=list)

    def add(self, number: int, record: Record) -> None:
        """Add the record read on line ``number``."""
        if isinstance(record, Metric):
            self.metrics.append(record)
        elif isinstance(record, ParamRecord):
            self.params.append((number, record))
        elif isinstance(record, TagRecord):
            self.tags[record.key] = record.value
        else:
            self.artifacts.append((number, record))


def parse_record(line: str, arrival_ms: int) -> Record:
    """Parse one line of the protocol (without its newline).

    Raises:
        RecordError: The line is not JSON, or not a valid record.
    """
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise RecordError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RecordError(f"a record is a JSON object, not {type(data).__name__}")
    kind = data.get("type")
    if kind == "metric" and data.keys() <= _METRIC_FIELDS and "key" in data and "value" in data:
        return _metric(_key(data["key"]), data, arrival_ms)  # the common case, checked fast
    if kind not in _FIELDS:
        expected = ", ".join(_FIELDS)
        raise RecordError(f"unknown record type {kind!r} (expected one of {expected})")
    required, optional = _FIELDS[kind]
    missing = sorted(required - data.keys())
    if missing:
        raise RecordError(f"{kind} record without {', '.join(missing)}")
    unknown = sorted(data.keys() - required - optional)
    if unknown:
        raise RecordError(f"{kind} record with unknown field {', '.join(unknown)}")
    if kind == "artifact":
        return _artifact(data)
    key = _key(data["key"])
    if kind == "metric":
        return _metric(key, data, arrival_ms)
    value = _text(key, data["value"])
    return ParamRecord(key, value) if kind == "param" else TagRecord(key, value)


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise RecordError(f"key must be a non-empty string, not {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise RecordError(f"key {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters")
    return key


def _metric(key: str, data: dict[str, Any], arrival_ms: int) -> Metric:
    value = data["value"]
    if isinstance(value, str) and value in _NON_FINITE:
        number = _NON_FINITE[value]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise RecordError(f"metric {key!r}: value {value!r} is not a number")
    step = _integer(key, "step", data.get("step", 0))
    timestamp = _integer(key, "timestamp", data.get("timestamp", arrival_ms))
    if timestamp < 0:
        raise RecordError(f"metric {key!r}: timestamp {timestamp} is negative")
    return Metric(key, number, step, timestamp)


def _integer(key: str, name: str, value: Any) -> int:
    if type(value) is int:  # the common case first (bool is a subclass of int, not int itself)
        return value
    # JSON Schema's "integer" accepts 3.0 as well as 3; so do we.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"metric {key!r}: {name} {value!r} is not an integer")
    if isinstance(value, float) and not value.is_integer():
        raise RecordError(f"metric {key!r}: {name} {value!r} is not an integer")
    return int(value)


def _text(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and math.isfinite(value):
        return json.dumps(value)
    raise RecordError(f"{key!r}: value {value!r} is not a string, number or boolean")


def _artifact(data: dict[str, Any]) -> ArtifactRecord:
    path, where = data["path"], data.get("artifact_path", "")
    if not isinstance(path, str) or not path:
        raise RecordError(f"artifact path must be a non-empty string, not {path!r}")
    if not isinstance(where, str):
        raise RecordError(f"artifact_path must be a string, not {where!r}")
    pure = PurePosixPath(where.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise RecordError(f"artifact_path {where!r} must be relative, without '..'")
    return ArtifactRecord(path, where)
