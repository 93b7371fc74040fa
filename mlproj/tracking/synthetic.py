"""Synthetic runs for benchmarks and tests: a large, realistic store in seconds.

Each run has 3 params (alpha, l1_ratio, epochs), 3 metrics (rmse, mae, r2; one value each) and 2
tags, spread over 5 experiments and the three final statuses, one minute apart. The same seed
gives the same values (run ids are random).
"""

from __future__ import annotations

import random

from mlproj.tracking.db import now_ms
from mlproj.tracking.history import Metric, PastRun
from mlproj.tracking.models import NewRun, RunStatus
from mlproj.tracking.store import Store

ALPHAS = ("0.1", "0.25", "0.5", "0.75", "1.0")
EXPERIMENTS = ("Default", "baseline", "tuning", "ablation", "nightly")
#: Runs inserted per transaction (bounds memory; each batch is one bulk_insert_runs call).
BATCH = 20_000
_STATUSES = (RunStatus.FINISHED,) * 16 + (RunStatus.FAILED,) * 3 + (RunStatus.KILLED,)
_SPACING_MS = 60_000


def fill_store(store: Store, n_runs: int, *, seed: int = 0) -> list[str]:
    """Insert ``n_runs`` synthetic runs into ``store``; returns their ids, oldest first."""
    rng = random.Random(seed)
    first_start = now_ms() - n_runs * _SPACING_MS
    ids: list[str] = []
    for batch_start in range(0, n_runs, BATCH):
        batch = [
            synthetic_run(rng, first_start + index * _SPACING_MS)
            for index in range(batch_start, min(n_runs, batch_start + BATCH))
        ]
        ids.extend(store.bulk_insert_runs(batch))
    return ids


def synthetic_run(rng: random.Random, start_time: int) -> PastRun:
    """One finished run started at ``start_time`` with random params, metrics and tags."""
    status = rng.choice(_STATUSES)
    end_time = start_time + rng.randint(1_000, 50_000)
    rmse = round(rng.uniform(0.3, 1.2), 4)
    new = NewRun(
        experiment_name=rng.choice(EXPERIMENTS),
        run_name=None,
        entry_point=rng.choice(("main", "train", "evaluate")),
        command="python train.py --alpha {alpha}",
        source_uri="/projects/wine",
        source_version=None,
        source_commit=f"{rng.getrandbits(160):040x}",
        source_dirty=rng.random() < 0.1,
        source_subdir=None,
        env_manager=rng.choice(("local", "virtualenv", "conda")),
        env_key=f"{rng.getrandbits(64):016x}",
        user=rng.choice(("ada", "grace", "alan")),
        host="bench-host",
        mlproj_version="0.1.0",
        params={
            "alpha": rng.choice(ALPHAS),
            "l1_ratio": str(round(rng.random(), 2)),
            "epochs": str(rng.choice((5, 10, 20, 50))),
        },
        tags={"team": rng.choice(("vision", "nlp", "tabular")), "priority": rng.choice("abc")},
    )
    metrics = (
        Metric("rmse", rmse, 0, end_time),
        Metric("mae", round(rmse * 0.8, 4), 0, end_time),
        Metric("r2", round(1 - rmse / 1.5, 4), 0, end_time),
    )
    exit_code = {RunStatus.FINISHED: 0, RunStatus.FAILED: 1, RunStatus.KILLED: 130}[status]
    return PastRun(new, start_time, end_time, status, exit_code, metrics)
