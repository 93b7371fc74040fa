"""Live ingestion of MLPROJ_LOG_FILE into a real store, and scalar capture from stdout."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest

from mlproj.tracking.history import Metric
from mlproj.tracking.ingest import MAX_LINE, LogIngestor
from mlproj.tracking.scalars import ScalarCapture, parse_scalar


@pytest.fixture
def run(store, make_run):
    return store.create_run(make_run())


@pytest.fixture
def ingest(store, run, tmp_path):
    log = store.run_dir(run.run_id) / "records.jsonl"
    workdir = tmp_path / "work"
    workdir.mkdir()
    ingestor = LogIngestor(
        store,
        run.run_id,
        log,
        workdir=workdir,
        artifact_dir=store.run_dir(run.run_id) / "artifacts",
    )
    ingestor.poll_interval = 0.02
    yield ingestor
    ingestor.stop()


def append(ingestor, *lines, newline=True):
    with open(ingestor._file.name, "ab") as handle:  # the path the run appends to
        for line in lines:
            data = line if isinstance(line, bytes) else line.encode()
            handle.write(data + (b"\n" if newline else b""))


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def metric(key, value, step=0):
    return json.dumps({"type": "metric", "key": key, "value": value, "step": step})


def test_records_arrive_while_the_run_goes(store, run, ingest):
    ingest.start()
    append(ingest, metric("loss", 0.5, 1), '{"type":"param","key":"alpha","value":"0.1"}')
    assert wait_for(lambda: store.get_run(run.run_id).metrics.get("loss") == 0.5)
    assert store.get_run(run.run_id).params["alpha"] == "0.1"
    append(ingest, metric("loss", 0.25, 2))
    assert wait_for(lambda: store.get_run(run.run_id).metrics.get("loss") == 0.25)
    summary = ingest.stop()
    assert summary.stored == {"metric": 2, "param": 1}
    assert summary.malformed == 0


def test_a_partial_last_line_waits_then_counts_at_the_end(store, run, ingest):
    ingest.start()
    append(ingest, metric("a", 1))
    append(ingest, '{"type": "metric", "key": "b", ', newline=False)
    assert wait_for(lambda: "a" in store.get_run(run.run_id).metrics)
    time.sleep(0.1)  # several polls see the half line
    assert "b" not in store.get_run(run.run_id).metrics
    append(ingest, '"value": 2}', newline=False)  # completed, but still no newline
    summary = ingest.stop()
    assert store.get_run(run.run_id).metrics == {"a": 1.0, "b": 2.0}
    assert summary.malformed == 0


def test_malformed_lines_are_counted_and_never_lose_good_ones(store, run, ingest):
    ingest.start()
    append(
        ingest,
        metric("loss", 1, 0),
        "garbage",
        "",  # blank lines are ignored, not errors
        '{"type": "metric", "key": "loss"}',
        b"\xff\xfe not utf-8",
        metric("loss", 2, 1),
        '{"type": "nope"}',
        "[1]",
        "{",
        metric("loss", 3, 2),
    )
    summary = ingest.stop()
    assert [m.value for m in store.metric_history(run.run_id, "loss")] == [1, 2, 3]
    assert summary.malformed == 6
    assert summary.problems[0] == "line 2: not valid JSON (Expecting value at column 1)"
    assert summary.problems[1].startswith("line 4: metric record without value")
    assert summary.problems[2] == "line 5: not UTF-8 text"
    assert len(summary.problems) == 5  # the first few are kept word for word


def test_an_over_long_line_is_skipped_up_to_its_newline(store, run, ingest):
    ingest.start()
    append(
        ingest, b'{"type": "tag", "key": "big", "value": "' + b"x" * (MAX_LINE + 10), newline=False
    )
    time.sleep(0.1)
    append(ingest, b'"}', metric("after", 1))
    summary = ingest.stop()
    assert summary.malformed == 1
    assert "longer than" in summary.problems[0]
    assert store.get_run(run.run_id).metrics == {"after": 1.0}
    assert "big" not in store.get_run(run.run_id).tags


def test_changed_params_are_refused_one_by_one(store, run, ingest):
    store.log_params(run.run_id, {"fixed": "1"})
    append(
        ingest,
        '{"type":"param","key":"fixed","value":"2"}',
        '{"type":"param","key":"other","value":"x"}',
        '{"type":"param","key":"other","value":"y"}',
    )
    summary = ingest.stop()
    assert store.get_run(run.run_id).params == {"fixed": "1", "other": "x"}
    assert summary.rejected == 2
    assert summary.problems[0].startswith("line 1: param 'fixed' already logged")


def test_artifact_records_copy_files_relative_to_the_workdir(store, run, ingest):
    (ingest.workdir / "model.txt").write_text("weights")
    append(
        ingest,
        '{"type":"artifact","path":"model.txt","artifact_path":"models"}',
        '{"type":"artifact","path":"missing.txt"}',
    )
    summary = ingest.stop()
    stored = store.run_dir(run.run_id) / "artifacts" / "models" / "model.txt"
    assert stored.read_text() == "weights"
    assert summary.stored == {"artifact": 1}
    assert summary.rejected == 1
    assert "missing.txt does not exist" in summary.problems[0]


def test_timestamps_default_to_arrival(store, run, ingest):
    before = int(time.time() * 1000)
    append(ingest, metric("m", 1))
    ingest.stop()
    [point] = store.metric_history(run.run_id, "m")
    assert before <= point.timestamp <= int(time.time() * 1000) + 1


WRITER = """
import sys
sys.path.insert(0, sys.argv[1])
import logwriter
w = logwriter.LogWriter(sys.argv[2])
for i in range(int(sys.argv[4])):
    w.log_metric(sys.argv[3], i, step=i)
