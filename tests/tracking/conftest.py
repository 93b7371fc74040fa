"""Fixtures for the tracking store tests: real SQLite files in tmp_path, no mocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlproj.tracking.models import NewRun
from mlproj.tracking.store import Store

BASE_RUN = NewRun(
    experiment_name="Default",
    run_name=None,
    entry_point="main",
    command="python train.py --alpha 0.5",
    source_uri="/projects/wine",
    source_version="main",
    source_commit="0123456789abcdef0123456789abcdef01234567",
    source_dirty=False,
    source_subdir=None,
    env_manager="local",
    env_key=None,
    user="ada",
    host="lab-1",
    mlproj_version="0.1.0",
)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """Where the store of a test lives (not created until something is written)."""
    return tmp_path / "mlruns"


@pytest.fixture
def store(store_dir: Path) -> Iterator[Store]:
    """A store in a fresh folder."""
    opened = Store.open(str(store_dir))
    yield opened
    opened.close()


@pytest.fixture
def make_run() -> Callable[..., NewRun]:
    """Build a NewRun from BASE_RUN with some fields replaced."""

    def make(**changes: Any) -> NewRun:
        return replace(BASE_RUN, **changes)

    return make
