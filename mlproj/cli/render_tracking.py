"""Rendering for comparing runs, metric histories, artifacts and CSV. Pure functions to strings.

Differences are marked with ``*`` in the first column (grep-able, and visible without colour);
on a terminal the differing values are also drawn in bold yellow.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlproj.cli.render import JSON_FORMAT_VERSION, run_object
from mlproj.compare import Comparison, Row, number_text
from mlproj.tracking.artifacts import ArtifactFile
from mlproj.tracking.history import Metric
from mlproj.tracking.models import Run

if TYPE_CHECKING:
    from mlproj.reproduce import RunDiff

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
_CELL = 40
_HIGHLIGHT, _RESET = "\x1b[1;33m", "\x1b[0m"


def _dump(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _cut(text: str, width: int = _CELL) -> str:
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


# Comparing -------------------------------------------------------------------------------


def comparison_text(comparison: Comparison, *, color: bool, deltas: bool = False) -> str:
    """Sections of rows, one column per run; differing rows start with ``*``."""
    header = ["", "", *(f"{run.run_id[:12]} ({_cut(run.run_name, 20)})" for run in comparison.runs)]
    body: list[tuple[list[str], bool]] = []
    section = None
    for row in comparison.rows:
        if row.section != section:
            section = row.section
            body.append((["", section.upper(), *[""] * len(comparison.runs)], False))
        cells = ["*" if row.differs else "", f"  {_cut(row.name, 30)}"]
        cells.extend(_cut("-" if value is None else value) for value in row.values)
        if deltas and row.delta is not None:
            cells.append(_delta_text(row))
        body.append((cells, row.differs))
    if not body:
        return "no differences\n"
    return _grid(header, body, color=color)


def _delta_text(row: Row) -> str:
    assert row.delta is not None
    first = float(row.values[0] or "nan")
    percent = f" ({row.delta / abs(first) * 100:+.1f}%)" if first and math.isfinite(first) else ""
    return f"Δ {row.delta:+.6g}{percent}"


def _grid(header: list[str], body: list[tuple[list[str], bool]], *, color: bool) -> str:
    rows = [header, *(cells for cells, _ in body)]
    columns = max(len(row) for row in rows)
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(columns)]
    lines = []
    for cells, differs in [(header, False), *body]:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(cells)]
        if color and differs:
            padded[2:] = [f"{_HIGHLIGHT}{cell}{_RESET}" for cell in padded[2:]]
        lines.append(" ".join(padded[:1]) + " " + "  ".join(padded[1:]))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _rows_json(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            "section": row.section,
            "name": row.name,
            "values": list(row.values),
            "differs": row.differs,
            **({"delta": row.delta} if row.delta is not None else {}),
        }
        for row in rows
    ]


def comparison_json(comparison: Comparison) -> str:
    """``{"format_version", "runs": [ids], "rows": [{section, name, values, differs}]}``."""
    return _dump(
        {
            "format_version": JSON_FORMAT_VERSION,
            "runs": [run.run_id for run in comparison.runs],
            "rows": _rows_json(comparison.rows),
        }
    )


def diff_text(diff: RunDiff, *, color: bool) -> str:
    """The differing rows of two runs, the code change, and notes."""
    out = comparison_text(diff.comparison, color=color, deltas=True)
    if diff.diff_stat:
        out += "\nCODE (git diff --stat)\n" + diff.diff_stat
    if diff.code_note:
        out += f"\nnote: {diff.code_note}\n"
    return out


def diff_json(diff: RunDiff) -> str:
    """Like :func:`comparison_json` (differing rows only) plus ``code``."""
    return _dump(
        {
            "format_version": JSON_FORMAT_VERSION,
            "runs": [run.run_id for run in diff.comparison.runs],
            "rows": _rows_json(diff.comparison.rows),
            "code": {"diff_stat": diff.diff_stat, "note": diff.code_note},
        }
    )


# Metric histories ------------------------------------------------------------------------


def sparkline(values: Sequence[float], width: int = SPARK_WIDTH) -> str:
    """Values as block characters, averaged into at most ``width`` columns (blank: NaN)."""
    if not values:
        return ""
    columns = min(width, len(values))
    buckets: list[float] = []
    for index in range(columns):
        chunk = values[index * len(values) // columns : (index + 1) * len(values) // columns]
        finite = [v for v in chunk if math.isfinite(v)]
        buckets.append(sum(finite) / len(finite) if finite else math.nan)
    shown = [b for b in buckets if math.isfinite(b)]
    if not shown:
        return " " * columns
    low, high = min(shown), max(shown)
    span = high - low
    top = len(BARS) - 1
    return "".join(
        " " if not math.isfinite(b) else BARS[round((b - low) / span * top) if span else top // 2]
        for b in buckets
    )


def _at(metric: Metric) -> str:
    return f"{number_text(metric.value)} (step {metric.step})"


def metric_text(key: str, history: Sequence[Metric]) -> str:
    """A metric's history: count, steps, a sparkline, first/last/min/max."""
    values = [metric.value for metric in history]
    finite = [metric for metric in history if math.isfinite(metric.value)]
    lines = [
        f"{key}: {len(history):,} value(s), steps {history[0].step} to {history[-1].step}",
        f"  {sparkline(values)}",
        f"  first {_at(history[0])}   last {_at(history[-1])}",
    ]
    if finite:
        low = min(finite, key=lambda m: m.value)
        high = max(finite, key=lambda m: m.value)
        lines.append(f"  min {_at(low)}   max {_at(high)}")
    return "\n".join(lines) + "\n"


