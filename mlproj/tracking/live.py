"""Everything that records into a run while its entry point runs, started and stopped together.

* the log file (``MLPROJ_LOG_FILE``), ingested live by :class:`~mlproj.tracking.ingest.LogIngestor`;
* the artifact folder (``MLPROJ_ARTIFACT_DIR``), where writers copy artifacts themselves;
* the MLflow bridge (``MLFLOW_TRACKING_URI`` and friends), unless switched off;
* with ``capture_scalars``, stdout lines like ``loss: 0.25 (step 3)`` as metrics.

At the end, problems are recorded on the run as tags (``mlproj.log.malformed``,
``mlproj.log.rejected``, ``mlproj.log.problems``, ``mlproj.mlflow.unsupported``) and returned in
a :class:`LiveSummary` for the caller to report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.errors import StoreError
from mlproj.tracking.ingest import IngestSummary, LogIngestor
from mlproj.tracking.models import Run
from mlproj.tracking.store import Store

if TYPE_CHECKING:
    from mlproj.tracking.mlflow_bridge import MlflowBridge
    from mlproj.tracking.scalars import ScalarCapture

#: The variables the entry point's log writers read. mlproj/logwriter.py names them too (it is
#: copied alone into environments without mlproj, so it imports nothing from here); importing
#: it here would load json on every run's start. A test keeps both equal.
LOG_FILE_ENV = "MLPROJ_LOG_FILE"
ARTIFACT_DIR_ENV = "MLPROJ_ARTIFACT_DIR"
#: Name of the log file in the run folder (kept after the run: it is the raw record).
LOG_FILENAME = "records.jsonl"
MALFORMED_TAG = "mlproj.log.malformed"
REJECTED_TAG = "mlproj.log.rejected"
PROBLEMS_TAG = "mlproj.log.problems"
UNSUPPORTED_TAG = "mlproj.mlflow.unsupported"


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How to track one run: ``workdir`` is where the entry point runs."""

    workdir: Path
    capture_scalars: bool = False
    mlflow_bridge: bool = True
    #: Where the MLflow bridge listens and how the entry point reaches it (a container: the
    #: gateway of its network), and the store's path as the entry point sees it, if elsewhere.
    bridge_listen: str = "127.0.0.1"
    bridge_url_host: str | None = None
    artifact_view: tuple[str, str] | None = None
    #: Why there can be no bridge (e.g. a container without network), reported at the end.
    bridge_unavailable: str | None = None


@dataclass(frozen=True, slots=True)
class LiveSummary:
    """What was recorded from inside the run, and what could not be."""

    ingest: IngestSummary
    mlflow_unsupported: dict[str, int] = field(default_factory=dict)
    #: Why the MLflow bridge could not serve, if it could not.
    mlflow_error: str | None = None

    @property
    def problem_lines(self) -> list[str]:
        """One line per kind of problem, for the end-of-run report."""
        lines = []
        ingest = self.ingest
        if ingest.malformed:
            lines.append(f"{ingest.malformed} malformed log line(s) ignored")
        if ingest.rejected:
            lines.append(f"{ingest.rejected} log record(s) refused")
        lines.extend(f"  {problem}" for problem in ingest.problems)
        if self.mlflow_unsupported:
            calls = ", ".join(f"{k} (x{n})" for k, n in sorted(self.mlflow_unsupported.items()))
            lines.append(f"MLflow calls mlproj does not implement were refused: {calls}")
        if self.mlflow_error:
            lines.append(f"the MLflow bridge was not available: {self.mlflow_error}")
        return lines


