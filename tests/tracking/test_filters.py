"""The --filter and --sort languages, end to end against a real store."""

from __future__ import annotations

import pytest

from mlproj.errors import ExitCode, UsageError
from mlproj.tracking import filters, queries, sqlgen
from mlproj.tracking.filters import parse_filter, parse_sort
from mlproj.tracking.history import Metric, PastRun
from mlproj.tracking.models import RunStatus


@pytest.fixture
def runs(store, make_run):
    """Five runs with known params, metrics, tags and attributes; start times 1000..5000."""
    specs = [
        # name, experiment, status, exit, params, metrics, tags
        ("r1", "Default", RunStatus.FINISHED, 0, {"alpha": "0.5", "batch-size": "32"},
         {"rmse": 0.7}, {"team": "Vision"}),
        ("r2", "Default", RunStatus.FAILED, 1, {"alpha": "10", "opt": "adam"},
         {"rmse": 0.9}, {"team": "nlp"}),
        ("r3", "tuning", RunStatus.FINISHED, 0, {"alpha": "9", "opt": "sgd"},
         {"rmse": 0.6, "mae": 0.2}, {}),
        ("r4", "tuning", RunStatus.KILLED, 130, {"alpha": "abc"}, {}, {"team": "vision"}),
        ("r5", "tuning", RunStatus.FINISHED, 0, {}, {"rmse": 1.5}, {"note": "it's done"}),
    ]  # fmt: skip
    past = [
        PastRun(
            make_run(run_name=name, experiment_name=exp, params=params, tags=tags,
                     user="grace" if name == "r5" else "ada"),
            start_time=1000 * (i + 1),
            end_time=None if name == "r4" else 1000 * (i + 1) + 5,
            status=status,
            exit_code=code,
            metrics=tuple(Metric(k, v, 0, 0) for k, v in metrics.items()),
        )
        for i, (name, exp, status, code, params, metrics, tags) in enumerate(specs)
    ]  # fmt: skip
    store.bulk_insert_runs(past)
    return store


def names(store, text=None, **kwargs):
    return [run.run_name for run in store.search_runs(filter=text, **kwargs)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.alpha = '0.5'", ["r1"]),
        ('params.alpha == "0.5"', ["r1"]),
        ("params.alpha = 0.5", ["r1"]),  # a number literal with = still compares as text
        ("params.alpha != '0.5'", ["r4", "r3", "r2"]),  # runs lacking the key do not match
        ("params.alpha > 5", ["r3", "r2"]),  # numeric: 9 and 10; 'abc' is not a number
        ("params.alpha > '5'", ["r4", "r3"]),  # text: '9' and 'abc'
        ("params.alpha <= 9", ["r3", "r1"]),
        ("params.alpha >= 10 and params.alpha < 11", ["r2"]),
        ("params.opt LIKE 'a%'", ["r2"]),
        ("params.opt LIKE 'A%'", []),  # LIKE is case-sensitive
        ("tags.team ILIKE 'VIS%'", ["r4", "r1"]),
        ("tags.team NOT LIKE 'v%'", ["r2", "r1"]),
        ("tags.team NOT ILIKE 'v%'", ["r2"]),
        ("params.opt IN ('adam', 'sgd')", ["r3", "r2"]),
        ("params.opt NOT IN ('adam')", ["r3"]),
        ("params.opt IS NULL", ["r5", "r4", "r1"]),
        ("params.opt IS NOT NULL", ["r3", "r2"]),
        ("params.`batch-size` = '32'", ["r1"]),
        ('params."batch-size" = "32"', ["r1"]),
        ("params.batch-size = '32'", ["r1"]),
        ("tags.note = 'it''s done'", ["r5"]),
        ("metrics.rmse < 0.8", ["r3", "r1"]),
        ("metrics.rmse >= 0.9", ["r5", "r2"]),
        ("metrics.rmse = 0.6", ["r3"]),
        ("metrics.rmse != 0.6", ["r5", "r2", "r1"]),
        ("metrics.rmse IN (0.6, 0.7)", ["r3", "r1"]),
        ("metrics.mae IS NULL", ["r5", "r4", "r2", "r1"]),
        ("metrics.rmse > 0.65 and metrics.rmse < 1", ["r2", "r1"]),
        ("status = 'FINISHED'", ["r5", "r3", "r1"]),
        ("attributes.status = 'finished'", ["r5", "r3", "r1"]),
        ("run.status IN ('FAILED', 'KILLED')", ["r4", "r2"]),
        ("status NOT IN ('FINISHED')", ["r4", "r2"]),
        ("exit_code > 0", ["r4", "r2"]),
        ("exit_code = '130'", ["r4"]),
        ("end_time IS NULL", ["r4"]),
        ("start_time >= 2000 and start_time < 4000", ["r3", "r2"]),
        ("experiment = 'tuning'", ["r5", "r4", "r3"]),
        ("user = 'grace'", ["r5"]),
        ("run_name LIKE 'r_'", ["r5", "r4", "r3", "r2", "r1"]),
        ("params.alpha = '0.5' or params.alpha = '9'", ["r3", "r1"]),
        ("status = 'FINISHED' and (metrics.rmse < 0.65 or user = 'grace')", ["r5", "r3"]),
        ("not status = 'FINISHED'", ["r4", "r2"]),
        ("not (params.alpha = '0.5')", ["r5", "r4", "r3", "r2"]),  # negation includes missing
        ("STATUS = 'FINISHED' AND NOT metrics.rmse > 1", ["r3", "r1"]),
        ("", ["r5", "r4", "r3", "r2", "r1"]),
    ],
)
@pytest.mark.parametrize("path", ["whole store", "newest window"])
def test_filter_matches(runs, text, expected, path, monkeypatch):
    if path == "whole store":
        assert names(runs, text) == expected
    else:
        # The window holds all 5 runs and the page is exactly the expected size, so the answer
        # comes from the run-by-run (EXISTS) form of the filter.
        monkeypatch.setattr(queries, "NEWEST_WINDOW", 5)
        assert names(runs, text, limit=max(1, len(expected))) == expected


