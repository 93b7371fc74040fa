"""Rendering of result objects as human text or JSON. Pure functions returning strings.

The JSON shapes are published in ``schemas/run.schema.json`` and pinned by tests. Tables are
plain aligned text (fast to produce, friendly to `grep` and `column`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from mlproj.tracking.history import Experiment
from mlproj.tracking.models import Run

if TYPE_CHECKING:  # `runs list` renders runs only: the project model loads with a project
    from mlproj.spec.model import Project

#: Version of the JSON objects mlproj prints; bumped on any incompatible change.
JSON_FORMAT_VERSION = 1
_CELL = 40


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _local(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _duration(run: Run) -> float | None:
    if run.end_time is None:
        return None
    return round((run.end_time - run.start_time) / 1000, 3)


def run_object(run: Run) -> dict[str, Any]:
    """The documented JSON object of a run (schemas/run.schema.json)."""
    return {
        "format_version": JSON_FORMAT_VERSION,
        "run_id": run.run_id,
        "experiment": run.experiment_name,
        "experiment_id": run.experiment_id,
        "run_name": run.run_name,
        "status": run.status.value,
        "exit_code": run.exit_code,
        "start_time": _iso(run.start_time),
        "end_time": _iso(run.end_time),
        "duration": _duration(run),
        "entry_point": run.entry_point,
        "command": run.command,
        "source": {
            "uri": run.source_uri,
            "version": run.source_version,
            "commit": run.source_commit,
            "dirty": run.source_dirty,
            "subdir": run.source_subdir,
            "details": source_details(run),
        },
        "env": {"manager": run.env_manager, "key": run.env_key, "details": env_details(run)},
        "params": dict(run.params),
        "metrics": dict(run.metrics),
        "tags": dict(run.tags),
        "artifact_uri": run.artifact_uri,
        "user": run.user,
        "host": run.host,
        "mlproj_version": run.mlproj_version,
    }


def env_details(run: Run) -> dict[str, str]:
    """The ``mlproj.env.*`` tags of a run without their prefix (tool, python, installed...)."""
    prefix = "mlproj.env."
    return {k[len(prefix) :]: v for k, v in sorted(run.tags.items()) if k.startswith(prefix)}


def _dump(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def run_json(run: Run) -> str:
    return _dump(run_object(run))


def runs_json(runs: Iterable[Run]) -> str:
    return _dump([run_object(run) for run in runs])


def _cut(text: str, width: int = _CELL) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _pairs(values: dict[str, Any]) -> str:
    return _cut(" ".join(f"{k}={_number(v)}" for k, v in values.items()))


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def _varying(values: Sequence[dict[str, Any]]) -> list[str]:
    """Keys whose values differ between the listed runs that have them: what tells runs apart."""
    keys = sorted({key for value in values for key in value})
    return [k for k in keys if len({str(v[k]) for v in values if k in v}) > 1]


def _pick(values: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The varying keys of one run, or all of its keys when none of them varies."""
    picked = {k: values[k] for k in keys if k in values}
    return picked or dict(sorted(values.items()))


def runs_table(runs: Sequence[Run]) -> str:
    """The `runs list` table; PARAMS and METRICS show the keys that differ between the runs."""
    if not runs:
        return "no runs\n"
    param_keys = _varying([run.params for run in runs])
    metric_keys = _varying([run.metrics for run in runs])
    header = ("RUN", "NAME", "STATUS", "EXIT", "STARTED", "SECONDS", "ENTRY", "PARAMS", "METRICS")
    rows = []
    for run in runs:
        duration = _duration(run)
        params = _pick(run.params, param_keys)
        metrics = _pick(run.metrics, metric_keys)
        rows.append(
            (
                run.run_id[:12],
                _cut(run.run_name, 24),
                run.status.value,
                "-" if run.exit_code is None else str(run.exit_code),
                _local(run.start_time),
                "-" if duration is None else f"{duration:.2f}",
                _cut(run.entry_point, 20),
                _pairs(params) or "-",
                _pairs(metrics) or "-",
            )
        )
    return table(header, rows)


def run_text(run: Run, installed: Sequence[str] = ()) -> str:
    """`runs show`: the run, then ``installed`` (the installed set saved with it), if any."""
    obj = run_object(run)
    lines = [
        f"run          {run.run_id}",
        f"name         {run.run_name}",
        f"experiment   {run.experiment_name} ({run.experiment_id})",
        f"status       {run.status.value}"
        + ("" if run.exit_code is None else f" (exit code {run.exit_code})"),
        f"started      {_local(run.start_time)}",
        f"ended        {_local(run.end_time)}",
        f"entry point  {run.entry_point}",
        f"command      {run.command}",
        *_source_lines(run),
    ]
    lines.append(f"env          {run.env_manager}" + (f" {run.env_key}" if run.env_key else ""))
    details = env_details(run)
    facts = [f"{k} {details[k]}" for k in ("tool", "python", "installed") if k in details]
    if facts:
        lines.append(f"             {', '.join(facts)}")
    lines.append(f"artifacts    {obj['artifact_uri']}")
    lines.append(f"by           {run.user}@{run.host}, mlproj {run.mlproj_version}")
    tags = {k: v for k, v in run.tags.items() if not k.startswith(_SOURCE_TAG)}
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", tags)):
        lines.append(f"{title}:" + ("" if values else " -"))
        lines.extend(f"  {key} = {_number(value)}" for key, value in sorted(values.items()))
    if installed:
        lines.append(f"installed ({len(installed)}):")
        lines.extend(f"  {line}" for line in installed)
    return "\n".join(lines) + "\n"


