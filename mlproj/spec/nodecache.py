"""A cache of composed YAML node graphs, so reading an unchanged file does not import PyYAML.

``import yaml`` costs 15-18 ms (it imports its pure-Python reader, scanner, parser and composer
whatever loader is used), a large part of a trivial ``mlproj run``. Validation only reads a few
attributes of the nodes (``id``, ``tag``, ``value``, ``start_mark.line``), so after a file was
composed once, its graph is kept under ``<cache>/yaml/`` (one small entry per text, in
``marshal`` format) and rebuilt from there with :class:`CachedNode` objects. Entries are found by
the text's checksum, not by the file's path: a git source is read in a new checkout folder on
every run, and the same text always composes to the same graph (nodes keep no file name).

An entry holds the file's whole text and is used only when that equals the text just read, so
any edit is seen (even one that keeps size and modification time). It also records PyYAML's
installed version file, so an upgrade composes again. Shared and recursive nodes (anchors and
aliases) stay shared. A graph with a merge key (``<<: *base``) is never cached: merging needs
PyYAML's constructor anyway. Entries are written atomically (a temporary file, then
``os.replace``); anything unreadable, unwritable or malformed means "not cached", never an error.
The folder keeps at most :data:`MAX_ENTRIES` files.
"""

from __future__ import annotations

import contextlib
import functools
import marshal
import os
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlproj.settings import cache_dir

if TYPE_CHECKING:
    from yaml.nodes import Node as YamlNode

#: Bumped whenever the entry layout or what it means changes; part of every entry's header.
FORMAT = 1
MAGIC = b"mlproj-yaml-nodes %d\n" % FORMAT
FOLDER = "yaml"
#: Texts larger than this are not cached (MLprojects and env files are a few hundred bytes).
MAX_TEXT = 1 << 20
#: Entries kept at most (a few kB each); past it, the least recently written quarter goes.
MAX_ENTRIES = 1000
# marshal's format may change between Python versions and implementations: one name per version.
SUFFIX = f".{sys.implementation.name}-{sys.version_info[0]}{sys.version_info[1]}.nodes"
_KINDS = {0: "scalar", 1: "sequence", 2: "mapping"}
_CODES = {kind: code for code, kind in _KINDS.items()}
_MERGE = "tag:yaml.org,2002:merge"
_CRC_BYTES = 4


class Mark:
    """Where a cached node starts: only the line (0-based, as PyYAML's marks) is kept."""

    __slots__ = ("line",)

    def __init__(self, line: int) -> None:
        self.line = line


class CachedNode:
    """A node rebuilt from the cache, with the attributes validation reads of PyYAML's nodes.

    ``value`` is the text of a scalar, a list of nodes for a sequence and a list of
    ``(key, value)`` node pairs for a mapping, as in PyYAML.
    """

    __slots__ = ("id", "start_mark", "tag", "value")

    def __init__(self, kind: str, tag: str, line: int) -> None:
        self.id = kind
        self.tag = tag
        self.value: Any = None
        self.start_mark = Mark(line)


def folder() -> Path:
    """The cache's folder (``<cache>/yaml``); it may not exist."""
    return cache_dir() / FOLDER


def entry_path(text: str) -> Path:
    """The entry of a file holding ``text``: the checksum and length of the text.

    zlib's CRC-32, not hashlib (it loads OpenSSL): two texts with one checksum cannot mix, as an
    entry is used only when the text it keeps equals the text read.
    """
    data = text.encode("utf-8", "surrogatepass")
    return folder() / f"{zlib.crc32(data):08x}-{len(data)}{SUFFIX}"


def load(text: str) -> CachedNode | None:
    """The cached graph of a file holding exactly ``text``, else None."""
    stamp = _yaml_stamp()
    if stamp is None or len(text) > MAX_TEXT:
        return None
    try:
        data = entry_path(text).read_bytes()
    except (OSError, ValueError, RuntimeError):  # missing, unreadable, refused, or no home
        return None
    body = data[len(MAGIC) + _CRC_BYTES :]
    header = MAGIC + zlib.crc32(body).to_bytes(_CRC_BYTES, "big")
    if not data.startswith(header):
        return None  # another format, or a damaged file
    try:
        # marshal only builds values (the entry is in the user's own cache folder, checksummed).
        cached_stamp, cached_text, table = marshal.loads(body)  # noqa: S302
        if cached_stamp != stamp or cached_text != text:
            return None
        return _decode(table)
    except (ValueError, TypeError, EOFError, IndexError, KeyError):
        return None  # a well-checksummed entry of an unexpected shape: not ours to trust


