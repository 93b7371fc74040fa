"""The log-record protocol: the parser, the writer and the published schema agree."""

from __future__ import annotations

import json
import math

import jsonschema
import pytest

from mlproj.logwriter import LogWriter
from mlproj.tracking.history import Metric
from mlproj.tracking.records import (
    ArtifactRecord,
    ParamRecord,
    RecordError,
    TagRecord,
    parse_record,
)
from tests.conftest import REPO

SCHEMA = json.loads((REPO / "schemas" / "log-record.schema.json").read_text())
ARRIVAL = 1_764_000_000_000

GOOD = [
    '{"type": "metric", "key": "loss", "value": 0.25, "step": 3, "timestamp": 1764000000001}',
    '{"type": "metric", "key": "loss", "value": 1}',
    '{"type": "metric", "key": "loss", "value": "NaN"}',
    '{"type": "metric", "key": "loss", "value": "-Infinity", "step": -1}',
    '{"type": "metric", "key": "loss", "value": 2.5, "step": 4.0}',
    '{"type": "param", "key": "alpha", "value": "0.5"}',
    '{"type": "param", "key": "alpha", "value": 0.5}',
    '{"type": "param", "key": "flag", "value": true}',
    '{"type": "tag", "key": "note", "value": "a b c"}',
    '{"type": "tag", "key": "n", "value": 3}',
    '{"type": "artifact", "path": "model.pkl"}',
    '{"type": "artifact", "path": "/tmp/x.txt", "artifact_path": "models/best"}',
    '{"type": "artifact", "path": "x", "artifact_path": "a..b/c"}',
    '{"type": "param", "key": "' + "k" * 250 + '", "value": ""}',
]
BAD = [
    "not json",
    "[1, 2]",
    '"a string"',
    "{}",
    '{"type": "metrik", "key": "loss", "value": 1}',
    '{"type": "metric", "key": "loss"}',
    '{"type": "metric", "value": 1}',
    '{"type": "metric", "key": "", "value": 1}',
    '{"type": "metric", "key": 3, "value": 1}',
    '{"type": "metric", "key": "' + "k" * 251 + '", "value": 1}',
    '{"type": "metric", "key": "loss", "value": "0.25"}',
    '{"type": "metric", "key": "loss", "value": true}',
    '{"type": "metric", "key": "loss", "value": null}',
    '{"type": "metric", "key": "loss", "value": 1, "step": 1.5}',
    '{"type": "metric", "key": "loss", "value": 1, "step": "3"}',
    '{"type": "metric", "key": "loss", "value": 1, "timestamp": -5}',
    '{"type": "metric", "key": "loss", "value": 1, "extra": 1}',
    '{"type": "param", "key": "alpha"}',
    '{"type": "param", "key": "alpha", "value": null}',
    '{"type": "param", "key": "alpha", "value": [1]}',
    '{"type": "param", "key": "alpha", "value": "x", "step": 1}',
    '{"type": "tag", "key": "t", "value": {"a": 1}}',
    '{"type": "artifact"}',
    '{"type": "artifact", "path": ""}',
    '{"type": "artifact", "path": "x", "artifact_path": "../up"}',
    '{"type": "artifact", "path": "x", "artifact_path": "a/../../up"}',
    '{"type": "artifact", "path": "x", "artifact_path": "/abs"}',
    '{"type": "artifact", "path": "x", "artifact_path": ".."}',
    '{"type": "artifact", "path": 3}',
]


def schema_accepts(line: str) -> bool:
    try:
        jsonschema.validate(json.loads(line), SCHEMA)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


@pytest.mark.parametrize("line", GOOD)
def test_good_lines_parse_and_validate(line):
    parse_record(line, ARRIVAL)
    assert schema_accepts(line)


@pytest.mark.parametrize("line", BAD)
def test_bad_lines_are_refused_by_parser_and_schema(line):
    with pytest.raises(RecordError):
        parse_record(line, ARRIVAL)
    assert not schema_accepts(line)


def test_the_schema_itself_is_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_defaults_and_conversions():
    assert parse_record('{"type":"metric","key":"l","value":2}', ARRIVAL) == Metric(
        "l", 2.0, 0, ARRIVAL
    )
    nan = parse_record('{"type":"metric","key":"l","value":"NaN"}', ARRIVAL)
    assert isinstance(nan, Metric)
    assert math.isnan(nan.value)
    # Python's json module writes bare NaN; accepted although it is not strict JSON.
    bare = parse_record('{"type":"metric","key":"l","value":NaN}', ARRIVAL)
    assert isinstance(bare, Metric)
    assert math.isnan(bare.value)
    assert parse_record('{"type":"param","key":"a","value":0.5}', 0) == ParamRecord("a", "0.5")
    assert parse_record('{"type":"param","key":"a","value":false}', 0) == ParamRecord("a", "false")
    assert parse_record('{"type":"tag","key":"t","value":"x"}', 0) == TagRecord("t", "x")
    assert parse_record('{"type":"artifact","path":"m"}', 0) == ArtifactRecord("m", "")


def test_records_written_by_the_writer_validate(tmp_path):
    log = tmp_path / "records.jsonl"
    writer = LogWriter(log)  # no artifact folder: artifact records are written
    (tmp_path / "model.pkl").write_text("m")
    writer.log_metric("loss", 0.25, step=3)
    writer.log_metric("loss", float("nan"))
    writer.log_metric("loss", float("-inf"), step=2.0)  # type: ignore[arg-type]
    writer.log_param("alpha", 0.5)
    writer.set_tag("note", "naïve ✓")
    writer.log_artifact(tmp_path / "model.pkl", artifact_path="models")
    lines = log.read_text().splitlines()
    assert len(lines) == 6
    for line in lines:
        assert schema_accepts(line), line
        parse_record(line, ARRIVAL)
    assert json.loads(lines[0])["step"] == 3
    assert json.loads(lines[1])["value"] == "NaN"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda w: w.log_metric("", 1), "non-empty"),
        (lambda w: w.log_metric("k" * 251, 1), "longer than 250"),
        (lambda w: w.log_metric("loss", "abc"), "not a number"),
        (lambda w: w.log_metric("loss", 1, step=1.5), "not an integer"),
        (lambda w: w.log_artifact("/nonexistent/file"), "does not exist"),
    ],
)
def test_writer_refuses_bad_values_at_once(tmp_path, call, message):
    writer = LogWriter(tmp_path / "records.jsonl")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        call(writer)
    assert not (tmp_path / "records.jsonl").exists() or not (tmp_path / "records.jsonl").read_text()
