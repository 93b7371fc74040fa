"""Live ingestion of a run's log file (``MLPROJ_LOG_FILE``) into the store.

A thread reads what the run appended since the last look, every ``poll_interval`` seconds, and
writes each batch in a few transactions (all metrics of a batch in one). Only complete lines
are parsed while the run goes; a last line without its newline waits for the next look, and is
taken as it is when the run has ended. Bad lines never stop ingestion: each is counted, the first
few are kept with their line number and reason, and the good lines around them are stored.

Polling a file (rather than a pipe or a socket) is what lets the writer be anything that can
append to a file: another language, a process in a container, a job on another machine that
shares the run folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mlproj.errors import MlprojError, UsageError
from mlproj.tracking.db import now_ms
from mlproj.tracking.store import Store

if TYPE_CHECKING:  # loaded with the first line to parse: most runs log nothing through the file
    from mlproj.tracking.history import Metric
    from mlproj.tracking.records import ArtifactRecord, Batch, ParamRecord

#: Seconds between two looks at the file while the run goes.
POLL_INTERVAL = 0.1
#: Most bytes read per look (the rest is read at the next one, without waiting).
READ_CHUNK = 1 << 20
#: Longest line accepted; a longer one is skipped up to its newline and counted as malformed.
MAX_LINE = 1 << 20
#: How many problems are kept word for word (all are counted).
KEPT_PROBLEMS = 5


class IngestSummary:
    """What ingestion stored and refused; ``problems`` holds the first few reasons.

    A plain slotted class rather than a dataclass: a counter the ingestor updates as it goes,
    not a record; creating a dataclass would add about 1 ms to every `mlproj run`.
    """

    __slots__ = ("malformed", "problems", "rejected", "stored")

    def __init__(self) -> None:
        self.stored: dict[str, int] = {}  # records stored, by kind (metric, param, tag, artifact)
        self.malformed = 0
        self.rejected = 0
        self.problems: list[str] = []

    def problem(self, line: int | None, reason: str, *, malformed: bool) -> None:
        """Count one refused line or record and keep its reason when there is room."""
        if malformed:
            self.malformed += 1
        else:
            self.rejected += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(f"line {line}: {reason}" if line else reason)

    def count(self, kind: str, number: int = 1) -> None:
        """Count stored records of one kind (metric, param, tag, artifact)."""
        self.stored[kind] = self.stored.get(kind, 0) + number


class LogIngestor:
    """Tails one log file into one run until :meth:`stop`.

    Args:
        store: Where to write (its connection is shared, one transaction at a time).
        run_id: The run the records belong to.
        log_file: The file the run appends to (created empty if missing).
        workdir: Where relative artifact paths are taken from (the entry point's folder).
        artifact_dir: The run's artifact folder.
    """

    def __init__(
        self, store: Store, run_id: str, log_file: Path, *, workdir: Path, artifact_dir: Path
    ) -> None:
        self.store, self.run_id = store, run_id
        self.workdir, self.artifact_dir = workdir, artifact_dir
        self.summary = IngestSummary()
        self.poll_interval = POLL_INTERVAL
        log_file.touch(exist_ok=True)
        self._file: BinaryIO = log_file.open("rb")
        self._pending = bytearray()
        self._skipping = False  # inside an over-long line, dropping bytes up to its newline
        self._line = 0
        self._extra: list[Metric] = []  # metrics from other sources (captured stdout)
        self._extra_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mlproj-ingest", daemon=True)

    def start(self) -> None:
        """Start reading in the background."""
        self._thread.start()

    def add_metrics(self, metrics: list[Metric]) -> None:
        """Queue metrics from another source; they are stored with the next batch."""
        with self._extra_lock:
            self._extra.extend(metrics)

    def stop(self) -> IngestSummary:
        """Stop the thread, ingest everything left (the last line too), close the file."""
        if not self._file.closed:
            self._stop.set()
            if self._thread.is_alive():
                self._thread.join()
            self._guarded(lambda: self._tick(final=True))
            self._file.close()
        return self.summary

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            self._guarded(lambda: self._tick(final=False))

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except MlprojError as exc:  # the store refused a whole batch (locked, disk full)
            self.summary.problem(None, exc.message, malformed=False)
        except Exception as exc:  # ingestion must never take the run down
            self.summary.problem(None, f"{type(exc).__name__}: {exc}", malformed=False)

    def _tick(self, *, final: bool) -> None:
        while True:
            chunk = self._file.read(READ_CHUNK)
            lines = self._split(chunk, final=final and len(chunk) < READ_CHUNK)
            with self._extra_lock:
                extra, self._extra = self._extra, []
            if lines:  # the record parser loads once something was logged, not before
                self._store(self._parse(lines, extra))
            elif extra:
                self._store_metrics(extra)
            if len(chunk) < READ_CHUNK:
                return

    def _split(self, chunk: bytes, *, final: bool) -> list[tuple[int, bytes]]:
        """Complete lines of the data read so far, numbered; keeps the incomplete tail."""
        self._pending += chunk
        *complete, tail = self._pending.split(b"\n")
        if final and tail:
            complete.append(tail)
            tail = bytearray()
        lines: list[tuple[int, bytes]] = []
        for raw in complete:
            self._line += 1
            if self._skipping:  # the end of an over-long line
                self._skipping = False
                continue
            lines.append((self._line, bytes(raw)))
        self._pending = bytearray(tail)
        if len(self._pending) > MAX_LINE and not self._skipping:
            self._skipping = True
            self.summary.problem(self._line + 1, f"longer than {MAX_LINE} bytes", malformed=True)
        if self._skipping:
            self._pending.clear()
        return lines

    def _parse(self, lines: list[tuple[int, bytes]], metrics: list[Metric]) -> Batch:
        """The records of ``lines``, after ``metrics`` (captured since the last look)."""
        from mlproj.tracking.records import Batch, RecordError, parse_record

        batch = Batch(metrics=metrics)
        arrival = now_ms()
        for number, raw in lines:
            try:
                text = raw.decode("utf-8").strip()
                if text:
                    batch.add(number, parse_record(text, arrival))
            except UnicodeDecodeError:
                self.summary.problem(number, "not UTF-8 text", malformed=True)
            except RecordError as exc:
                self.summary.problem(number, str(exc), malformed=True)
        return batch

    def _store(self, batch: Batch) -> None:
        if batch.metrics:
            self._store_metrics(batch.metrics)
        if batch.params:
            self._store_params(batch.params)
        if batch.tags:
            self.store.set_tags(self.run_id, batch.tags)
            self.summary.count("tag", len(batch.tags))
        if batch.artifacts:
            self._store_artifacts(batch.artifacts)

    def _store_metrics(self, metrics: list[Metric]) -> None:
        self.store.log_metrics(self.run_id, metrics)  # all of them in one transaction
        self.summary.count("metric", len(metrics))

    def _store_artifacts(self, artifacts: list[tuple[int, ArtifactRecord]]) -> None:
        from mlproj.tracking.artifacts import store_artifact

        for number, artifact in artifacts:
            source = self.workdir / artifact.path  # an absolute path stays as it is
            try:
                store_artifact(self.artifact_dir, source, artifact.artifact_path)
                self.summary.count("artifact")
            except MlprojError as exc:
                self.summary.problem(number, exc.message, malformed=False)

    def _store_params(self, params: list[tuple[int, ParamRecord]]) -> None:
        as_dict = {record.key: record.value for _, record in params}
        if len(as_dict) == len(params):
            try:  # the common case: one transaction
                self.store.log_params(self.run_id, as_dict)
                self.summary.count("param", len(params))
                return
            except UsageError:
                pass  # a value changed: find which, one by one
        for number, record in params:
            try:
                self.store.log_params(self.run_id, {record.key: record.value})
                self.summary.count("param")
            except UsageError as exc:
                self.summary.problem(number, exc.message, malformed=False)
