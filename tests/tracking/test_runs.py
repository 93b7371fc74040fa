"""Experiments and runs: create, finish, params, tags, metrics, prefixes, delete."""

from __future__ import annotations

import math
import re

import pytest

from mlproj.errors import ExitCode, NotFoundError, UsageError
from mlproj.tracking.history import Metric, PastRun
from mlproj.tracking.models import RunStatus
from mlproj.tracking.synthetic import fill_store

# Experiments ------------------------------------------------------------------------------


def test_experiments_create_list_and_reuse(store):
    created = store.create_experiment("tuning")
    assert created.experiment_id == "1"
    assert store.get_or_create_experiment("tuning") == created
    assert store.get_or_create_experiment("other").experiment_id == "2"
    assert [e.name for e in store.list_experiments()] == ["Default", "tuning", "other"]
    with pytest.raises(UsageError, match="experiment 'tuning' already exists"):
        store.create_experiment("tuning")
    with pytest.raises(UsageError, match="empty"):
        store.create_experiment(" ")


# Creating and finishing -------------------------------------------------------------------


def test_create_run_records_everything(store, make_run):
    new = make_run(
        experiment_name="wine",
        run_name="first",
        params={"alpha": "0.5"},
        tags={"team": "nlp"},
        source_dirty=True,
        env_key="abc123",
    )
    run = store.create_run(new)
    assert re.fullmatch(r"[0-9a-f]{32}", run.run_id)
    assert run.status is RunStatus.RUNNING
    assert run.exit_code is None
    assert run.end_time is None
    assert run.experiment_name == "wine"
    assert run.experiment_id == "1"
    assert run.params == {"alpha": "0.5"}
    assert run.tags == {"team": "nlp"}
    assert run.metrics == {}
    assert run.source_dirty is True
    assert run.env_key == "abc123"
    assert run.user == "ada"
    assert run.artifact_uri == str(store.runs_dir / run.run_id / "artifacts")
    assert (store.runs_dir / run.run_id / "artifacts").is_dir()
    assert store.get_run(run.run_id) == run


def test_generated_run_names_are_readable(store, make_run):
    names = {store.create_run(make_run()).run_name for _ in range(5)}
    for name in names:
        assert re.fullmatch(r"[a-z]+-[a-z]+-\d{1,2}", name)


def test_finish_run(store, make_run):
    run = store.create_run(make_run())
    store.finish_run(run.run_id, RunStatus.FAILED, 3, end_time=run.start_time + 10)
    done = store.get_run(run.run_id)
    assert (done.status, done.exit_code) == (RunStatus.FAILED, 3)
    assert done.end_time == run.start_time + 10
    store.finish_run(run.run_id, RunStatus.FINISHED, 0)
    assert store.get_run(run.run_id).end_time >= run.start_time
    with pytest.raises(NotFoundError):
        store.finish_run("0" * 32, RunStatus.FINISHED, 0)


def test_writes_need_the_full_id(store, make_run):
    run = store.create_run(make_run())
    with pytest.raises(NotFoundError):
        store.log_params(run.run_id[:8], {"a": "1"})
    with pytest.raises(NotFoundError):
        store.set_tags("f" * 32, {"a": "1"})
    with pytest.raises(NotFoundError):
        store.log_metrics("f" * 32, [Metric("m", 1.0, 0, 0)])


# Params and tags --------------------------------------------------------------------------


def test_params_are_immutable_like_mlflow(store, make_run):
    run = store.create_run(make_run(params={"alpha": "0.5"}))
    store.log_params(run.run_id, {"alpha": "0.5", "beta": "2"})  # same value: no-op
    assert store.get_run(run.run_id).params == {"alpha": "0.5", "beta": "2"}
    with pytest.raises(UsageError, match=r"param 'alpha' already logged with value '0\.5'"):
        store.log_params(run.run_id, {"gamma": "1", "alpha": "0.7"})
    # The failed call changed nothing, not even the new key before the conflict.
    assert store.get_run(run.run_id).params == {"alpha": "0.5", "beta": "2"}


def test_tags_are_replaced(store, make_run):
    run = store.create_run(make_run(tags={"a": "1"}))
    store.set_tags(run.run_id, {"a": "2", "b": "x"})
    assert store.get_run(run.run_id).tags == {"a": "2", "b": "x"}


def test_empty_keys_are_refused(store, make_run):
    run = store.create_run(make_run())
    with pytest.raises(UsageError):
        store.set_tags(run.run_id, {"": "x"})
    with pytest.raises(UsageError):
        store.log_metrics(run.run_id, [Metric("", 1.0, 0, 0)])


# Metrics ----------------------------------------------------------------------------------


