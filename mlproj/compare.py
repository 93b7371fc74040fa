"""Runs side by side: what `mlproj runs compare` and `mlproj runs diff` show, as data.

Pure functions over recorded runs: every field becomes one row of text values (one per run),
grouped in sections (run, source, env, params, metrics, tags), and a row *differs* when its
values are not all equal. Rendering is the CLI's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mlproj.tracking.models import Run

SECTIONS = ("run", "source", "env", "params", "metrics", "tags")
#: Tags shown in their own sections (source, env) or too internal to compare.
_SECTION_TAGS = {"mlproj.source.": "source", "mlproj.env.": "env"}
_HIDDEN_TAGS = ("mlproj.caller_dir", "mlproj.params.defaults")


@dataclass(frozen=True, slots=True)
class Row:
    """One compared field: its section, name and value in each run (None: not recorded)."""

    section: str
    name: str
    values: tuple[str | None, ...]
    #: For metrics of two runs: last value minus first (None when not both numbers).
    delta: float | None = None

    @property
    def differs(self) -> bool:
        """True when the runs do not all have the same value."""
        return len(set(self.values)) > 1


@dataclass(frozen=True, slots=True)
class Comparison:
    """Rows of every section for a list of runs, in the runs' order."""

    runs: tuple[Run, ...]
    rows: tuple[Row, ...]

    def differing(self) -> Comparison:
        """The same comparison, keeping only the rows that differ."""
        return Comparison(self.runs, tuple(row for row in self.rows if row.differs))


def number_text(value: float) -> str:
    """A metric value as text: exact enough to tell values apart, short when it can be."""
    if math.isnan(value):
        return "nan"
    return format(value, ".10g")


def _time(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000).isoformat(sep=" ")[:19]


def _duration(run: Run) -> str | None:
    return None if run.end_time is None else f"{(run.end_time - run.start_time) / 1000:.3f} s"


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


_FIELDS: tuple[tuple[str, str, Callable[[Run], object]], ...] = (
    ("run", "name", lambda r: r.run_name),
    ("run", "experiment", lambda r: r.experiment_name),
    ("run", "status", lambda r: r.status.value),
    ("run", "exit code", lambda r: r.exit_code),
    ("run", "started", lambda r: _time(r.start_time)),
    ("run", "duration", _duration),
    ("run", "entry point", lambda r: r.entry_point),
    ("run", "command", lambda r: r.command),
    ("source", "uri", lambda r: r.source_uri),
    ("source", "subdir", lambda r: r.source_subdir),
    ("source", "version", lambda r: r.source_version),
    ("source", "commit", lambda r: r.source_commit),
    ("source", "dirty", lambda r: r.source_dirty),
    ("env", "manager", lambda r: r.env_manager),
    ("env", "key", lambda r: r.env_key),
)


def compare(runs: Sequence[Run]) -> Comparison:
    """Every field of ``runs`` side by side."""
    rows = [
        Row(section, name, tuple(_text(get(run)) for run in runs)) for section, name, get in _FIELDS
    ]
    rows.extend(_tag_rows(runs))
    rows.extend(_keyed_rows("params", [run.params for run in runs]))
    rows.extend(_metric_rows(runs))
    rows.sort(key=lambda row: SECTIONS.index(row.section))  # stable: fields keep their order
    return Comparison(tuple(runs), tuple(rows))


def _keyed_rows(section: str, values: Sequence[dict[str, str]]) -> list[Row]:
    keys = sorted({key for each in values for key in each})
    return [Row(section, key, tuple(each.get(key) for each in values)) for key in keys]


def _metric_rows(runs: Sequence[Run]) -> list[Row]:
    rows = []
    for key in sorted({key for run in runs for key in run.metrics}):
        numbers = [run.metrics.get(key) for run in runs]
        delta = None
        first, last = numbers[0], numbers[-1]
        if len(runs) == 2 and first is not None and last is not None:
            delta = last - first if math.isfinite(first) and math.isfinite(last) else None
        texts = tuple(None if n is None else number_text(n) for n in numbers)
        rows.append(Row("metrics", key, texts, delta))
    return rows


def _tag_rows(runs: Sequence[Run]) -> list[Row]:
    rows = []
    for row in _keyed_rows("tags", [run.tags for run in runs]):
        if row.name in _HIDDEN_TAGS:
            continue
        section = next((s for p, s in _SECTION_TAGS.items() if row.name.startswith(p)), "tags")
        name = row.name.split(".", 2)[2] if section != "tags" else row.name
        rows.append(Row(section, name, row.values))
    return rows