def test_count_agrees_with_search(runs):
    assert runs.count_runs(filter="metrics.rmse < 1") == 3
    assert runs.count_runs(experiment="tuning", status=RunStatus.FINISHED) == 2
    assert runs.count_runs(filter="experiment = 'Default'") == 2


def test_experiment_and_status_arguments(runs):
    assert names(runs, experiment="tuning") == ["r5", "r4", "r3"]
    assert names(runs, experiment="tuning", status=RunStatus.FINISHED) == ["r5", "r3"]
    assert names(runs, "metrics.rmse < 1", experiment="Default") == ["r2", "r1"]


@pytest.mark.parametrize("correlated", [False, True])
def test_values_are_bound_never_spliced(correlated):
    expr = parse_filter("params.x = 'a''; DROP TABLE runs; --'")
    sql = sqlgen.condition(expr, correlated=correlated)
    assert "DROP" not in sql.text
    assert sql.params == ("x", "a'; DROP TABLE runs; --")


def test_window_falls_back_to_the_whole_store(runs, monkeypatch):
    monkeypatch.setattr(queries, "NEWEST_WINDOW", 2)  # r5 and r4 only
    assert names(runs, "status = 'FINISHED'", limit=1) == ["r5"]  # answered by the window
    assert names(runs, "status = 'FINISHED'", limit=2) == ["r5", "r3"]  # needs older runs
    assert names(runs, "status = 'FINISHED'", limit=1, offset=1) == ["r3"]


def test_every_attribute_has_a_column():
    assert set(sqlgen.COLUMNS) == set(filters.ATTRIBUTES)


# Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stauts = 'FINISHED'",
         "filter: unknown attribute 'stauts' at column 1 (did you mean 'status'?)"),
        ("params.alpha = and x", "filter: expected a value after '=' at column 16"),
        ("params.alpha =", "filter: expected a value after '=' at column 15"),
        ("params.alpha = abc", "filter: expected a value after '=' at column 16 "
         "(quote text values: 'abc')"),
        ("parms.alpha = '1'",
         "filter: unknown prefix 'parms' at column 1 (did you mean 'params'?)"),
        ("params.alpha ~ '1'", "filter: unexpected character '~' at column 14"),
        ("params.alpha = '1", "filter: unterminated ' quote starting at column 16"),
        ("params.alpha '1'", "filter: expected an operator"),
        ("(status = 'FAILED'", "filter: expected ')', got the end at column 19"),
        ("status = 'FAILED' status", "filter: expected 'and', 'or' or the end, got 'status' "
         "at column 19"),
        ("metrics.rmse < 'low'", "filter: metrics.rmse compares with a number, got 'low' "
         "at column 14"),
        ("metrics.rmse LIKE '1%'", "filter: LIKE does not apply to metrics.rmse (a number)"),
        ("status = 'DONE'", "filter: unknown status 'DONE' at column 8 (expected one of"),
        ("params. = '1'", "filter: expected a key after 'params.' at column 8"),
        ("status IN 'FAILED'", "filter: expected '(' after IN at column 11"),
        ("status IN ('FAILED' 'KILLED')", "filter: expected ',' or ')' in the IN list"),
        ("status IS 'x'", "filter: expected NULL after 'IS' at column 11"),
        ("params.a ! '1'", "filter: unknown operator '!' at column 10"),
        ("= '1'", "filter: expected a field such as params.alpha"),
    ],
)  # fmt: skip
def test_filter_errors_name_the_column(store, text, message):
    with pytest.raises(UsageError) as caught:
        store.search_runs(filter=text)
    assert caught.value.message.startswith(message)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in caught.value.message


# Sort -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, ["r5", "r4", "r3", "r2", "r1"]),
        ("start_time", ["r1", "r2", "r3", "r4", "r5"]),
        ("start_time DESC", ["r5", "r4", "r3", "r2", "r1"]),
        ("metrics.rmse", ["r3", "r1", "r2", "r5", "r4"]),  # missing last
        ("-metrics.rmse", ["r5", "r2", "r1", "r3", "r4"]),  # missing last, also descending
        ("metrics.rmse desc", ["r5", "r2", "r1", "r3", "r4"]),
        ("params.alpha", ["r1", "r3", "r2", "r4", "r5"]),  # numbers numerically, then text
        ("-params.alpha", ["r2", "r3", "r1", "r4", "r5"]),
        ("end_time DESC", ["r5", "r3", "r2", "r1", "r4"]),  # NULL end_time last
        ("run_name ASC", ["r1", "r2", "r3", "r4", "r5"]),
        ("experiment", ["r2", "r1", "r5", "r4", "r3"]),  # ties keep newest first
        ("tags.`team`", ["r1", "r2", "r4", "r5", "r3"]),  # binary text order: "Vision" < "nlp"
    ],
)
def test_sort(runs, sort, expected):
    assert [run.run_name for run in runs.search_runs(sort=sort)] == expected


def test_limit_and_offset(runs):
    assert names(runs, limit=2) == ["r5", "r4"]
    assert names(runs, limit=2, offset=2) == ["r3", "r2"]
    assert names(runs, limit=None, offset=4) == ["r1"]
    assert names(runs, limit=0) == []
    with pytest.raises(UsageError):
        runs.search_runs(limit=-1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stat", "sort: unknown attribute 'stat' at column 1 (did you mean 'status'?)"),
        ("metrics.rmse upward", "sort: expected ASC, DESC or the end, got 'upward' at column 14"),
        ("-metrics.rmse DESC", "sort: expected ASC, DESC or the end, got 'DESC' at column 15"),
        ("metrics.rmse, status", "sort: expected ASC, DESC or the end, got ',' at column 13"),
        ("metrics.rmse ASC status", "sort: expected the end, got 'status' at column 18"),
    ],
)
def test_sort_errors(store, text, message):
    with pytest.raises(UsageError) as caught:
        store.search_runs(sort=text)
    assert caught.value.message.startswith(message)


def test_parse_sort_model():
    key = parse_sort("-params.`learning rate`")
    assert key == filters.SortKey(filters.Field(filters.Kind.PARAM, "learning rate"), True)
    assert str(key.field) == "params.learning rate"
