"""Reproducing runs: `mlproj rerun`, `mlproj run --reuse` and the code part of `runs diff`.

A recorded run holds everything needed to ask for it again: source (URI, subdir, commit, whether
the tree was dirty), entry point, the parameters as typed (and which of them were defaults),
the environment manager, and the folder `mlproj run` was called from (relative `-P` paths are
taken from there). :func:`rerun_request` turns that back into a :class:`RunRequest`.

Exactness comes first: a rerun refuses, with the reason, when it cannot run the code the
recorded run ran (the changes of a dirty run were not all saved; the recorded commit is gone),
rather than silently running something else. A folder that has moved on since is rerun from a
private checkout of the recorded commit; a run of a dirty tree is rebuilt from its saved changes
on a private checkout of its commit; and a virtualenv/uv environment is built from the run's
recorded installed set (``installed.txt``) unless asked to resolve the requirements again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.compare import Comparison, compare
from mlproj.envs.requirements import referenced_paths
from mlproj.errors import EnvError, SourceError
from mlproj.runner import CALLER_DIR_TAG, DEFAULTS_TAG, INSTALLED_FILE, RunPlan, RunRequest
from mlproj.sources import diff_stat, is_remote, resolve_source
from mlproj.tracking.matching import RunMatch
from mlproj.tracking.models import Run
from mlproj.tracking.store import Store

#: Tag of a run started by `mlproj rerun`: the id of the run it reproduces.
RERUN_TAG = "mlproj.rerun_of"
#: Tag of a run started by `mlproj rerun`: how its environment was built (pinned or not, why).
RERUN_ENV_TAG = "mlproj.rerun.env"
#: The run folder's copy of a dirty tree's changes (see mlproj/sources/snapshot.py).
SNAPSHOT_DIR = "source"
#: Managers whose environment can be built from a recorded installed set.
_PINNABLE = ("virtualenv", "uv")


@dataclass(frozen=True, slots=True)
class RerunOptions:
    """What `mlproj rerun` may change: parameters, where the new run is recorded, capture."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    experiment_name: str | None = None
    run_name: str | None = None
    tracking_uri: str | None = None
    capture_scalars: bool = False
    #: Resolve a virtualenv/uv environment's requirements again instead of installing the
    #: recorded installed set.
    resolve_again: bool = False


@dataclass(frozen=True, slots=True)
class Rerun:
    """The request that reproduces a run, and what the user should know about it."""

    request: RunRequest
    warnings: tuple[str, ...] = ()


def source_uri(run: Run) -> str:
    """The URI to give `mlproj run` for the run's source (``uri#subdir``)."""
    return run.source_uri + (f"#{run.source_subdir}" if run.source_subdir else "")


def rerun_request(run: Run, options: RerunOptions, caller_dir: Path, run_dir: Path) -> Rerun:
    """The request that runs ``run`` (whose files are in ``run_dir``) again, with overrides.

    Raises:
        SourceError: The recorded code cannot be rebuilt exactly (see the module docstring).
    """
    recorded_dir = Path(run.tags.get(CALLER_DIR_TAG, ""))
    base_dir = recorded_dir if recorded_dir.is_absolute() and recorded_dir.is_dir() else caller_dir
    warnings, moved = _check_source(run, base_dir)
    rebuild = not is_remote(run.source_uri) and bool(run.source_dirty)
    pinned, env_note = _pinned_set(run, run_dir, options)
    if pinned is None and run.env_manager in _PINNABLE and not options.resolve_again:
        warnings.append(env_note)
    request = RunRequest(
        caller_dir=base_dir,
        uri=source_uri(run),
        entry_point=run.entry_point,
        params={**_recorded_params(run), **options.overrides},
        # A remote source is fetched at its exact commit (a branch may have moved since); a
        # dirty tree, or a folder that moved on, is rebuilt on a private checkout of its commit.
        version=run.source_commit if is_remote(run.source_uri) or rebuild or moved else None,
        env_manager=run.env_manager,
        experiment_name=options.experiment_name or run.experiment_name,
        run_name=options.run_name,
        tracking_uri=options.tracking_uri,
        tags={RERUN_TAG: run.run_id, RERUN_ENV_TAG: env_note},
        capture_scalars=options.capture_scalars,
        source_snapshot=run_dir / SNAPSHOT_DIR if rebuild else None,
        pinned_installed=pinned,
    )
    return Rerun(request, tuple(warnings))


