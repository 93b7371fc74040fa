"""Reproducing runs: `mlproj rerun`, `mlproj run --reuse` and the code part of `runs diff`.

A recorded run holds everything needed to ask for it again: source (URI, subdir, commit, whether
the tree was dirty), entry point, the parameters as typed (and which of them were defaults),
the environment manager, and the folder `mlproj run` was called from (relative `-P` paths are
taken from there). :func:`rerun_request` turns that back into a :class:`RunRequest`.

Exactness comes first: a rerun refuses, with the reason, when it cannot run the code the
recorded run ran (the folder moved to another commit, or has uncommitted changes now or then),
rather than silently running something else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.compare import Comparison, compare
from mlproj.errors import SourceError
from mlproj.runner import CALLER_DIR_TAG, DEFAULTS_TAG, RunPlan, RunRequest
from mlproj.sources import diff_stat, is_remote, resolve_source
from mlproj.tracking.models import Run, RunMatch
from mlproj.tracking.store import Store

#: Tag of a run started by `mlproj rerun`: the id of the run it reproduces.
RERUN_TAG = "mlproj.rerun_of"


@dataclass(frozen=True, slots=True)
class RerunOptions:
    """What `mlproj rerun` may change: parameters, where the new run is recorded, capture."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    experiment_name: str | None = None
    run_name: str | None = None
    tracking_uri: str | None = None
    capture_scalars: bool = False


@dataclass(frozen=True, slots=True)
class Rerun:
    """The request that reproduces a run, and what the user should know about it."""

    request: RunRequest
    warnings: tuple[str, ...] = ()


def source_uri(run: Run) -> str:
    """The URI to give `mlproj run` for the run's source (``uri#subdir``)."""
    return run.source_uri + (f"#{run.source_subdir}" if run.source_subdir else "")


def rerun_request(run: Run, options: RerunOptions, caller_dir: Path) -> Rerun:
    """The request that runs ``run`` again, with ``options.overrides`` applied.

    Raises:
        SourceError: The recorded code cannot be rebuilt exactly (see the module docstring).
    """
    recorded_dir = Path(run.tags.get(CALLER_DIR_TAG, ""))
    base_dir = recorded_dir if recorded_dir.is_absolute() and recorded_dir.is_dir() else caller_dir
    warnings = list(_check_source(run, base_dir))
    request = RunRequest(
        caller_dir=base_dir,
        uri=source_uri(run),
        entry_point=run.entry_point,
        params={**_recorded_params(run), **options.overrides},
        # A remote source is fetched at its exact commit (a branch may have moved since).
        version=run.source_commit if is_remote(run.source_uri) else None,
        env_manager=run.env_manager,
        experiment_name=options.experiment_name or run.experiment_name,
        run_name=options.run_name,
        tracking_uri=options.tracking_uri,
        tags={RERUN_TAG: run.run_id},
        capture_scalars=options.capture_scalars,
    )
    return Rerun(request, tuple(warnings))


def _recorded_params(run: Run) -> dict[str, str]:
    """The run's params without those that were defaults (so they resolve as defaults again)."""
    try:
        defaults = set(json.loads(run.tags.get(DEFAULTS_TAG, "[]")))
    except (ValueError, TypeError):
        defaults = set()
    return {key: value for key, value in run.params.items() if key not in defaults}


def _check_source(run: Run, caller_dir: Path) -> list[str]:
    """Refuse when the local folder no longer holds the recorded code; warnings otherwise."""
    if is_remote(run.source_uri):
        return []
    name = run.run_id[:12]
    if run.source_dirty:
        raise SourceError(
            f"run {name} ran on a tree with uncommitted changes (commit "
            f"{run.source_commit}); its diff was not saved, so that exact code cannot be "
            f"rebuilt. Run the folder as it is now with `mlproj run {source_uri(run)}`"
        )
    now = resolve_source(source_uri(run), version=None, caller_dir=caller_dir)
    if run.source_commit is None:
        if now.commit is None:
            return [f"run {name}'s source is not in a git repository: its code may have changed"]
        return [f"run {name} recorded no commit; running {now.commit[:12]} as it is now"]
    if now.commit != run.source_commit or now.dirty:
        state = f"{now.commit or 'no commit'}" + (" with uncommitted changes" if now.dirty else "")
        raise SourceError(
            f"run {name} ran commit {run.source_commit}, but {run.source_uri} is now at "
            f"{state}; to rerun it, commit or stash your changes and `git checkout "
            f"{run.source_commit}` there (or clone it elsewhere), then rerun"
        )
    return []


def reusable_run(store: Store, plan: RunPlan) -> tuple[Run | None, str]:
    """A FINISHED run of exactly this work, or None and why no run can be reused.

    The same work: source (URI, subdir) at the same commit, with a clean tree then and now,
    the same entry point, the same parameters (defaults included) and the same environment
    (manager and key).
    """
    source = plan.source
    if source.commit is None:
        return None, "the source is not in a git repository, so there is no commit to key on"
    if source.dirty:
        return None, "the source has uncommitted changes"
    match = RunMatch(
        source_uri=source.uri,
        source_commit=source.commit,
        source_subdir=source.subdir,
        entry_point=plan.entry.name,
        env_manager=plan.environment.manager,
        env_key=plan.environment.key(),
        params=dict(plan.params.given),
    )
    found = store.find_runs(match, limit=1)
    if found:
        return found[0], ""
    return None, "no FINISHED run has this commit, entry point, parameters and environment"


@dataclass(frozen=True, slots=True)
class RunDiff:
    """What differs between two runs, with the code change when git can tell it."""

    comparison: Comparison
    diff_stat: str | None
    code_note: str | None


def diff_runs(old: Run, new: Run) -> RunDiff:
    """The differing rows of two runs, plus ``git diff --stat`` between their commits."""
    comparison = compare([old, new]).differing()
    first, second = old.source_commit, new.source_commit
    note = None
    stat = None
    if first is None or second is None:
        note = "at least one run recorded no commit: the code cannot be compared"
    elif first != second:
        folder = Path(new.source_uri)
        stat = diff_stat(folder, first, second) if folder.is_dir() else None
        if stat is None:
            note = f"commits differ; {new.source_uri} cannot show the diff (not a local repo?)"
    if old.source_dirty or new.source_dirty:
        extra = "uncommitted changes were not saved with the run(s): their code may differ"
        note = f"{note}; {extra}" if note else extra
    return RunDiff(comparison, stat, note)
