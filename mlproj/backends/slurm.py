"""The Slurm backend: a generated batch script, `sbatch --parsable`, batched `squeue`, `scancel`.

The batch script runs mlproj itself on the node (the submission's ``launcher``): it prepares the
environment there under the same cache and lock rules (the cache folder is assumed to be on a
filesystem the nodes share; ``cache-dir`` moves it), runs the entry point, and writes the run's
logs, metrics and exit-code file into the run's folder. Status comes from one
``squeue -t all`` call for every job being watched, never from ``sacct`` (accounting is often
off); a job that left the queue is judged by the exit-code file.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlproj.backends.base import (
    DEFAULT_POLL_INTERVAL,
    JobPhase,
    JobState,
    Submission,
    default_poll_interval,
)
from mlproj.backends.config import BackendConfig
from mlproj.errors import BackendError
from mlproj.process import run_tool
from mlproj.toolresults import ToolResult

SCRIPT_NAME = "job.sbatch"
#: Where the scheduler writes the job's own output (mlproj's messages on the node).
OUTPUT_NAME = "slurm-%j.out"
_TIMEOUT = 60.0

#: backend-config key -> what it takes (shown when a key is unknown).
KNOWN_KEYS = {
    "partition": "partition name",
    "time": "time limit, e.g. 01:00:00",
    "cpus": "CPUs per task",
    "mem": "memory, e.g. 4G",
    "gpus": "GPUs, e.g. 1 or a100:2",
    "account": "account to charge",
    "qos": "quality of service",
    "sbatch-args": "extra #SBATCH lines, e.g. ['--constraint=avx2']",
    "env": "extra variables for the job",
    "cache-dir": "mlproj cache folder shared by the nodes",
    "poll-interval": "seconds between two squeue calls",
}

# Slurm job states (squeue %T) onto run phases. Preempted and node-failed jobs keep their own
# name in the run record (JobState.native); only the phase is shared with other backends.
_PHASES = {
    "PENDING": JobPhase.SCHEDULED,
    "CONFIGURING": JobPhase.SCHEDULED,
    "REQUEUED": JobPhase.SCHEDULED,
    "REQUEUE_FED": JobPhase.SCHEDULED,
    "REQUEUE_HOLD": JobPhase.SCHEDULED,
    "RESV_DEL_HOLD": JobPhase.SCHEDULED,
    "RUNNING": JobPhase.RUNNING,
    "COMPLETING": JobPhase.RUNNING,
    "SUSPENDED": JobPhase.RUNNING,
    "STOPPED": JobPhase.RUNNING,
    "SIGNALING": JobPhase.RUNNING,
    "STAGE_OUT": JobPhase.RUNNING,
    "RESIZING": JobPhase.RUNNING,
    "COMPLETED": JobPhase.FINISHED,
    "CANCELLED": JobPhase.KILLED,
    "PREEMPTED": JobPhase.KILLED,
    "REVOKED": JobPhase.KILLED,
    "FAILED": JobPhase.FAILED,
    "BOOT_FAIL": JobPhase.FAILED,
    "DEADLINE": JobPhase.FAILED,
    "NODE_FAIL": JobPhase.FAILED,
    "OUT_OF_MEMORY": JobPhase.FAILED,
    "TIMEOUT": JobPhase.FAILED,
    "SPECIAL_EXIT": JobPhase.FAILED,
}


@dataclass(frozen=True, slots=True)
class SlurmConfig:
    """The sbatch options and node-side settings of ``-c``."""

    partition: str | None = None
    time: str | None = None
    cpus: str | None = None
    mem: str | None = None
    gpus: str | None = None
    account: str | None = None
    qos: str | None = None
    sbatch_args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cache_dir: str | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL

    @classmethod
    def from_config(cls, config: BackendConfig) -> SlurmConfig:
        """Check and read the Slurm keys of a backend config."""
        config.check_keys("slurm", KNOWN_KEYS)
        for line in config.lines("sbatch-args"):
            if not line.startswith("-"):
                raise config.problem("sbatch-args", "sbatch options starting with '-'")
        return cls(
            partition=config.text("partition"),
            time=config.text("time"),
            cpus=config.text("cpus"),
            mem=config.text("mem"),
            gpus=config.text("gpus"),
            account=config.text("account"),
            qos=config.text("qos"),
            sbatch_args=config.lines("sbatch-args"),
            env=config.mapping("env"),
            cache_dir=config.text("cache-dir"),
            poll_interval=config.number("poll-interval", default_poll_interval()),
        )

    def directives(self) -> list[str]:
        """The ``#SBATCH`` options this config asks for."""
        named = [
            ("--partition", self.partition),
            ("--time", self.time),
            ("--cpus-per-task", self.cpus),
            ("--mem", self.mem),
            ("--gpus", self.gpus),
            ("--account", self.account),
            ("--qos", self.qos),
        ]
        return [f"{flag}={value}" for flag, value in named if value] + list(self.sbatch_args)