class LiveTracking:
    """Starts and stops the recorders of one run (see the module docstring)."""

    def __init__(self, store: Store, run: Run, options: LiveOptions) -> None:
        self.store, self.run, self.options = store, run, options
        self.log_file = store.run_dir(run.run_id) / LOG_FILENAME
        self.artifact_dir = Path(run.artifact_uri)
        self._ingestor: LogIngestor | None = None
        self._capture: ScalarCapture | None = None
        self._bridge: MlflowBridge | None = None
        self._bridge_error: str | None = None
        self._summary: LiveSummary | None = None

    def start(self) -> None:
        """Create the log file and start reading it; start the MLflow bridge.

        Raises:
            StoreError: The log file or the artifact folder cannot be created.
        """
        try:
            self.artifact_dir.mkdir(parents=True, exist_ok=True)
            self._ingestor = LogIngestor(
                self.store,
                self.run.run_id,
                self.log_file,
                workdir=self.options.workdir,
                artifact_dir=self.artifact_dir,
            )
        except OSError as exc:
            raise StoreError(
                f"cannot create the log file {self.log_file} of run {self.run.run_id} "
                f"({exc.strerror or exc}); check the store folder's permissions and free space"
            ) from exc
        self._ingestor.start()
        if self.options.capture_scalars:
            from mlproj.tracking.scalars import ScalarCapture

            self._capture = ScalarCapture(self._ingestor.add_metrics)
        if self.options.bridge_unavailable is not None:
            self._bridge_error = self.options.bridge_unavailable
        elif self.options.mlflow_bridge:
            self._start_bridge()

    def _start_bridge(self) -> None:
        from mlproj.tracking.mlflow_bridge import MlflowBridge

        options = self.options
        try:  # MLflow compatibility is a convenience: a run never fails for lack of it
            self._bridge = MlflowBridge(
                self.store,
                self.run,
                listen=options.bridge_listen,
                url_host=options.bridge_url_host,
                artifact_view=options.artifact_view,
            )
        except OSError as exc:
            self._bridge_error = f"cannot listen on {options.bridge_listen} ({exc.strerror or exc})"
            return
        self._bridge.start()

    def child_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` plus the variables that point the entry point's loggers at this run."""
        env = dict(base)
        env[LOG_FILE_ENV] = str(self.log_file)
        env[ARTIFACT_DIR_ENV] = str(self.artifact_dir)
        if self._bridge is not None:
            from mlproj.tracking.mlflow_bridge import OVERRIDDEN

            for name in OVERRIDDEN:
                env.pop(name, None)
            env.update(self._bridge.variables())
        return env

    @property
    def stdout_tap(self) -> Callable[[bytes], None] | None:
        """What to feed the entry point's stdout to (None when scalars are not captured)."""
        return None if self._capture is None else self._capture.feed

    def stop(self) -> LiveSummary:
        """Stop everything, ingest what is left, record problems as tags. Safe to call twice."""
        if self._summary is not None:
            return self._summary
        stopper = None
        if self._bridge is not None:  # shutting the server down overlaps the final ingestion
            stopper = threading.Thread(target=self._stop_bridge, name="mlproj-mlflow-stop")
            stopper.start()
        if self._capture is not None:
            self._capture.close()
        ingest = self._ingestor.stop() if self._ingestor is not None else IngestSummary()
        if stopper is not None:
            stopper.join()
        unsupported: dict[str, int] = {}
        if self._bridge is not None:
            unsupported = self._bridge.unsupported
        self._summary = LiveSummary(ingest, unsupported, self._bridge_error)
        self._record(self._summary)
        return self._summary

    def _stop_bridge(self) -> None:
        assert self._bridge is not None  # only started when there is a bridge
        try:
            self._bridge.stop()
        except Exception as exc:  # a failure here must not print a thread traceback
            self._bridge_error = f"stopping it failed: {type(exc).__name__}: {exc}"

    def _record(self, summary: LiveSummary) -> None:
        tags = {}
        if summary.ingest.malformed:
            tags[MALFORMED_TAG] = str(summary.ingest.malformed)
        if summary.ingest.rejected:
            tags[REJECTED_TAG] = str(summary.ingest.rejected)
        if summary.ingest.problems:
            tags[PROBLEMS_TAG] = "; ".join(summary.ingest.problems)
        if summary.mlflow_unsupported:
            tags[UNSUPPORTED_TAG] = ", ".join(sorted(summary.mlflow_unsupported))
        if tags:
            self.store.set_tags(self.run.run_id, tags)
