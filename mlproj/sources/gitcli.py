"""The git processes mlproj starts itself, through :func:`mlproj.process.run_tool`, hardened.

GitPython (see ``gitrepo.py``) reads refs, objects and ``.gitmodules``. The operations here call
the git program directly because GitPython cannot do them safely or quickly:

* clone and fetch: credentials must reach git only through its environment (an HTTP header,
  never the command line or a config file), every transport outside an allow-list must be
  refused, no prompt may block a run, and git's messages must be redacted before anyone sees
  them. GitPython starts its processes itself (outside process.py) and puts the full command line,
  URL included, into its exceptions.
* exporting a commit: it needs a private index (``GIT_INDEX_FILE``) so that neither a mirror nor
  a user's repository is touched; one ``read-tree -u`` does it in milliseconds.
* the state of a user's work tree: one ``git status --porcelain=v2`` answers what GitPython
  needs several processes for, and diff must run without external diff or textconv programs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.process import run_tool, run_tool_bytes
from mlproj.sources.giturl import ALLOWED_PROTOCOLS, Credentials, GitUrl, redact
from mlproj.toolresults import BinaryToolResult, ToolResult

#: ``-c`` options on every git call: no hooks and no fsmonitor program from a repository's config,
#: no sparse checkout and no submodule recursion behind our back, and automatic gc in the
#: foreground (under our lock) rather than a detached process racing the next fetch.
GIT_SAFE = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.sparseCheckout=false",
    "-c",
    "fetch.recurseSubmodules=false",
    "-c",
    "submodule.recurse=false",
    "-c",
    "gc.autoDetach=false",
)
#: Variables that point git at another repository or index (set when mlproj runs inside a git
#: hook, for example); `git rev-parse --local-env-vars` lists them.
_LOCAL_VARS = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
)
#: Network operations may take long (large repositories) but never sit stalled forever: git
#: aborts a transfer slower than 1 KB/s for a minute.
_LOW_SPEED = {"GIT_HTTP_LOW_SPEED_LIMIT": "1000", "GIT_HTTP_LOW_SPEED_TIME": "60"}
_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


def git_env(url: GitUrl | None = None, **extra: str) -> dict[str, str]:
    """The environment of a git process: hardened, and carrying ``url``'s credentials if any."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCAL_VARS}
    env.update(
        GIT_TERMINAL_PROMPT="0",  # fail instead of waiting for a password nobody will type
        GCM_INTERACTIVE="never",
        GIT_ALLOW_PROTOCOL=ALLOWED_PROTOCOLS,  # ext::, fd:: and remote helpers are refused
        **_LOW_SPEED,
    )
    if url is not None and url.credentials is not None:
        # Scoped to the URL's origin, so a redirect to another host does not receive it.
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.{url.origin}.extraHeader",
            GIT_CONFIG_VALUE_0=url.credentials.header(),
        )
    env.update(extra)
    return env


def run_git(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = 120,
    credentials: Credentials | None = None,
) -> ToolResult:
    """Run ``git <GIT_SAFE> <args>``; the output comes back with credentials redacted."""
    result = run_tool(["git", *GIT_SAFE, *args], cwd=cwd, env=env or git_env(), timeout=timeout)
    if result.returncode == 127:
        raise SourceError("git is not installed (or not on PATH); install git and try again")
    return ToolResult(
        result.argv,
        result.returncode,
        redact(result.stdout, credentials) if credentials else result.stdout,
        redact(result.stderr, credentials),
    )


def run_git_bytes(args: Sequence[str], *, cwd: Path, timeout: float = 120) -> BinaryToolResult:
    """Run ``git <GIT_SAFE> <args>`` in ``cwd`` for output kept as bytes (``-z`` lists, patches)."""
    result = run_tool_bytes(["git", *GIT_SAFE, *args], cwd=cwd, env=git_env(), timeout=timeout)
    if result.returncode == 127:
        raise SourceError("git is not installed (or not on PATH); install git and try again")
    return result


def first_error(result: ToolResult | BinaryToolResult) -> str:
    """The most telling line of git's error output, for a one-line message."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else f"git exited with code {result.returncode}"


def clone_mirror(url: GitUrl, dest: Path) -> ToolResult:
    """Clone ``url`` into a new bare repository ``dest`` that fetches branches and tags."""
    env = git_env(url)
    done = run_git(
        ["clone", "--bare", "--quiet", "--", url.url, str(dest)],
        env=env,
        timeout=None,
        credentials=url.credentials,
    )
    if not done.ok:
        return done
    git_dir = f"--git-dir={dest}"
    run_git([git_dir, "config", "remote.origin.fetch", _REFSPECS[0]], env=env)
    return run_git([git_dir, "config", "--add", "remote.origin.fetch", _REFSPECS[1]], env=env)


def fetch(url: GitUrl, mirror: Path, wanted: str | None = None) -> ToolResult:
    """Fetch new branches and tags (and ``wanted``, a commit id, when given) into ``mirror``.

    The URL is given on the command line (not read from the mirror's config), so a URL whose
    credentials changed still reaches the same mirror.
    """
    refspecs = [*_REFSPECS, wanted] if wanted else list(_REFSPECS)
    return run_git(
        [f"--git-dir={mirror}", "fetch", "--prune", "--quiet", "--", url.url, *refspecs],
        env=git_env(url),
        timeout=None,
        credentials=url.credentials,
    )


def export_commit(git_dir: Path, commit: str, dest: Path) -> None:
    """Write the files of ``commit`` into the existing empty folder ``dest``.

    Uses a private, temporary index file, so the repository's own index, HEAD and work tree are
    untouched (a user's repository given with ``-v`` stays exactly as it was).

    Raises:
        SourceError: git could not write the files.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlproj-index-") as temp:
        done = run_git(
            [f"--git-dir={git_dir}", f"--work-tree={dest}", "read-tree", "--reset", "-u", commit],
            env=git_env(GIT_INDEX_FILE=str(Path(temp) / "index")),
            timeout=None,
        )
    if not done.ok:
        raise SourceError(f"cannot check out {commit} into {dest}: {first_error(done)}")


_COMMIT = re.compile(r"[0-9a-f]{4,64}")


def diff_stat(folder: Path, old: str, new: str) -> str | None:
    """``git diff --stat old new`` in the repository holding ``folder`` (None when unknown)."""
    if not (_COMMIT.fullmatch(old) and _COMMIT.fullmatch(new)):
        return None  # recorded values are commit ids; anything else never reaches git's argv
    done = run_git(["-C", str(folder), "diff", "--stat", "--no-color", old, new, "--"], timeout=60)
    return done.stdout if done.ok else None