def _pinned_set(
    run: Run, run_dir: Path, options: RerunOptions
) -> tuple[tuple[str, ...] | None, str]:
    """The installed set to build the environment from (None: resolve), and what was done."""
    name = run.run_id[:12]
    if run.env_manager not in _PINNABLE:
        return None, f"not pinned: a {run.env_manager} environment is not built from a pip set"
    if options.resolve_again:
        return None, "requirements resolved again (--resolve-again)"
    try:
        text = (run_dir / INSTALLED_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, (
            f"requirements resolved again: run {name} recorded no installed set "
            f"({run_dir / INSTALLED_FILE}), so newer releases may be installed"
        )
    lines = tuple(line for line in text.splitlines() if line.strip())
    missing = [str(path) for _kind, path in referenced_paths(lines, run_dir) if not path.exists()]
    if missing:  # a local package of a checkout that is gone: pip would fail half-way
        raise EnvError(
            f"run {name}'s installed set ({run_dir / INSTALLED_FILE}) installs {missing[0]}, "
            "which no longer exists; rerun with --resolve-again to install the project's "
            "requirements instead"
        )
    return lines, f"pinned to the installed set of run {name} ({len(lines)} lines)"


def _recorded_params(run: Run) -> dict[str, str]:
    """The run's params without those that were defaults (so they resolve as defaults again)."""
    try:
        defaults = set(json.loads(run.tags.get(DEFAULTS_TAG, "[]")))
    except (ValueError, TypeError):
        defaults = set()
    return {key: value for key, value in run.params.items() if key not in defaults}


def _check_source(run: Run, caller_dir: Path) -> tuple[list[str], bool]:
    """Warnings about the source, and whether a clean run's folder has moved on since.

    A folder no longer at the run's commit (or with changes now) is rerun from a private
    checkout of that commit, as a dirty run is rebuilt; an unchanged folder is used in place.
    A dirty run whose changes were not all saved is refused.
    """
    if is_remote(run.source_uri):
        return [], False
    if run.source_dirty:
        _check_saved_changes(run)
        return [], False  # rebuilt from the saved changes, whatever the folder holds now
    name = run.run_id[:12]
    now = resolve_source(source_uri(run), version=None, caller_dir=caller_dir)
    now.release()
    if run.source_commit is None:
        if now.commit is None:
            return [
                f"run {name}'s source is not in a git repository: its code may have changed"
            ], False
        return [f"run {name} recorded no commit; running {now.commit[:12]} as it is now"], False
    if now.commit == run.source_commit and not now.dirty:
        return [], False
    moved = (
        f"{run.source_uri} has moved on since run {name}: running its commit "
        f"{run.source_commit[:12]} from a private checkout (your folder is untouched)"
    )
    return [moved], True


def _check_saved_changes(run: Run) -> None:
    """Refuse a dirty run whose changes were not saved (the files are checked when applied)."""
    name = run.run_id[:12]
    diff = run.tags.get("mlproj.source.diff", "")
    saved = diff.startswith("source/") or "mlproj.source.untracked" in run.tags
    why = None
    if run.source_commit is None:
        why = "its repository had no commit to rebuild it on"
    elif diff and not diff.startswith("source/"):
        why = f"its diff was {diff}"
    elif not saved:
        why = "it was recorded before mlproj saved such changes"
    if why is not None:
        raise SourceError(
            f"run {name} ran on a tree with uncommitted changes; {why}, so that exact code "
            f"cannot be rebuilt. Run the folder as it is now with `mlproj run {source_uri(run)}`"
        )


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
        extra = "uncommitted changes (saved in the run folder's source/) are not compared"
        note = f"{note}; {extra}" if note else extra
    return RunDiff(comparison, stat, note)
