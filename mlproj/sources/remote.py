"""Git sources through the cache: mirror, fetch only when needed, check out into a private folder.

A mirror is read under a shared lock and created or fetched under an exclusive one (per URL).
Nothing is fetched when the version is already cached and cannot move (a tag or a commit id);
branches and the default branch are fetched before each run, and a failed fetch falls back to
the cached commit with a warning. ``--offline`` never fetches. Submodules are checked out from
their own mirrors, one URL lock at a time (never nested, so no lock order can deadlock).

The fastest path, a tag or commit seen before: its commit comes from ``memo.py`` (no GitPython)
and a spare checkout of it, left unchanged by an earlier run, is claimed (``workdir.py``): no git
process at all. Without a spare, the commit is exported from the mirror.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.sources import gitcli, gitrepo, memo
from mlproj.sources.cache import MirrorEntry, locked, mirror_entry, remove_tree
from mlproj.sources.gitrepo import RefKind, Revision, SubmoduleRef
from mlproj.sources.giturl import GitUrl, join_submodule_url, parse_git_url
from mlproj.sources.model import Progress
from mlproj.sources.uri import check_subdir, is_hex
from mlproj.sources.workdir import Reuse, Workdir

_MAX_DEPTH = 8


@dataclasses.dataclass(slots=True)
class Context:
    """One resolution's settings and what it learned on the way (mutable, private to it)."""

    cache: Path
    offline: bool = False
    progress: Progress | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    details: dict[str, str] = dataclasses.field(default_factory=dict)
    depth: int = 0
    waited: set[str] = dataclasses.field(default_factory=set)

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)

    def waiting(self, url: GitUrl) -> Callable[[], None]:
        """What to say when another run holds ``url``'s cache lock (once per resolution)."""

        def note() -> None:
            text = f"waiting for another mlproj using the cache of {url.url}"
            if url.url not in self.waited:
                self.waited.add(url.url)
                self.say(text)

        return note


def resolve_remote(url: GitUrl, version: str | None, ctx: Context) -> tuple[Revision, Workdir]:
    """Resolve ``version`` of ``url`` and check it out (submodules included) into a new workdir.

    Raises:
        SourceError: Unreachable and not cached, unknown version, or a failed checkout.
    """
    spares = mirror_entry(url, ctx.cache).root / "spares"
    reused = _reuse(url, version, ctx)
    if reused is not None:
        return reused
    workdir = Workdir.create(ctx.cache, url.name)
    try:
        rev, subs, note = _checkout(url, version, ctx, workdir.path)
        ctx.details["fetch"] = note
        ctx.details.update(_ref_details(rev))
        checkout_submodules(url, subs, workdir.path, ctx)
        workdir.seal()
    except BaseException:
        workdir.release()
        raise
    workdir.offer(Reuse(spares, rev.commit, _submodule_details(ctx)))
    return rev, workdir


def _reuse(url: GitUrl, version: str | None, ctx: Context) -> tuple[Revision, Workdir] | None:
    """A spare checkout of a remembered tag or commit (see ``workdir.py``): no git at all."""
    entry = mirror_entry(url, ctx.cache)
    with locked(entry.lock_path, shared=True, on_wait=ctx.waiting(url)):
        if not entry.exists():
            return None
        remembered = memo.lookup(entry.root, entry.mirror, version)
        if remembered is None:
            return None
        rev = remembered[0]
        claimed = Workdir.claim(ctx.cache, url.name, entry.root / "spares", rev.commit)
        if claimed is None:
            return None
        entry.touch()
    workdir, details = claimed
    ctx.details.update(fetch="offline" if ctx.offline else "cached", **_ref_details(rev))
    ctx.details.update(details)
    workdir.offer(Reuse(entry.root / "spares", rev.commit, details))
    return rev, workdir


def _submodule_details(ctx: Context) -> dict[str, str]:
    return {k: v for k, v in ctx.details.items() if k.startswith("submodule.")}


