"""The job file: what a run executed elsewhere needs, written into its folder at submission.

``<run_dir>/job.json`` holds the run's id, the store, the request (as :class:`RunRequest`
fields) and the backend with its config. The mlproj that executes the run (``mlproj.jobexec``
on a Slurm node or in a detached process) plans from it again; status polls read the backend
config from it. Versioned: a node running another mlproj refuses a format it does not know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlproj.errors import StoreError

if TYPE_CHECKING:  # status polls read job files too, and must not import the runner
    from mlproj.runner import RunRequest

JOB_FILE = "job.json"
#: The file the executing mlproj writes last: the run's exit status, one line.
EXIT_CODE_FILE = "exit_code"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class JobFile:
    """The contents of ``job.json``."""

    run_id: str
    tracking_uri: str
    request: RunRequest
    backend: str
    backend_config: Mapping[str, Any] = field(default_factory=dict)


def write_job_file(run_dir: Path, job: JobFile) -> Path:
    """Write ``job.json`` atomically (a node never reads half a file)."""
    data = {
        "format_version": FORMAT_VERSION,
        "run_id": job.run_id,
        "tracking_uri": job.tracking_uri,
        "backend": job.backend,
        "backend_config": dict(job.backend_config),
        "request": _request_data(job.request),
    }
    path = run_dir / JOB_FILE
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def read_backend(run_dir: Path) -> tuple[str, dict[str, Any]]:
    """Only the backend's name and config (what a status poll needs).

    Raises:
        StoreError: The file is missing, malformed or of an unknown format version.
    """
    data = _read(run_dir / JOB_FILE)
    try:
        return str(data["backend"]), dict(data.get("backend_config") or {})
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"{run_dir / JOB_FILE} is not a valid job file ({exc})") from exc


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StoreError(f"cannot read the job file {path} ({exc.strerror})") from exc
    except ValueError as exc:
        raise StoreError(f"{path} is not a valid job file ({exc})") from exc
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        version = data.get("format_version") if isinstance(data, dict) else None
        raise StoreError(
            f"{path}: format_version {version!r} is not {FORMAT_VERSION}; "
            "run the same mlproj version on the nodes as where you submit"
        )
    return data


def read_job_file(run_dir: Path) -> JobFile:
    """Read ``job.json`` back.

    Raises:
        StoreError: The file is missing, malformed or of an unknown format version.
    """
    path = run_dir / JOB_FILE
    data = _read(path)
    try:
        return JobFile(
            run_id=str(data["run_id"]),
            tracking_uri=str(data["tracking_uri"]),
            request=_request_from(data["request"]),
            backend=str(data["backend"]),
            backend_config=dict(data.get("backend_config") or {}),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path} is not a valid job file ({exc})") from exc


def read_exit_code(run_dir: Path) -> int | None:
    """The exit status the executing mlproj wrote, or None when there is none (yet)."""
    try:
        return int((run_dir / EXIT_CODE_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def write_exit_code(run_dir: Path, code: int) -> None:
    """Record the run's exit status in its folder (read when the store was not updated)."""
    partial = run_dir / (EXIT_CODE_FILE + ".partial")
    partial.write_text(f"{code}\n")
    partial.replace(run_dir / EXIT_CODE_FILE)


def _request_data(request: RunRequest) -> dict[str, Any]:
    data = {name: getattr(request, name) for name in request.__dataclass_fields__}
    data["caller_dir"] = str(request.caller_dir)
    data["params"] = dict(request.params)
    data["tags"] = dict(request.tags)
    if request.source_snapshot is not None:
        data["source_snapshot"] = str(request.source_snapshot)
    if request.pinned_installed is not None:
        data["pinned_installed"] = list(request.pinned_installed)
    if request.docker is not None:
        docker = asdict(request.docker)
        data["docker"] = {k: str(v) if isinstance(v, Path) else v for k, v in docker.items()}
    return data


def _request_from(data: Mapping[str, Any]) -> RunRequest:
    from mlproj.runner import RunRequest

    values = dict(data)
    values["caller_dir"] = Path(values["caller_dir"])
    if values.get("source_snapshot") is not None:
        values["source_snapshot"] = Path(values["source_snapshot"])
    if values.get("pinned_installed") is not None:
        values["pinned_installed"] = tuple(values["pinned_installed"])
    if values.get("docker") is not None:
        from mlproj.envs.docker import DockerOptions

        docker = dict(values["docker"])
        docker["args"] = tuple(docker.get("args") or ())
        for key in ("caller_dir", "store_db", "store_runs"):
            if docker.get(key) is not None:
                docker[key] = Path(docker[key])
        values["docker"] = DockerOptions(**docker)
    known = set(RunRequest.__dataclass_fields__)
    return RunRequest(**{k: v for k, v in values.items() if k in known})