"""


def test_concurrent_writers_never_interleave(store, run, ingest, tmp_path):
    """Four processes append at once (O_APPEND, one write per record): nothing is lost."""
    from tests.conftest import REPO

    ingest.start()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(REPO / "mlproj"), ingest._file.name, f"w{n}", "2000"]
        )
        for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    summary = ingest.stop()
    assert summary.malformed == 0
    for n in range(4):
        history = store.metric_history(run.run_id, f"w{n}")
        assert [m.step for m in history] == list(range(2000))


def test_extra_metrics_are_stored_with_the_batches(store, run, ingest):
    ingest.add_metrics([Metric("captured", 1.5, 0, 1)])
    ingest.stop()
    assert store.get_run(run.run_id).metrics == {"captured": 1.5}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("loss: 0.25 (step 3)", ("loss", 0.25, 3)),
        ("loss=0.25", ("loss", 0.25, None)),
        ("  val/rmse = 1.5e-3 (step: 10)  ", ("val/rmse", 0.0015, 10)),
        ("acc: -2", ("acc", -2.0, None)),
        ("x: nan", ("x", math.nan, None)),
        ("epoch 3: loss 0.25", None),
        ("loss: 0.25 at step 3", None),
        ("Loss is 0.25", None),
        ("3: 0.5", None),
        ("loss: abc", None),
    ],
)
def test_parse_scalar(line, expected):
    found = parse_scalar(line)
    if expected is None or found is None:
        assert found == expected
    else:
        assert found[0] == expected[0]
        assert found[2] == expected[2]
        assert (math.isnan(found[1]) and math.isnan(expected[1])) or found[1] == expected[1]


def test_scalar_capture_splits_chunks_and_numbers_steps():
    got: list[Metric] = []
    capture = ScalarCapture(got.extend)
    for chunk in (b"loss: 1\nlo", b"ss: 0.5\nnoise\nacc: 0.9 (step 7)\nacc: 0.95\nloss: 0.2", b""):
        capture.feed(chunk)
    capture.close()
    assert [(m.key, m.value, m.step) for m in got] == [
        ("loss", 1.0, 0),
        ("loss", 0.5, 1),
        ("acc", 0.9, 7),
        ("acc", 0.95, 8),
        ("loss", 0.2, 2),
    ]


def test_ingestion_survives_a_vanished_file(store, run, ingest):
    ingest.start()
    os.unlink(ingest._file.name)  # the run deleted its own log file
    summary = ingest.stop()
    assert summary.malformed == 0