def test_metric_history_and_latest_value_rules(store, make_run):
    run = store.create_run(make_run())
    store.log_metrics(
        run.run_id,
        [Metric("loss", 0.9, 0, 100), Metric("loss", 0.5, 2, 50), Metric("loss", 0.7, 1, 300)],
    )
    # Highest step wins even against a later timestamp.
    assert store.get_run(run.run_id).metrics == {"loss": 0.5}
    store.log_metrics(run.run_id, [Metric("loss", 0.4, 2, 60)])  # same step, later time
    assert store.get_run(run.run_id).metrics["loss"] == 0.4
    store.log_metrics(run.run_id, [Metric("loss", 0.1, 2, 10)])  # same step, earlier time
    assert store.get_run(run.run_id).metrics["loss"] == 0.4
    history = store.metric_history(run.run_id[:6], "loss")
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (0, 100, 0.9),
        (1, 300, 0.7),
        (2, 10, 0.1),
        (2, 50, 0.5),
        (2, 60, 0.4),
    ]
    assert store.metric_history(run.run_id, "nope") == []


def test_nan_and_infinite_metrics(store, make_run):
    run = store.create_run(make_run())
    store.log_metrics(run.run_id, [Metric("a", math.nan, 0, 0), Metric("b", math.inf, 0, 0)])
    metrics = store.get_run(run.run_id).metrics
    assert math.isnan(metrics["a"])
    assert metrics["b"] == math.inf
    assert math.isnan(store.metric_history(run.run_id, "a")[0].value)
    # NaN matches no comparison but the run still has the key.
    assert store.search_runs(filter="metrics.a < 1 or metrics.a >= 1") == []
    assert len(store.search_runs(filter="metrics.a IS NOT NULL")) == 1


# Prefixes ---------------------------------------------------------------------------------


def _store_with_ids(store, make_run, ids):
    past = [
        PastRun(make_run(run_name=f"r{i}"), 1000 + i, None, RunStatus.FINISHED, 0, (), run_id)
        for i, run_id in enumerate(ids)
    ]
    store.bulk_insert_runs(past)


def test_prefixes_unique_ambiguous_unknown(store, make_run):
    ids = ["abc" + "0" * 29, "abd" + "0" * 29] + [f"ff{i}" + "0" * 29 for i in range(7)]
    _store_with_ids(store, make_run, ids)
    assert store.get_run("abc").run_id == ids[0]
    assert store.get_run("ABD").run_id == ids[1]
    assert store.get_run(ids[0]).run_id == ids[0]
    with pytest.raises(NotFoundError) as caught:
        store.get_run("ab")
    assert "ambiguous" in caught.value.message
    assert ids[0] in caught.value.message
    with pytest.raises(NotFoundError) as caught:
        store.get_run("f")
    assert caught.value.message.count("ff") == 5
    assert ", ..." in caught.value.message
    for unknown in ("0", "xyz", "", "a" * 33):
        with pytest.raises(NotFoundError) as caught:
            store.get_run(unknown)
        assert caught.value.exit_code == ExitCode.NOT_FOUND


def test_bulk_insert_refuses_bad_ids(store, make_run):
    with pytest.raises(UsageError):
        _store_with_ids(store, make_run, ["../../etc"])


# Delete -----------------------------------------------------------------------------------


def test_delete_resolves_all_prefixes_first(store, make_run):
    first = store.create_run(make_run(run_name="one", params={"a": "1"}))
    second = store.create_run(make_run(run_name="two"))
    store.log_metrics(first.run_id, [Metric("m", 1.0, 0, 0)])
    for run in (first, second):
        store.finish_run(run.run_id, RunStatus.FINISHED, 0)
    with pytest.raises(NotFoundError):
        store.delete_runs([first.run_id[:10], "0000"])
    assert store.count_runs() == 2  # nothing deleted
    assert store.delete_runs([first.run_id[:10], first.run_id]) == [first.run_id]
    assert not store.run_dir(first.run_id).exists()
    assert [run.run_id for run in store.search_runs()] == [second.run_id]
    with pytest.raises(NotFoundError):
        store.metric_history(first.run_id, "m")


def test_delete_refuses_a_live_run(store, make_run):
    run = store.create_run(make_run())
    with store.hold_runner_lock(run.run_id):
        with pytest.raises(UsageError, match="still running"):
            store.delete_runs([run.run_id])
        assert store.get_run(run.run_id).status is RunStatus.RUNNING
    # Released without finishing the run: the runner is gone, so the run is dead and deletable.
    assert store.delete_runs([run.run_id]) == [run.run_id]


def test_bulk_inserted_runs_delete_without_folders(store):
    ids = fill_store(store, 30, seed=1)
    assert store.count_runs() == 30
    assert store.delete_runs(ids[:10]) == ids[:10]
    assert store.count_runs() == 20
