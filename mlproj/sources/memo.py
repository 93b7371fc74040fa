"""What GitPython answered about immutable versions, remembered so a cache hit needs no GitPython.

Importing GitPython alone takes about 0.1 s, half the budget of a cached run's whole source
resolution. A tag (whose target is re-checked on every use) or a full commit id names the same
commit forever, and a commit has the same submodules forever, so ``memo.json`` in the mirror's
cache folder keeps those answers:

    {"tags": {"v1": {"target": "<object the ref points to>", "commit": "<peeled commit>"}},
     "commits": {"<commit>": [[name, path, url, commit], ...]}}

A tag is used from the memo only while ``refs/tags/<name>`` (read here without git, loose file
first, then ``packed-refs``, as git does) still points to the remembered object.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

from mlproj.sources.gitrepo import RefKind, Revision, SubmoduleRef
from mlproj.sources.uri import is_hex

MEMO_FILENAME = "memo.json"


def read_ref(git_dir: Path, name: str) -> str | None:
    """The object id ``name`` (e.g. ``refs/tags/v1``) points to, or None (missing, symbolic)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        value = (git_dir / name).read_text().strip()
        return value if is_hex(value) else None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        suffix = " " + name
        for line in (git_dir / "packed-refs").read_text().splitlines():
            if line.endswith(suffix) and not line.startswith(("#", "^")):
                return line[: -len(suffix)]
    return None


def _load(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / MEMO_FILENAME).read_text())
    except (OSError, ValueError):
        return {"tags": {}, "commits": {}}
    return data if isinstance(data, dict) else {"tags": {}, "commits": {}}


def lookup(
    root: Path, mirror: Path, version: str | None
) -> tuple[Revision, list[SubmoduleRef]] | None:
    """The remembered commit and submodules of ``version``, or None to ask GitPython."""
    if version is None:
        return None
    data = _load(root)
    rev: Revision | None = None
    if len(version) in (40, 64) and is_hex(version):
        rev = Revision(version, RefKind.COMMIT, None)
    else:
        tag = data.get("tags", {}).get(version)
        if tag and read_ref(mirror, f"refs/tags/{version}") == tag.get("target"):
            rev = Revision(str(tag["commit"]), RefKind.TAG, version)
    if rev is None:
        return None
    subs = data.get("commits", {}).get(rev.commit)
    if subs is None:
        return None
    return rev, [SubmoduleRef(*map(str, sub)) for sub in subs]


def remember(root: Path, mirror: Path, rev: Revision, subs: list[SubmoduleRef]) -> None:
    """Record an immutable answer (a tag or a commit); written atomically, last writer wins."""
    if rev.kind not in (RefKind.TAG, RefKind.COMMIT):
        return
    data = _load(root)
    data.setdefault("commits", {})[rev.commit] = [[s.name, s.path, s.url, s.commit] for s in subs]
    if rev.kind is RefKind.TAG and rev.name:
        target = read_ref(mirror, f"refs/tags/{rev.name}")
        if target is None:
            return
        data.setdefault("tags", {})[rev.name] = {"target": target, "commit": rev.commit}
    temp = root / f".memo-{uuid.uuid4().hex}"
    with contextlib.suppress(OSError):
        temp.write_text(json.dumps(data, sort_keys=True))
        temp.replace(root / MEMO_FILENAME)