_SOURCE_TAG = "mlproj.source."


def source_details(run: Run) -> dict[str, str]:
    """The source provenance recorded as ``mlproj.source.<key>`` tags, keyed without prefix."""
    return {
        k[len(_SOURCE_TAG) :]: v for k, v in sorted(run.tags.items()) if k.startswith(_SOURCE_TAG)
    }


def _source_lines(run: Run) -> list[str]:
    """The provenance block of `runs show`: where the code came from and exactly which it was."""
    details = source_details(run)
    run_dir = run.artifact_uri.rsplit("/", 1)[0]
    lines = [
        f"source       {run.source_uri}" + (f"#{run.source_subdir}" if run.source_subdir else "")
    ]
    given = details.get("given")
    if given and given != lines[0].split(maxsplit=1)[1]:
        lines.append(f"  given      {given}")
    kind = next((k for k in ("tag", "branch") if k in details), None)
    ref = ""
    if kind:
        ref = f" ({kind})" if details[kind] == run.source_version else f" ({kind} {details[kind]})"
    if run.source_version:
        lines.append(f"version      {run.source_version}{ref}")
        ref = ""
    if run.source_commit:
        dirty = " (dirty: uncommitted changes saved with the run)" if run.source_dirty else ""
        lines.append(f"commit       {run.source_commit}{ref}{dirty}")
    for key, label in (("remote", "remote"), ("fetch", "cache"), ("workdir", "kept at")):
        if key in details and details[key] != run.source_uri:
            lines.append(f"{label:<12} {details[key]}")
    for key in ("diff", "untracked"):
        if key in details:
            saved = details[key].startswith("source/")  # else why it was not saved
            lines.append(
                f"{key:<12} {run_dir}/{details[key]}" if saved else f"{key:<12} {details[key]}"
            )
    if "rebuilt_from" in details:
        lines.append(f"rebuilt from {details['rebuilt_from']}")
    lines.extend(
        f"submodule    {k.removeprefix('submodule.')} @ {v}"
        for k, v in details.items()
        if k.startswith("submodule.")
    )
    return lines


def experiments_table(experiments: Sequence[Experiment]) -> str:
    if not experiments:
        return "no experiments\n"
    rows = [(e.experiment_id, e.name, _local(e.creation_time)) for e in experiments]
    return table(("ID", "NAME", "CREATED"), rows)


def experiments_json(experiments: Sequence[Experiment]) -> str:
    return _dump(
        [
            {
                "experiment_id": e.experiment_id,
                "name": e.name,
                "creation_time": _iso(e.creation_time),
            }
            for e in experiments
        ]
    )


def project_object(project: Project) -> dict[str, Any]:
    """The JSON object `mlproj describe --json` prints."""
    env: dict[str, Any] = {"kind": project.env.kind.value}
    if project.env.file is not None:
        env["file"] = str(project.env.file)
    if project.env.docker is not None:
        env["image"] = project.env.docker.image
    return {
        "format_version": JSON_FORMAT_VERSION,
        "name": project.name,
        "directory": str(project.directory),
        "spec_file": str(project.spec_file) if project.spec_file else None,
        "env": env,
        "entry_points": {
            name: {
                "command": entry.command,
                "parameters": {
                    p.name: {"type": p.type.value, "default": p.default, "required": p.required}
                    for p in entry.parameters
                },
            }
            for name, entry in project.entry_points.items()
        },
    }


def project_json(project: Project) -> str:
    return _dump(project_object(project))


def project_text(project: Project) -> str:
    obj = project_object(project)
    env = obj["env"]
    where = env.get("file") or env.get("image") or ""
    lines = [
        f"name         {project.name}",
        f"directory    {project.directory}",
        f"environment  {env['kind']}" + (f" ({where})" if where else ""),
        "entry points:" + ("" if project.entry_points else " none (run a .py or .sh file with -e)"),
    ]
    for name, entry in project.entry_points.items():
        lines.append(f"  {name}: {entry.command}")
        for p in entry.parameters:
            default = "required" if p.required else f"default {p.default!r}"
            lines.append(f"    {p.name}: {p.type.value}, {default}")
    return "\n".join(lines) + "\n"


def validated(project: Project) -> str:
    count = len(project.entry_points)
    where = project.spec_file.name if project.spec_file else "no MLproject (convention project)"
    return f"{where}: OK, project '{project.name}', {count} entry point(s)\n"