def metrics_json(run: Run, histories: dict[str, list[Metric]]) -> str:
    """``{"format_version", "run_id", "metrics": {key: [{step, value, timestamp}]}}``."""
    return _dump(
        {
            "format_version": JSON_FORMAT_VERSION,
            "run_id": run.run_id,
            "metrics": {
                key: [
                    {
                        "step": m.step,
                        "value": m.value if math.isfinite(m.value) else None,
                        "timestamp": m.timestamp,
                    }
                    for m in history
                ]
                for key, history in histories.items()
            },
        }
    )


# Artifacts and CSV -----------------------------------------------------------------------


def artifacts_text(files: Sequence[ArtifactFile]) -> str:
    """``SIZE  PATH`` lines."""
    if not files:
        return "no artifacts\n"
    width = max(len(f"{file.size:,}") for file in files)
    return "".join(f"{file.size:>{width},}  {file.path}\n" for file in files)


def artifacts_json(run: Run, files: Sequence[ArtifactFile]) -> str:
    """``{"format_version", "run_id", "artifact_uri", "files": [{path, size}]}``."""
    return _dump(
        {
            "format_version": JSON_FORMAT_VERSION,
            "run_id": run.run_id,
            "artifact_uri": run.artifact_uri,
            "files": [{"path": file.path, "size": file.size} for file in files],
        }
    )


def copied_json(run: Run, written: Sequence[Path]) -> str:
    """``{"format_version", "run_id", "copied": [paths written]}``."""
    return _dump(
        {
            "format_version": JSON_FORMAT_VERSION,
            "run_id": run.run_id,
            "copied": [str(path) for path in written],
        }
    )


_CSV_FIELDS = (
    "run_id", "run_name", "experiment", "status", "exit_code", "start_time", "end_time",
    "duration", "entry_point", "command",
)  # fmt: skip


def runs_csv(runs: Sequence[Run]) -> str:
    """One row per run: attributes, source, env, then ``params.*``, ``metrics.*``, ``tags.*``."""
    keyed = {
        "params": sorted({key for run in runs for key in run.params}),
        "metrics": sorted({key for run in runs for key in run.metrics}),
        "tags": sorted({key for run in runs for key in run.tags}),
    }
    header = [
        *_CSV_FIELDS,
        *(f"source_{f}" for f in ("uri", "subdir", "version", "commit", "dirty")),
        "env_manager",
        "env_key",
        *(f"{group}.{key}" for group, keys in keyed.items() for key in keys),
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for run in runs:
        obj = run_object(run)
        row: list[Any] = [obj[name] for name in _CSV_FIELDS]
        row.extend(obj["source"][f] for f in ("uri", "subdir", "version", "commit", "dirty"))
        row.extend([obj["env"]["manager"], obj["env"]["key"]])
        for group, keys in keyed.items():
            values = obj[group]
            row.extend(_csv_cell(values.get(key)) for key in keys)
        writer.writerow([_plain(cell) for cell in row])
    return out.getvalue()


def _plain(cell: object) -> object:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    return cell


def _csv_cell(value: object) -> object:
    if isinstance(value, float):
        return number_text(value)
    return value
