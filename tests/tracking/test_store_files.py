"""Opening stores: URI forms, migrations, broken files, concurrent creation."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlproj.errors import ExitCode, NotFoundError, StoreError
from mlproj.tracking.db import Database
from mlproj.tracking.location import resolve_location
from mlproj.tracking.migrations import LATEST_VERSION
from mlproj.tracking.models import RunStatus
from mlproj.tracking.store import Store

REPO = Path(__file__).resolve().parents[2]


# URIs -------------------------------------------------------------------------------------


def test_folder_uri_maps_to_db_and_runs_dir(tmp_path):
    store = Store.open("rel/mlruns", cwd=tmp_path)
    assert store.uri == str(tmp_path / "rel" / "mlruns")
    assert store.db_path == tmp_path / "rel" / "mlruns" / "mlproj.db"
    assert store.runs_dir == tmp_path / "rel" / "mlruns" / "runs"
    assert store.run_dir("abc") == store.runs_dir / "abc"


def test_sqlite_uri_relative_and_absolute(tmp_path):
    relative = Store.open("sqlite:///data/t.db", cwd=tmp_path)
    assert relative.db_path == tmp_path / "data" / "t.db"
    assert relative.runs_dir == tmp_path / "data" / "runs"
    assert relative.uri == f"sqlite:///{tmp_path}/data/t.db"
    absolute = Store.open(f"sqlite:///{tmp_path}/abs.db", cwd=Path("/"))
    assert absolute.db_path == tmp_path / "abs.db"


def test_default_uri_comes_from_env_then_mlruns(tmp_path, monkeypatch):
    monkeypatch.delenv("MLPROJ_TRACKING_URI", raising=False)
    assert Store.open(cwd=tmp_path).uri == str(tmp_path / "mlruns")
    monkeypatch.setenv("MLPROJ_TRACKING_URI", str(tmp_path / "elsewhere"))
    assert Store.open(cwd=tmp_path).uri == str(tmp_path / "elsewhere")
    assert resolve_location("file:///x/y").db_path == Path("/x/y/mlproj.db")


@pytest.mark.parametrize("uri", ["postgresql://db/mlflow", "http://host:5000", "sqlite:///"])
def test_unsupported_uri_is_a_store_error(uri):
    with pytest.raises(StoreError) as caught:
        Store.open(uri)
    assert caught.value.exit_code == ExitCode.STORE
    assert uri in caught.value.message


def test_open_does_no_io(tmp_path):
    Store.open(str(tmp_path / "s")).close()
    assert not (tmp_path / "s").exists()


def test_reads_on_missing_store_are_empty_and_create_nothing(store, store_dir):
    assert store.search_runs() == []
    assert store.count_runs(filter="params.a = '1'") == 0
    assert store.list_experiments() == []
    assert store.reap_dead_runs() == []
    with pytest.raises(NotFoundError):
        store.get_run("abc")
    with pytest.raises(NotFoundError):
        store.search_runs(experiment="nope")
    with pytest.raises(NotFoundError):
        store.metric_history("abc", "loss")
    # Writes to a run of a missing store fail without creating the store either.
    with pytest.raises(NotFoundError):
        store.finish_run("a" * 32, RunStatus.FINISHED, 0)
    with pytest.raises(NotFoundError):
        store.log_params("a" * 32, {"k": "v"})
    with pytest.raises(NotFoundError):
        store.log_metrics("a" * 32, [])
    with pytest.raises(NotFoundError):
        store.set_tags("a" * 32, {"k": "v"})
    with pytest.raises(NotFoundError):
        store.delete_runs(["a"])
    assert store.delete_runs([]) == []
    assert not store_dir.exists()


# Migrations -------------------------------------------------------------------------------


def _versions(db_path: Path) -> list[int]:
    with sqlite3.connect(db_path) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]


def test_fresh_store_is_migrated_with_default_experiment(store, store_dir):
    experiment = store.get_or_create_experiment("Default")
    assert experiment.experiment_id == "0"
    assert _versions(store_dir / "mlproj.db") == list(range(1, LATEST_VERSION + 1))
    with sqlite3.connect(store_dir / "mlproj.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_data_and_applies_nothing(store_dir, make_run):
    with Store.open(str(store_dir)) as first:
        run = first.create_run(make_run())
    before = _versions(store_dir / "mlproj.db")
    with Store.open(str(store_dir)) as second:
        assert second.get_run(run.run_id).run_id == run.run_id
    assert _versions(store_dir / "mlproj.db") == before


def test_newer_schema_is_refused(store, store_dir):
    store.create_experiment("x")
    store.close()
    with sqlite3.connect(store_dir / "mlproj.db") as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (LATEST_VERSION + 1,))
    with Store.open(str(store_dir)) as reopened, pytest.raises(StoreError) as caught:
        reopened.list_experiments()
    message = caught.value.message
    assert str(store_dir / "mlproj.db") in message
    assert f"schema version {LATEST_VERSION + 1}" in message
    assert "upgrade mlproj" in message


# Broken stores ----------------------------------------------------------------------------


def test_junk_file_is_a_store_error(store_dir):
    store_dir.mkdir()
    (store_dir / "mlproj.db").write_bytes(os.urandom(4096))
    with Store.open(str(store_dir)) as store, pytest.raises(StoreError) as caught:
        store.search_runs()
    assert "not a readable SQLite database" in caught.value.message
    assert str(store_dir / "mlproj.db") in caught.value.message
    assert "\n" not in caught.value.message


def test_database_of_another_application_is_left_alone(store_dir, make_run):
    store_dir.mkdir()
    with sqlite3.connect(store_dir / "mlproj.db") as conn:
        conn.execute("CREATE TABLE runs (run_uuid TEXT)")
    with Store.open(str(store_dir)) as store, pytest.raises(StoreError) as caught:
        store.create_run(make_run())
    assert "database of another application (tables: runs)" in caught.value.message
    with sqlite3.connect(store_dir / "mlproj.db") as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["runs"]


def test_directory_in_place_of_db_is_a_store_error(store_dir, make_run):
    (store_dir / "mlproj.db").mkdir(parents=True)
    with Store.open(str(store_dir)) as store:
        with pytest.raises(StoreError) as caught:
            store.search_runs()
        assert "cannot open tracking store" in caught.value.message
        with pytest.raises(StoreError):
            store.create_run(make_run())


def test_folder_that_cannot_be_created_is_a_store_error(tmp_path, make_run):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with Store.open(str(blocker / "mlruns")) as store:
        with pytest.raises(StoreError) as caught:
            store.create_run(make_run())
        assert str(blocker / "mlruns") in caught.value.message
        with pytest.raises(StoreError):
            store.create_experiment("x")


def test_locked_store_times_out_as_store_error(store_dir):
    holder = Database(store_dir / "mlproj.db")
    impatient = Database(store_dir / "mlproj.db", busy_timeout_s=0.2)
    # The holder keeps the write lock while the impatient writer tries to take it.
    with holder.write(), pytest.raises(StoreError) as caught, impatient.write():
        pass
    assert "locked by another process" in caught.value.message
    assert "\n" not in caught.value.message


# Concurrency ------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys, time
    from mlproj.tracking.history import Metric
    from mlproj.tracking.store import Store
    from tests.tracking.conftest import BASE_RUN
    from dataclasses import replace

    uri, start_at, index = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    time.sleep(max(0.0, start_at - time.time()))
    with Store.open(uri) as store:
        run = store.create_run(replace(BASE_RUN, experiment_name="race", run_name="w" + index))
        for step in range(50):
            store.log_metrics(run.run_id, [Metric("loss", 1.0 / (step + 1), step, step)])
    print(run.run_id)
    """
)