def _checkout(
    url: GitUrl, version: str | None, ctx: Context, dest: Path
) -> tuple[Revision, list[SubmoduleRef], str]:
    """Resolve ``version`` and export it into ``dest``, fetching only when needed.

    Returns the revision, its submodules and what the cache did (cached, cloned, fetched...).
    """
    entry = mirror_entry(url, ctx.cache)
    with locked(entry.lock_path, shared=True, on_wait=ctx.waiting(url)):
        if entry.exists():
            remembered = memo.lookup(entry.root, entry.mirror, version)
            if remembered is not None and _export(entry, remembered[0], dest):
                return (*remembered, "offline" if ctx.offline else "cached")
            found = _from_mirror(url, entry, version, ctx, dest)
            if found is not None:
                return (*found, "offline" if ctx.offline else "cached")
            if ctx.offline:
                with gitrepo.open_repo(entry.mirror) as repo:
                    known = gitrepo.known_refs(repo)
                raise SourceError(_unknown(url, version, "in the cache (--offline)", known))
        elif ctx.offline:
            raise SourceError(
                f"source '{url.url}' is not in the cache and --offline forbids fetching it; "
                "run once without --offline"
            )
    with locked(entry.lock_path, on_wait=ctx.waiting(url)):
        entry.clear_leftovers()
        if entry.exists():  # another run may have cloned or fetched it while we waited
            found = _from_mirror(url, entry, version, ctx, dest, moving_ok=False)
            if found is not None:
                return (*found, "cached")
        note, failure = _update(url, entry, version, ctx)
        try:
            found = _from_mirror(url, entry, version, ctx, dest, final=True)
        except SourceError as exc:
            if failure is None:
                raise
            what = f"'{version}'" if version else "its default branch"
            raise SourceError(
                f"source '{url.url}': cannot fetch ({failure}) and {what} is not in the cache; "
                "check the URL, your network and credentials"
            ) from exc
        assert found is not None  # final=True raises instead of returning None
        if failure is not None:
            ctx.warnings.append(f"cannot fetch {url.url} ({failure}); using the cached copy")
            return (*found, f"fetch failed, used the cache ({failure})")
        return (*found, note)


def _from_mirror(
    url: GitUrl,
    entry: MirrorEntry,
    version: str | None,
    ctx: Context,
    dest: Path,
    *,
    final: bool = False,
    moving_ok: bool | None = None,
) -> tuple[Revision, list[SubmoduleRef]] | None:
    """Resolve in the mirror and export; None when a fetch should come first (not ``final``).

    ``moving_ok``: whether a branch may be taken from the mirror without a fetch (default:
    when ``final`` or offline).
    """
    if moving_ok is None:
        moving_ok = final or ctx.offline
    with gitrepo.open_repo(entry.mirror) as repo:
        rev = gitrepo.resolve(repo, version)
        if rev is None:
            if final:
                where = f"at {url.url}"
                raise SourceError(_unknown(url, version, where, gitrepo.known_refs(repo)))
            return None
        if rev.kind.moves and not moving_ok:
            return None  # a branch: fetch first, to run its newest commit
        subs = gitrepo.submodules(repo, rev.commit)
    gitcli.export_commit(entry.mirror, rev.commit, dest)
    entry.touch()
    memo.remember(entry.root, entry.mirror, rev, subs)
    return rev, subs


def _export(entry: MirrorEntry, rev: Revision, dest: Path) -> bool:
    """Export a remembered commit; False (nothing written) when the mirror lacks it after all."""
    try:
        gitcli.export_commit(entry.mirror, rev.commit, dest)
    except SourceError:
        for child in dest.iterdir():
            remove_tree(child)
        return False
    entry.touch()
    return True