def render_script(submission: Submission, config: SlurmConfig) -> str:
    """The batch script: options as ``#SBATCH`` lines, then mlproj running the run on the node."""
    run_dir = submission.run_dir
    lines = [
        "#!/bin/bash",
        f"# mlproj run {submission.run_id}: generated by `mlproj run -b slurm`.",
        f"#SBATCH --job-name={_job_name(submission.name)}",
        f"#SBATCH --output={_directive_value(run_dir / OUTPUT_NAME)}",
        # The run's folder, not the project: a git checkout is the node's own (made by mlproj).
        f"#SBATCH --chdir={_directive_value(run_dir)}",
        # A preempted or failed node must not silently run the same run again.
        "#SBATCH --no-requeue",
    ]
    lines += [f"#SBATCH {option}" for option in config.directives()]
    variables = dict(config.env or {})
    if config.cache_dir:
        variables["MLPROJ_CACHE_DIR"] = config.cache_dir
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(variables.items())]
    # exec: scancel's SIGTERM reaches mlproj, which stops the entry point and records KILLED.
    lines.append("exec " + shlex.join(submission.launcher))
    return "\n".join(lines) + "\n"


def _directive_value(path: Path) -> str:
    """A path as an ``#SBATCH`` value: sbatch splits on spaces unless the value is quoted."""
    text = str(path)
    if '"' in text or "\n" in text:
        raise BackendError(
            f"the run folder {text!r} contains a double quote or newline, which #SBATCH lines "
            "cannot carry; use a --tracking-uri without them"
        )
    return f'"{text}"' if any(c.isspace() for c in text) else text


def _job_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:64] or "mlproj"


class SlurmBackend:
    """Submits with sbatch, watches with one squeue per poll, cancels with scancel."""

    name = "slurm"
    same_host = False
    runs_image = False

    def __init__(self, config: SlurmConfig) -> None:
        self.config = config

    @property
    def shares_cache(self) -> bool:
        """True unless the nodes use a cache folder of their own (``cache-dir``)."""
        return self.config.cache_dir is None

    def poll_interval(self) -> float:
        """Seconds between two squeue calls."""
        return self.config.poll_interval

    def collect_output(self, job_id: str, run_dir: Path) -> None:
        """Nothing to do: the job wrote its logs into the run's folder itself."""

    def render(self, submission: Submission) -> str:
        """The batch script ``sbatch`` would receive."""
        return render_script(submission, self.config)

    def submit(self, submission: Submission) -> str:
        """Write the batch script into the run folder and submit it; returns the job id."""
        script = submission.run_dir / SCRIPT_NAME
        script.write_text(render_script(submission, self.config), encoding="utf-8")
        result = _slurm(["sbatch", "--parsable", str(script)], "submit the job")
        job_id = result.stdout.strip().split(";")[0]  # "id;cluster" on federated clusters
        if not job_id.isdigit():
            raise BackendError(f"sbatch printed no job id ({result.stdout.strip()!r})")
        return job_id

    def status(self, job_ids: Sequence[str]) -> Mapping[str, JobState]:
        """One ``squeue -t all`` call for all ``job_ids``; jobs Slurm forgot are left out."""
        if not job_ids:
            return {}
        argv = ["squeue", "--noheader", "--states=all", "--format=%i|%T|%r"]
        result = run_tool([*argv, f"--jobs={','.join(job_ids)}"], timeout=_TIMEOUT)
        if not result.ok and "Invalid job id" in result.stderr:
            return {}  # every job has left the queue (MinJobAge)
        _check(result, "read job states")
        return parse_squeue(result.stdout)

    def cancel(self, job_id: str) -> None:
        """scancel: Slurm sends SIGTERM to the job (mlproj records KILLED), SIGKILL later."""
        result = run_tool(["scancel", job_id], timeout=_TIMEOUT)
        if not result.ok and "Invalid job id" not in result.stderr:
            _check(result, f"cancel job {job_id}")


def parse_squeue(text: str) -> dict[str, JobState]:
    """Parse ``squeue --format=%i|%T|%r`` lines (array tasks ``12_3`` are kept as given)."""
    states: dict[str, JobState] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 3:
            continue
        job_id, native, reason = parts
        phase = _PHASES.get(native.upper(), JobPhase.RUNNING)
        states[job_id] = JobState(phase, native, "" if reason in ("None", "(null)") else reason)
    return states


def _slurm(argv: list[str], doing: str) -> ToolResult:
    result = run_tool(argv, timeout=_TIMEOUT)
    _check(result, doing)
    return result


def _check(result: ToolResult, doing: str) -> None:
    if result.ok:
        return
    tool = result.argv[0]
    if result.returncode == 127:
        raise BackendError(
            f"cannot {doing}: '{tool}' is not on PATH; run mlproj where the Slurm client "
            "commands are installed (a login node), or use -b local"
        )
    message = " ".join((result.stderr or result.stdout).split()) or f"exit {result.returncode}"
    message = message.removeprefix(f"{tool}: ").removeprefix("error: ")
    hint = _hint(message)
    raise BackendError(f"cannot {doing}: {tool}: {message}{hint}")


def _hint(message: str) -> str:
    lowered = message.lower()
    if "partition" in lowered:
        return " (list partitions with `sinfo -s`; set one with -c '{\"partition\": NAME}')"
    if "unable to contact" in lowered or "connection refused" in lowered:
        return " (is slurmctld running? check `scontrol ping`)"
    return ""