def store(text: str, root: YamlNode) -> None:
    """Write the entry of ``text``, composed into ``root``; silently nothing when it cannot be."""
    stamp = _yaml_stamp()
    table = None if stamp is None or len(text) > MAX_TEXT else _encode(root)
    if table is None:
        return
    body = marshal.dumps((stamp, text, table))
    try:
        target = entry_path(text)
    except (OSError, ValueError, RuntimeError):  # no current folder, or no home folder
        return
    # Unique in the folder, so concurrent runs never write the same temporary file.
    temp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "xb") as out:
            out.write(MAGIC + zlib.crc32(body).to_bytes(_CRC_BYTES, "big") + body)
        os.replace(temp, target)  # readers see the old entry or the new one, never half of one
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            os.unlink(temp)
        return
    _evict(target.parent)


def _evict(where: Path) -> None:
    """Keep the folder under :data:`MAX_ENTRIES` files, removing the least recently written.

    Texts come and go (every edit of a file makes a new entry), so without this the folder
    would only grow. Called after a write, that is on a cache miss.
    """
    try:
        names = os.listdir(where)
        if len(names) <= MAX_ENTRIES:
            return
        dated = []
        for name in names:
            with contextlib.suppress(OSError):
                dated.append((os.lstat(where / name).st_mtime_ns, name))
    except OSError:
        return
    dated.sort()
    for _, name in dated[: len(dated) - MAX_ENTRIES * 3 // 4]:
        with contextlib.suppress(OSError):
            os.unlink(where / name)  # another run may have removed it first


def entries() -> list[tuple[Path, os.stat_result]]:
    """Every entry file (and leftover temporary file) with its stat; empty if unreadable."""
    found: list[tuple[Path, os.stat_result]] = []
    with contextlib.suppress(OSError):
        for path in sorted(folder().iterdir()):
            with contextlib.suppress(OSError):
                found.append((path, path.lstat()))
    return found


def prune(*, older_than_days: float | None = None, dry_run: bool = False) -> tuple[int, int]:
    """Remove the entries (with ``older_than_days``, those written longer ago than that).

    Returns:
        How many files were removed (or would be, with ``dry_run``) and their total size.
    """
    import time

    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400.0
    count = size = 0
    for path, stat in entries():
        if cutoff is not None and stat.st_mtime > cutoff:
            continue
        if not dry_run:
            try:
                path.unlink()
            except OSError:
                continue
        count += 1
        size += stat.st_size
    return count, size


@functools.cache  # once per process: loading and storing each file both need it
def _yaml_stamp() -> str | None:
    """Size and modification time of PyYAML's ``__init__.py`` (which names its version).

    Found without importing it; None when PyYAML is not installed.
    """
    from importlib.util import find_spec

    try:
        spec = find_spec("yaml")
        if spec is None or spec.origin is None:
            return None
        stat = os.stat(spec.origin)
    except (OSError, ValueError, ImportError):
        return None
    return f"{spec.origin}:{stat.st_size}:{stat.st_mtime_ns}"


def _encode(root: YamlNode) -> list[tuple[int, str, int, str | tuple[int, ...]]] | None:
    """Flatten a graph into a table; each node once, children as indexes; None if not cached.

    Iterative, because LibYAML composes nestings deeper than Python's recursion limit.
    """
    index = {id(root): 0}
    order = [root]
    table: list[tuple[int, str, int, str | tuple[int, ...]]] = []

    def ref(node: YamlNode) -> int:
        at = index.get(id(node))
        if at is None:
            at = index[id(node)] = len(order)
            order.append(node)
        return at

    for node in order:  # grows while it is walked: breadth first
        kind: str = node.id  # type: ignore[attr-defined]  # set on each Node subclass
        payload: str | tuple[int, ...]
        if kind == "scalar":
            payload = node.value
        elif kind == "sequence":
            payload = tuple(ref(item) for item in node.value)
        else:
            if any(key.tag == _MERGE for key, _ in node.value):
                return None
            payload = tuple(ref(part) for pair in node.value for part in pair)
        table.append((_CODES[kind], node.tag, node.start_mark.line, payload))
    return table


def _decode(table: list[tuple[int, str, int, Any]]) -> CachedNode:
    """Rebuild the graph of :func:`_encode`'s table; raises on a malformed table."""
    nodes = [CachedNode(_KINDS[code], tag, line) for code, tag, line, _ in table]
    for node, (code, tag, line, payload) in zip(nodes, table, strict=True):
        if not (isinstance(tag, str) and isinstance(line, int)):
            raise TypeError("malformed node")
        if code == 0:
            if not isinstance(payload, str):
                raise TypeError("malformed scalar")
            node.value = payload
        elif code == 1:
            node.value = [nodes[at] for at in payload]
        else:
            items = iter(payload)
            node.value = [
                (nodes[key], nodes[value]) for key, value in zip(items, items, strict=True)
            ]
    return nodes[0]