def _update(
    url: GitUrl, entry: MirrorEntry, version: str | None, ctx: Context
) -> tuple[str, str | None]:
    """Clone or fetch (exclusive lock held): what was done, and why a fetch failed (or None).

    Raises:
        SourceError: The first clone failed (nothing cached to fall back on).
    """
    if not entry.exists():
        ctx.say(f"cloning {url.url} into the cache")
        temp = entry.new_temp()
        done = gitcli.clone_mirror(url, temp)
        if not done.ok:
            remove_tree(temp)
            raise SourceError(
                f"source '{url.url}': cannot clone ({gitcli.first_error(done)}); "
                "check the URL, your network and credentials"
            )
        remove_tree(entry.mirror)  # a mirror without HEAD: what a manual removal left
        temp.rename(entry.mirror)
        entry.write_info(url)
        return "cloned", None
    ctx.say(f"fetching {url.url}")
    done = gitcli.fetch(url, entry.mirror)
    wanted = version if version and len(version) in (40, 64) and is_hex(version) else None
    if done.ok and wanted is not None:
        with gitrepo.open_repo(entry.mirror) as repo:
            missing = not gitrepo.has_commit(repo, wanted)
        if missing:  # on no branch or tag: ask for the commit itself (servers may refuse)
            gitcli.fetch(url, entry.mirror, f"+{wanted}:refs/mlproj/{wanted}")
    return "fetched", None if done.ok else gitcli.first_error(done)


def _unknown(url: GitUrl, version: str | None, where: str, known: str) -> str:
    if version is None:
        return (
            f"source '{url.url}': the default branch (HEAD) has no commit {where}; "
            "give a branch, tag or commit with -v"
        )
    return f"source '{url.url}': no branch, tag or commit '{version}' {where} ({known})"


def _ref_details(rev: Revision) -> dict[str, str]:
    if rev.kind is RefKind.TAG and rev.name:
        return {"tag": rev.name}
    if rev.kind in (RefKind.BRANCH, RefKind.DEFAULT) and rev.name:
        return {"branch": rev.name}
    return {}


def checkout_submodules(
    parent: GitUrl, subs: list[SubmoduleRef], root: Path, ctx: Context, prefix: str = ""
) -> None:
    """Check out each submodule at its recorded commit, from its own mirror, recursively.

    ``prefix`` is ``root``'s path in the top checkout (for the ``submodule.<path>`` records).
    """
    if subs and ctx.depth >= _MAX_DEPTH:
        raise SourceError(f"submodules nested more than {_MAX_DEPTH} deep under {parent.url}")
    for sub in subs:
        url = submodule_url(parent, sub)
        dest = submodule_dest(root, sub, parent.url)
        _rev, nested, _note = _checkout(url, sub.commit, ctx, dest)
        path = f"{prefix}{sub.path}"
        ctx.details[f"submodule.{path}"] = sub.commit
        ctx.depth += 1
        checkout_submodules(url, nested, dest, ctx, f"{path}/")
        ctx.depth -= 1


def submodule_dest(root: Path, sub: SubmoduleRef, parent: str) -> Path:
    """The empty folder a submodule goes into, checked to be inside ``root``.

    Raises:
        SourceError: ``.gitmodules`` names a path that leaves the checkout (``..``, absolute,
            ``.git``, a symlink) or where the commit has no gitlink folder.
    """
    where = f"submodule '{sub.path}' of {parent}"
    try:
        check_subdir(sub.path, where)
    except SourceError as exc:
        raise SourceError(f"{where}: unsafe path in .gitmodules ({exc.message})") from None
    dest = root / sub.path
    if dest.is_symlink() or not dest.resolve().is_relative_to(root.resolve()):
        raise SourceError(f"{where}: the path leads out of the checkout; refused")
    if not dest.is_dir():
        raise SourceError(f"{where}: no gitlink at that path in the commit")
    return dest


def submodule_url(parent: GitUrl, sub: SubmoduleRef) -> GitUrl:
    """The submodule's URL, resolved against its superproject's and checked like any source.

    Raises:
        SourceError: The URL is refused (``ext::``, an option in disguise...).
    """
    joined = join_submodule_url(parent.url, sub.url)
    where = f"submodule '{sub.path}' of {parent.url}"
    if joined.startswith("-"):
        raise SourceError(f"{where}: URL '{sub.url}' starts with '-' (an option); refused")
    if joined.startswith("/"):
        joined = "file://" + joined
    try:
        url = parse_git_url(joined)
    except SourceError as exc:
        raise SourceError(f"{where}: {exc.message}") from None
    if url is None:
        raise SourceError(f"{where}: URL '{sub.url}' is neither a git URL nor an absolute path")
    if parent.credentials is not None and url.origin == parent.origin:
        url = dataclasses.replace(url, credentials=parent.credentials)
    return url
