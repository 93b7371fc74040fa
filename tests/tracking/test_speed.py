"""Searches stay fast on a large store (20,000 runs here; the 100,000-run numbers are measured
by hand with the same synthetic data)."""

from __future__ import annotations

import subprocess
import sys
import time

from mlproj.tracking.models import RunStatus
from mlproj.tracking.store import Store
from mlproj.tracking.synthetic import fill_store

FILTER = "params.alpha = '0.5' and metrics.rmse < 0.8 and status = 'FINISHED'"


def _best_of(count, action):
    best = float("inf")
    for _ in range(count):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def test_searches_on_20000_runs_are_fast(store_dir):
    with Store.open(str(store_dir)) as store:
        started = time.perf_counter()
        fill_store(store, 20_000)
        assert time.perf_counter() - started < 30
    with Store.open(str(store_dir)) as store:
        elapsed, page = _best_of(3, lambda: store.search_runs(limit=100))
        assert len(page) == 100
        assert elapsed < 1
        assert page[0].start_time > page[-1].start_time
        elapsed, matched = _best_of(3, lambda: store.search_runs(filter=FILTER))
        assert len(matched) == 100
        assert elapsed < 1
        for run in matched:
            assert run.params["alpha"] == "0.5"
            assert run.metrics["rmse"] < 0.8
            assert run.status is RunStatus.FINISHED
        # A rare match: the newest-runs window cannot fill the page, the whole store is searched.
        rare = "params.alpha = '0.5' and metrics.rmse < 0.305"
        elapsed, few = _best_of(3, lambda: store.search_runs(filter=rare))
        assert 0 < len(few) < 100
        assert elapsed < 1
        elapsed, _ = _best_of(1, lambda: store.search_runs(sort="-metrics.rmse"))
        assert elapsed < 1
        elapsed, count = _best_of(1, lambda: store.count_runs(filter=FILTER))
        assert 0 < count < 20_000
        assert elapsed < 1


def test_store_import_is_light():
    probe = (
        "import sys, mlproj.tracking.store; "
        "heavy = {'yaml', 'rich', 'typer', 'git', 'docker'} & "
        "{m.split('.')[0] for m in sys.modules}; "
        "layers = [m for m in sys.modules if m.startswith(('mlproj.spec', 'mlproj.envs', "
        "'mlproj.runner', 'mlproj.cli'))]; "
        "print(sorted(heavy), layers)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] []"
