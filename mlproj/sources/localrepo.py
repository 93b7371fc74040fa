"""``-v`` on a local repository: check the version out into a private folder, never in place.

MLflow checks the version out inside the user's repository (moving HEAD, touching the index and
work tree). mlproj reads the commit from the repository's object database and writes its files
into a workdir with a private index, so the user's work tree, index, HEAD and remotes stay
exactly as they were. A bare repository given as a folder is handled the same way.
Submodules come from the repository's own ``.git/modules/<name>`` when it holds the recorded
commit, else from the cache by URL (see ``remote.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlproj.errors import SourceError
from mlproj.sources import gitcli, gitrepo
from mlproj.sources.gitrepo import Revision, SubmoduleRef
from mlproj.sources.giturl import GitUrl, parse_git_url
from mlproj.sources.remote import Context, checkout_submodules, submodule_dest, submodule_url
from mlproj.sources.snapshot import Snapshot, apply_snapshot
from mlproj.sources.uri import redact_url
from mlproj.sources.workdir import Workdir

if TYPE_CHECKING:
    from git import Repo


def resolve_local_version(
    repo_root: Path, version: str | None, ctx: Context, snapshot: Snapshot | None = None
) -> tuple[Revision, Workdir]:
    """Check ``version`` of the repository at ``repo_root`` out into a new workdir.

    With ``snapshot``, the saved changes of a dirty tree are applied on top (see
    ``snapshot.py``) before the checkout is sealed: changes the run makes later still show.

    Raises:
        SourceError: Unknown version, or git cannot read the repository.
    """
    with gitrepo.open_repo(repo_root) as repo:
        rev = gitrepo.resolve(repo, version)
        if rev is None:
            what = f"-v {version}" if version else "HEAD"
            raise SourceError(
                f"source '{repo_root}': {what} is not a branch, tag or commit of this "
                f"repository ({gitrepo.known_refs(repo)})"
            )
        subs = gitrepo.submodules(repo, rev.commit)
        git_dir, common = Path(repo.git_dir), Path(repo.common_dir)
        remote = _remote_url(repo)
    if remote:
        ctx.details["remote"] = redact_url(remote)
    workdir = Workdir.create(ctx.cache, repo_root.name.removesuffix(".git") or "repo")
    try:
        gitcli.export_commit(git_dir, rev.commit, workdir.path)
        if subs:  # relative submodule URLs resolve against the remote, else the repository
            base = (parse_git_url(remote) if remote else None) or _file_url(repo_root)
            _local_submodules(common, base, subs, workdir.path, ctx, prefix="")
        if snapshot is not None:
            apply_snapshot(snapshot, workdir.path)
        workdir.seal()
    except BaseException:
        workdir.release()
        raise
    return rev, workdir


def _remote_url(repo: Repo) -> str | None:
    reader = repo.config_reader()
    for section in ('remote "origin"', *reader.sections()):
        if section.startswith('remote "') and reader.has_option(section, "url"):
            return str(reader.get_value(section, "url"))
    return None


def _file_url(path: Path) -> GitUrl:
    url = parse_git_url(path.resolve().as_uri())
    assert url is not None
    return url


def _local_submodules(
    common: Path,
    parent: GitUrl,
    subs: list[SubmoduleRef],
    root: Path,
    ctx: Context,
    *,
    prefix: str,
) -> None:
    for sub in subs:
        # git refuses such names too: a name must not lead out of .git/modules.
        safe_name = not Path(sub.name).is_absolute() and ".." not in Path(sub.name).parts
        module = common / "modules" / sub.name if safe_name else common / "modules" / "-"
        dest = submodule_dest(root, sub, str(parent.url))
        path = f"{prefix}{sub.path}"
        if not (module / "HEAD").is_file():
            checkout_submodules(parent, [sub], root, ctx, prefix)
            continue
        with gitrepo.open_repo(module) as repo:
            if not gitrepo.has_commit(repo, sub.commit):
                nested = None
            else:
                nested = gitrepo.submodules(repo, sub.commit)
        if nested is None:  # the user's copy lacks that commit: get it by URL
            checkout_submodules(parent, [sub], root, ctx, prefix)
            continue
        gitcli.export_commit(module, sub.commit, dest)
        ctx.details[f"submodule.{path}"] = sub.commit
        _local_submodules(module, submodule_url(parent, sub), nested, dest, ctx, prefix=f"{path}/")
