"""The local backend behind ``mlproj run --detach``: mlproj itself, detached on this machine.

The detached process runs the submission's launcher (``python -m mlproj.jobexec RUN_DIR``),
which executes the run exactly as an attached ``mlproj run`` does: runner lock, environment,
supervised entry point. Its job id is its pid. Liveness of a started run is judged by the run's
lock, as for any local run; :meth:`LocalBackend.status` covers the gap before that (a launcher
that died before marking its run RUNNING).
"""

from __future__ import annotations

import os
import shlex
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlproj.backends.base import JobPhase, JobState, Submission
from mlproj.backends.config import BackendConfig
from mlproj.errors import BackendError
from mlproj.process import signal_process, spawn_detached

#: The detached process's own output (mlproj's messages; the entry point's go to the run logs).
OUTPUT_NAME = "job.out"
#: What a live launcher's command line contains (a reused pid would not).
_LAUNCHER_MODULE = b"mlproj.jobexec"


class LocalBackend:
    """Detached local runs; the job id is the launcher's pid."""

    name = "local"
    same_host = True
    runs_image = False
    shares_cache = True

    def __init__(self, config: BackendConfig | None = None) -> None:
        if config is not None:
            config.check_keys("local", {"poll-interval": "seconds between two checks"})
        self.interval = config.number("poll-interval", 0.5) if config is not None else 0.5

    def poll_interval(self) -> float:
        """Seconds between two checks while waiting."""
        return self.interval

    def collect_output(self, job_id: str, run_dir: Path) -> None:
        """Nothing to do: the job wrote its logs into the run's folder itself."""

    def render(self, submission: Submission) -> str:
        """The command the detached process runs."""
        return shlex.join(submission.launcher) + "\n"

    def submit(self, submission: Submission) -> str:
        """Start the launcher detached, with its output in the run folder."""
        env = {**os.environ, **submission.variables}
        try:
            pid = spawn_detached(
                submission.launcher,
                cwd=submission.run_dir,
                env=env,
                output=submission.run_dir / OUTPUT_NAME,
            )
        except OSError as exc:
            raise BackendError(
                f"cannot start the detached run ({submission.launcher[0]}: {exc.strerror})"
            ) from exc
        return str(pid)

    def status(self, job_ids: Sequence[str]) -> Mapping[str, JobState]:
        """RUNNING for each launcher still alive; the others are left out (they have ended)."""
        return {
            job_id: JobState(JobPhase.RUNNING, "alive")
            for job_id in job_ids
            if _is_launcher(job_id)
        }

    def cancel(self, job_id: str) -> None:
        """SIGTERM to the launcher, which stops the entry point's group and records KILLED."""
        if _is_launcher(job_id):
            signal_process(int(job_id), signal.SIGTERM)


def _is_launcher(job_id: str) -> bool:
    """True when ``job_id`` is the pid of a live mlproj launcher (not a reused pid)."""
    if not job_id.isdigit():
        return False
    try:
        cmdline = Path(f"/proc/{job_id}/cmdline").read_bytes()
    except OSError:
        return False
    return _LAUNCHER_MODULE in cmdline
