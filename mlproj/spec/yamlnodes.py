"""Reading YAML as nodes, so every problem can name the line it is on.

``yaml.safe_load`` returns plain values and forgets where they were. Validation instead composes
the node graph with the safe loader's resolver (same tags, so the same meaning as
``yaml.safe_load``) and walks it. ``yaml`` is imported inside functions: the CLI imports the spec
package for ``--help``, which must not pay for it; and a file composed before is read back from
:mod:`mlproj.spec.nodecache` without importing ``yaml`` at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mlproj.spec import nodecache
from mlproj.spec.wording import did_you_mean

if TYPE_CHECKING:
    from typing import Protocol

    from yaml.nodes import MappingNode
    from yaml.nodes import Node as YamlNode

    from mlproj.spec.problems import Problem

    class _Mark(Protocol):
        @property
        def line(self) -> int: ...

    class Node(Protocol):
        """What validation reads of a node: PyYAML's, or a :class:`nodecache.CachedNode`.

        Both also have ``id`` (see :func:`kind`), which PyYAML's type stubs leave out.
        """

        @property
        def tag(self) -> str: ...
        @property
        def value(self) -> Any: ...
        @property
        def start_mark(self) -> _Mark: ...


TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, TIMESTAMP = (
    TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
MERGE = TAG + "merge"
#: Deepest nesting of collections accepted. PyYAML composes nodes recursively: past a few
#: hundred levels the pure-Python composer raises RecursionError, and LibYAML's (Cython) can
#: overflow the C stack and crash the process (100,000 levels did, on Python 3.11). Real files
#: nest a few levels; MLflow itself (``yaml.safe_load``) fails at about 330.
MAX_DEPTH = 200


class _TooDeepError(Exception):
    """The text nests collections deeper than :data:`MAX_DEPTH` (``line``: 1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class Collector:
    """The problems found in one file, each with the line of the node it is about.

    A plain slotted class rather than a dataclass: a mutable accumulator one loader fills and
    reads, not a record; creating a dataclass would add about 1 ms to every `mlproj run`.
    """

    __slots__ = ("file", "problems", "root")

    def __init__(self, file: Path, root: Path | None = None) -> None:
        self.file = file
        self.root = root
        self.problems: list[Problem] = []

    def add(self, node: Node | None, key_path: str, message: str) -> None:
        """Record a problem at ``node``'s line (no line when ``node`` is None)."""
        self.add_at(None if node is None else node.start_mark.line + 1, key_path, message)

    def add_at(self, line: int | None, key_path: str, message: str) -> None:
        """Record a problem at a 1-based ``line`` (None when unknown)."""
        from mlproj.spec.problems import Problem  # a valid file never builds one

        self.problems.append(Problem(self.file, line, key_path, message, self.root))

    def in_order(self) -> list[Problem]:
        """The problems in file order (problems without a line first; ties keep their order)."""
        return sorted(self.problems, key=lambda problem: problem.line or 0)


def compose_file(col: Collector, empty_message: str) -> Node | None:
    """Compose ``col.file`` into a node graph; record a problem and return None if impossible.

    A text composed before comes from the node cache; only a successful compose is cached, so
    a file with a YAML problem goes through PyYAML every time and its message stays the same.
    """
    text = _read_text(col)
    if text is None:
        return None
    cached = nodecache.load(text)
    if cached is not None:
        return cached
    import yaml  # lazy: see the module docstring

    try:
        node = _compose(yaml, text)
    except (_TooDeepError, yaml.YAMLError) as exc:
        _add_compose_problem(col, yaml, exc)
        return None
    if node is None or is_null(node):  # no document, or one with nothing in it ("---")
        col.add(None, "", empty_message)
        return None
    nodecache.store(text, node)  # before the walk: merging rewrites mapping nodes
    return node


def _add_compose_problem(col: Collector, yaml: Any, exc: Exception) -> None:
    if isinstance(exc, _TooDeepError):
        col.add_at(exc.line, "", f"nests lists and mappings more than {MAX_DEPTH} levels deep")
    elif isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        context = f" ({exc.context})" if exc.context else ""
        col.add_at(line, "", f"is not valid YAML: {exc.problem}{context}")
    else:
        col.add(None, "", f"is not valid YAML: {exc}")


def _read_text(col: Collector) -> str | None:
    """The file's text; record a problem and return None if it cannot be read."""
    try:
        return col.file.read_text(encoding="utf-8-sig")  # -sig: tolerate a BOM
    except UnicodeDecodeError:
        col.add(None, "", "is not UTF-8 text; save it as UTF-8")
    except OSError as exc:
        col.add(None, "", f"cannot be read: {exc.strerror or exc}")
    return None


def _compose(yaml: Any, text: str) -> YamlNode | None:
    """``yaml.compose`` with the safe loader, through LibYAML's parser when it is there.

    The C parser composes the same nodes (tags, values, lines, columns) several times faster than
    the pure-Python one, but words its errors differently and accepts a few things the Python
    parser refuses (a tab after ``key:``). So a text with a tab, or one the C parser refuses, is
    composed again by the Python parser: what is accepted and every message stay those of
    ``yaml.safe_load``.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None and "\t" not in text:
        _check_depth(yaml, text, fast)
        try:
            node: YamlNode | None = yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass  # composed again below, for the pure-Python parser's message
        else:
            return node
    _check_depth(yaml, text, yaml.SafeLoader)
    composed: YamlNode | None = yaml.compose(text, Loader=yaml.SafeLoader)
    return composed


def _check_depth(yaml: Any, text: str, loader: Any) -> None:
    """Raise :class:`_TooDeepError` where ``text`` nests deeper than :data:`MAX_DEPTH`.

    Reads the event stream, which both parsers produce without recursing; a text they cannot
    parse is left for composing to report.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _TooDeepError(event.start_mark.line + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return


def kind(node: Node) -> str:
    """Return ``"scalar"``, ``"sequence"`` or ``"mapping"``."""
    # PyYAML sets `id` on every Node subclass; the type stubs leave it out.
    node_id: str = node.id  # type: ignore[attr-defined]
    return node_id


def join_path(parent: str, key: str) -> str:
    """Return the dotted key path of ``key`` under ``parent``."""
    return f"{parent}.{key}" if parent else key


def describe(node: Node) -> str:
    """Name what a node is, for "must be a string, not ..." messages."""
    if kind(node) == "mapping":
        return "a mapping"
    if kind(node) == "sequence":
        return "a list"
    kinds = {INT: "the number", FLOAT: "the number", BOOL: "the boolean", TIMESTAMP: "the date"}
    if node.tag == NULL:
        return "empty"
    if node.tag in kinds:
        return f"{kinds[node.tag]} {node.value}"
    return "a string" if node.tag == STR else f"a {node.tag} value"


def is_str(node: Node) -> bool:
    """True for a scalar that ``yaml.safe_load`` reads as a string."""
    return kind(node) == "scalar" and node.tag == STR


def is_null(node: Node) -> bool:
    """True for an empty value (``key:`` with nothing after it, ``null`` or ``~``)."""
    return kind(node) == "scalar" and node.tag == NULL


def string_value(col: Collector, node: Node, key_path: str, *, what: str = "") -> str | None:
    """Return a non-blank string scalar's text, or record a problem and return None."""
    what = what or "a string"
    if not is_str(node):
        hint = ""
        if kind(node) == "scalar" and node.tag in (INT, FLOAT, BOOL, TIMESTAMP):
            # YAML turns 3.10 into 3.1 and yes into True: say so, and how to keep the text.
            hint = f'; quote it to keep the text: "{node.value}"'
        col.add(node, key_path, f"must be {what}, not {describe(node)}{hint}")
        return None
    text: str = node.value
    if not text.strip():
        col.add(node, key_path, f"is empty (expected {what})")
        return None
    return text


def string_list(col: Collector, node: Node, key_path: str) -> tuple[str, ...] | None:
    """Return a list of strings (empty for ``null``), or record problems and return None."""
    if is_null(node):
        return ()
    if kind(node) != "sequence":
        col.add(node, key_path, f"must be a list of strings, not {describe(node)}")
        return None
    items: list[str] = []
    ok = True
    for index, item in enumerate(node.value):
        text = string_value(col, item, f"{key_path}[{index}]")
        ok = ok and text is not None
        if text is not None:
            items.append(text)
    return tuple(items) if ok else None


def mapping_entries(
    col: Collector, node: Node, key_path: str, allowed: Sequence[str] | None
) -> dict[str, tuple[Node, Node]] | None:
    """Check a mapping's keys and return ``{key: (key_node, value_node)}`` in file order.

    Keys must be non-empty strings and appear once. With ``allowed``, other keys are reported
    with a "did you mean". Merge keys (``<<: *anchor``) are applied as ``yaml.safe_load`` does.
    Returns None (after recording a problem) when ``node`` is not a mapping at all.
    """
    if kind(node) != "mapping":
        col.add(node, key_path, f"must be a mapping, not {describe(node)}")
        return None
    own = [(key, value) for key, value in node.value if key.tag != MERGE]
    entries: dict[str, tuple[Node, Node]] = {}
    for key, value in own:
        name = _key_name(col, key, key_path)
        if name is None:
            continue
        if name in entries:
            first = entries[name][0].start_mark.line + 1
            col.add(key, join_path(key_path, name), f"duplicate key (first at line {first})")
            continue
        entries[name] = (key, value)
    if len(own) != len(node.value):
        _merge_into(col, node, key_path, entries)
    if allowed is not None:
        report_unknown(col, entries, key_path, allowed)
    return entries


def report_unknown(
    col: Collector, entries: dict[str, tuple[Node, Node]], key_path: str, allowed: Sequence[str]
) -> None:
    """Record a problem, with a "did you mean", for each key of ``entries`` not in ``allowed``."""
    for name, (key, _) in entries.items():
        if name not in allowed:
            expected = ", ".join(allowed)
            hint = did_you_mean(name, allowed)
            col.add(key, join_path(key_path, name), f"unknown key (expected {expected}){hint}")


def _key_name(col: Collector, key: Node, key_path: str) -> str | None:
    if not is_str(key):
        col.add(key, key_path, f"keys must be strings, not {describe(key)}")
        return None
    name: str = key.value
    if not name:
        col.add(key, key_path, "keys must not be empty")
        return None
    return name


def _merge_into(
    col: Collector, node: Node, key_path: str, entries: dict[str, tuple[Node, Node]]
) -> None:
    """Add the keys that ``<<`` merges in and the mapping does not set itself."""
    from yaml.constructor import ConstructorError, SafeConstructor

    try:
        # The constructor's own merge logic, so the result is exactly yaml.safe_load's.
        SafeConstructor().flatten_mapping(cast("MappingNode", node))
    except ConstructorError as exc:
        col.add(node, key_path, f"invalid merge key: {exc.problem}")
        return
    merged: dict[str, tuple[Node, Node]] = {}
    for key, value in node.value:
        if is_str(key) and key.value and key.value not in entries:
            merged[key.value] = (key, value)
    entries.update(merged)