def test_eight_processes_on_a_brand_new_store(store_dir):
    start_at = time.time() + 1.5
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(store_dir), str(start_at), str(index)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(8)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 8, [err for _, err in outputs]
    with Store.open(str(store_dir)) as store:
        runs = store.search_runs(experiment="race")
        assert sorted(run.run_name for run in runs) == [f"w{index}" for index in range(8)]
        assert [e.name for e in store.list_experiments()] == ["Default", "race"]
        for run in runs:
            assert run.metrics == {"loss": pytest.approx(1.0 / 50)}
            assert len(store.metric_history(run.run_id, "loss")) == 50
    with sqlite3.connect(store_dir / "mlproj.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 400
    assert _versions(store_dir / "mlproj.db") == list(range(1, LATEST_VERSION + 1))


def test_paths_with_uri_characters(tmp_path, make_run):
    folder = tmp_path / "odd name #1 ?x=%20"
    with Store.open(str(folder)) as store:
        run = store.create_run(make_run())
    assert (folder / "mlproj.db").is_file()
    with Store.open(str(folder)) as store:
        assert store.get_run(run.run_id).run_id == run.run_id


def test_store_is_usable_from_another_thread(store, make_run):
    run = store.create_run(make_run())
    errors: list[BaseException] = []

    def finish() -> None:
        try:
            store.finish_run(run.run_id, RunStatus.KILLED, 130)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=finish)
    worker.start()
    worker.join()
    assert errors == []
    assert store.get_run(run.run_id).status is RunStatus.KILLED
