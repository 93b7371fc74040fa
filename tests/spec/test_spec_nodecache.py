"""The cache of composed YAML nodes: same graphs and results as PyYAML's, never a failed run."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml

from mlproj.spec import nodecache
from mlproj.spec.envfiles import parse_conda_env, parse_python_env
from mlproj.spec.load import check_project
from mlproj.spec.yamlnodes import MAX_DEPTH, MERGE, Collector, compose_file

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = sorted(p.parent for p in (REPO / "example_projects").glob("*/MLproject"))
MLPROJECTS = sorted([*(p / "MLproject" for p in EXAMPLES), *FIXTURES.glob("mlproject/*/*.yaml")])
PYTHON_ENVS = sorted(
    [*REPO.glob("example_projects/*/python_env.yaml"), *FIXTURES.glob("python_env/*/*.yaml")]
)
CONDA_ENVS = sorted(REPO.glob("example_projects/*/conda.y*ml"))
EVERY_FILE = [*MLPROJECTS, *PYTHON_ENVS, *CONDA_ENVS]
# Texts beyond the repository's files: YAML features the files do not use.
EXTRA_TEXTS = {
    "aliases": "a: &x [1, 2]\nb: *x\nc: &m {k: v}\nd: *m\n",
    "recursive": "a: &x [1, *x]\n",
    "styles": "a: 'single'\nb: \"dou\\tble\"\nc: |\n  lit\n  eral\nd: >\n  fol\n  ded\ne: plain\n",
    "tags": "a: !!str 3\nb: !!float 1\nc: 2001-12-14\nd: ~\ne: yes\nf: 0x1F\ng: .inf\n",
    "complex_key": "? [a, b]\n: 1\n? {c: d}\n: 2\n",
    "tab_refused": "name:\tx\nentry_points: {}\n",
    "tab_in_quotes": 'name: "a\tb"\n',
    "unicode": "name: ünïcødé ✓\ncommand: echo 'é'\n",
    "documents_end": "name: x\n...\n",
    "value_key": "=: 1\n",
}


def read(path: Path) -> str:
    """The text as compose_file reads it."""
    return path.read_text(encoding="utf-8-sig")


def compose(path: Path) -> tuple[object, list[str]]:
    col = Collector(path)
    node = compose_file(col, "empty")
    return node, [str(problem) for problem in col.problems]


def assert_same_graph(composed: object, cached: object) -> None:
    """Every attribute validation reads is equal, and shared nodes stay shared (a bijection)."""
    seen: dict[int, object] = {}
    todo = [(composed, cached)]
    while todo:
        a, b = todo.pop()
        if id(a) in seen:
            assert seen[id(a)] is b
            continue
        seen[id(a)] = b
        assert (b.id, b.tag, b.start_mark.line) == (a.id, a.tag, a.start_mark.line)
        assert type(b.value) is type(a.value)
        if a.id == "scalar":
            assert b.value == a.value
            continue
        assert len(b.value) == len(a.value)
        if a.id == "sequence":
            todo.extend(zip(a.value, b.value, strict=True))
            continue
        for (a_key, a_value), (b_key, b_value) in zip(a.value, b.value, strict=True):
            assert type(b.value[0]) is tuple
            todo += [(a_key, b_key), (a_value, b_value)]
    assert len({id(b) for b in seen.values()}) == len(seen)


def has_merge_key(node: object) -> bool:
    seen, todo = set(), [node]
    while todo:
        node = todo.pop()
        if id(node) in seen or node.id == "scalar":
            continue
        seen.add(id(node))
        pairs = node.value if node.id == "mapping" else [(item, item) for item in node.value]
        if node.id == "mapping" and any(key.tag == MERGE for key, _ in pairs):
            return True
        todo += [part for pair in pairs for part in pair]
    return False


def temp_files() -> list[Path]:
    folder = nodecache.folder()
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")] if folder.is_dir() else []


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh cache folder for every test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("MLPROJ_CACHE_DIR", str(folder))
    return folder


def test_the_repository_files_are_all_here():
    assert len(EXAMPLES) >= 5
    assert len(MLPROJECTS) >= 40
    assert len(PYTHON_ENVS) >= 12
    assert CONDA_ENVS


# --- the graphs ----------------------------------------------------------------------------


def check_graph_round_trip(path: Path) -> None:
    first, problems = compose(path)
    second, again = compose(path)
    assert again == problems
    assert not isinstance(first, nodecache.CachedNode)
    if first is None:  # not YAML, or empty: never cached, composed (and reported) each time
        assert second is None
        assert not nodecache.entry_path(read(path)).exists()
    elif has_merge_key(first):  # merging needs PyYAML's constructor: never cached
        assert not isinstance(second, nodecache.CachedNode)
        assert not nodecache.entry_path(read(path)).exists()
    else:
        assert isinstance(second, nodecache.CachedNode)
        assert_same_graph(first, second)


@pytest.mark.parametrize("path", EVERY_FILE, ids=lambda p: str(p.relative_to(REPO)))
def test_cached_graph_equals_composed_one(path):
    check_graph_round_trip(path)


@pytest.mark.parametrize("name", EXTRA_TEXTS)
def test_cached_graph_of_other_yaml_features(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(EXTRA_TEXTS[name], encoding="utf-8")
    check_graph_round_trip(path)


def test_a_byte_order_mark_and_deep_nesting(tmp_path):
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffname: x\n".encode())
    check_graph_round_trip(bom)
    deep = tmp_path / "deep.yaml"  # the deepest nesting accepted: caching it must not recurse
    depth = MAX_DEPTH - 1  # and the document's mapping
    deep.write_text("name: " + "[" * depth + "]" * depth + "\n")
    check_graph_round_trip(deep)


@pytest.mark.parametrize("loader", ["LibYAML", "pure Python"])
def test_nesting_deeper_than_the_limit_is_one_problem(tmp_path, monkeypatch, loader):
    if loader == "pure Python":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif not yaml.__with_libyaml__:
        pytest.skip("PyYAML without LibYAML")
    path = tmp_path / "deep.yaml"
    path.write_text("name: x\nlist:\n  - " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n")
    node, problems = compose(path)
    assert node is None
    assert problems == [f"deep.yaml:3: nests lists and mappings more than {MAX_DEPTH} levels deep"]
    assert nodecache.entries() == []


def test_aliases_stay_shared_and_cycles_survive(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("a: &x [1, *x]\nb: *x\n")
    compose(path)
    node, _ = compose(path)
    assert isinstance(node, nodecache.CachedNode)
    (_, a), (_, b) = node.value
    assert a is b
    assert a.value[1] is a


def test_merge_keys_are_not_cached_but_mean_the_same(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy(FIXTURES / "mlproject" / "valid" / "yaml_anchors.yaml", root / "MLproject")
    first = check_project(root)
    assert first == check_project(root)
    assert first[0] is not None
    assert set(first[0].entry_points) == {"train", "train_again", "evaluate"}
    assert not nodecache.folder().exists() or not any(nodecache.folder().iterdir())


# --- validation from cached nodes ----------------------------------------------------------


def same_twice(check, path: Path) -> None:
    """``check`` gives the same objects and messages uncached and then from the cache."""
    text = path.read_text(encoding="utf-8-sig")
    uncached = check()
    cached = check()
    assert cached == uncached
    assert [str(p) for p in cached[1]] == [str(p) for p in uncached[1]]
    if nodecache.entry_path(text).exists():
        assert nodecache.load(text) is not None  # the second call did read the cache


@pytest.mark.parametrize("path", MLPROJECTS, ids=lambda p: str(p.relative_to(REPO)))
def test_projects_and_problems_from_cached_nodes(tmp_path, path):
    if path.name == "MLproject":  # an example project, in place (the cache is elsewhere)
        root = path.parent
    else:
        root = tmp_path / "project"
        root.mkdir()
        shutil.copy(path, root / "MLproject")
    same_twice(lambda: check_project(root), root.resolve() / "MLproject")


@pytest.mark.parametrize("path", PYTHON_ENVS, ids=lambda p: str(p.relative_to(REPO)))
def test_python_envs_from_cached_nodes(path):
    same_twice(lambda: parse_python_env(path, root=path.parent), path)


@pytest.mark.parametrize("path", CONDA_ENVS, ids=lambda p: str(p.relative_to(REPO)))
def test_conda_envs_from_cached_nodes(path):
    same_twice(lambda: parse_conda_env(path, root=path.parent), path)


# --- validity ------------------------------------------------------------------------------

PROBE = """
import json, sys
from pathlib import Path
from mlproj.spec.load import load_project
names = [load_project(Path(p)).name for p in sys.argv[1:]]
print(json.dumps([names, 'yaml' in sys.modules]))
"""


def test_the_second_load_does_not_import_yaml(cache):
    # One project with python_env.yaml, one with conda.yaml: every file read comes from the cache.
    projects = [str(REPO / "example_projects" / n) for n in ("elasticnet", "conda_greeting")]
    env = dict(os.environ, MLPROJ_CACHE_DIR=str(cache))
    loads = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", PROBE, *projects],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(2)
    ]
    assert loads == [
        [["elasticnet", "conda-greeting"], True],
        [["elasticnet", "conda-greeting"], False],
    ]


def test_an_edit_keeping_size_and_mtime_is_seen(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    spec = root / "MLproject"
    spec.write_text("name: aaa\nentry_points:\n  main:\n    command: echo a\n")
    stamp = spec.stat()
    assert check_project(root)[0].name == "aaa"
    assert check_project(root)[0].name == "aaa"  # from the cache
    spec.write_text("name: bbb\nentry_points:\n  main:\n    command: echo b\n")
    os.utime(spec, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert spec.stat().st_size == stamp.st_size
    assert spec.stat().st_mtime_ns == stamp.st_mtime_ns
    project = check_project(root)[0]
    assert project.name == "bbb"
    assert project.entry_points["main"].command == "echo b"
    assert check_project(root)[0] == project  # and the entry now holds the new text


def test_the_same_text_in_another_folder_comes_from_the_cache(tmp_path, cache):
    """A git source is read in a new checkout folder on every run: entries go by the text."""
    text = "name: x\nentry_points:\n  main:\n    command: echo {a}\n"
    first, second = tmp_path / "checkout-1" / "MLproject", tmp_path / "checkout-2" / "MLproject"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(text)
    assert not isinstance(compose(first)[0], nodecache.CachedNode)
    node, problems = compose(second)
    assert isinstance(node, nodecache.CachedNode)
    assert problems == []
    assert len(nodecache.entries()) == 1


def test_a_file_with_a_yaml_problem_is_never_cached(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "MLproject").write_text("name: [unclosed\n")
    first = check_project(root)
    assert first[1]
    assert "is not valid YAML" in str(first[1][0])
    assert check_project(root) == first
    assert not nodecache.folder().exists()


# --- a damaged or unusable cache falls back to PyYAML ------------------------------------------


def _checksummed(value: object) -> bytes:
    body = marshal.dumps(value)
    return nodecache.MAGIC + zlib.crc32(body).to_bytes(4, "big") + body


def _valid_entry(text: str, table: object) -> bytes:
    return _checksummed((nodecache._yaml_stamp(), text, table))


DAMAGE = {
    "empty": lambda data, text: b"",
    "truncated": lambda data, text: data[: len(data) // 2],
    "a flipped byte": lambda data, text: data[:-3] + bytes([data[-3] ^ 0x55]) + data[-2:],
    "junk": lambda data, text: os.urandom(300),
    "another format": lambda data, text: data.replace(b"nodes 1\n", b"nodes 0\n", 1),
    "checksummed, wrong shape": lambda data, text: _checksummed(("x",)),
    "checksummed, no table": lambda data, text: _valid_entry(text, None),
    "checksummed, empty table": lambda data, text: _valid_entry(text, []),
    "checksummed, scalar not text": lambda data, text: _valid_entry(text, [(0, "t", 0, 5)]),
    "checksummed, bad index": lambda data, text: _valid_entry(text, [(1, "t", 0, (7,))]),
    "checksummed, odd mapping": lambda data, text: _valid_entry(text, [(2, "t", 0, (0,))]),
    "checksummed, unknown kind": lambda data, text: _valid_entry(text, [(7, "t", 0, "x")]),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_falls_back_silently(tmp_path, damage):
    root = tmp_path / "p"
    root.mkdir()
    spec = root / "MLproject"
    spec.write_text("name: x\nentry_points:\n  main:\n    command: echo {a}\n")
    expected = check_project(root)
    text = spec.read_text()
    entry = nodecache.entry_path(text)
    entry.write_bytes(DAMAGE[damage](entry.read_bytes(), text))
    assert nodecache.load(text) is None
    assert check_project(root) == expected
    assert nodecache.load(text) is not None  # written again
    assert temp_files() == []


def test_a_directory_in_place_of_the_entry(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "MLproject").write_text("name: x\n")
    entry = nodecache.entry_path("name: x\n")
    entry.mkdir(parents=True)
    assert check_project(root) == check_project(root)
    assert check_project(root)[0].name == "x"
    assert entry.is_dir()
    assert temp_files() == []


@pytest.mark.parametrize("blocked", ["cache", "cache/yaml"])
def test_an_unwritable_cache_falls_back_silently(tmp_path, monkeypatch, blocked):
    monkeypatch.setenv("MLPROJ_CACHE_DIR", str(tmp_path / "c" / "cache"))
    blocker = tmp_path / "c" / blocked  # a file where a folder should be: nothing can be made
    blocker.parent.mkdir(parents=True)
    blocker.write_text("")
    root = tmp_path / "p"
    root.mkdir()
    (root / "MLproject").write_text("name: x\n")
    first = check_project(root)
    assert first[0].name == "x"
    assert check_project(root) == first


# --- concurrency ---------------------------------------------------------------------------

WRITER_READER = """
import sys, zlib
from pathlib import Path
import yaml
from mlproj.spec import nodecache

def shape(node):
    if node.id == "scalar":
        return (node.tag, node.value, node.start_mark.line)
    if node.id == "sequence":
        return (node.tag, [shape(n) for n in node.value])
    return (node.tag, [(shape(k), shape(v)) for k, v in node.value])

def whole(entry):
    try:
        data = entry.read_bytes()
    except FileNotFoundError:
        return True
    body = data[len(nodecache.MAGIC) + 4 :]
    return data.startswith(nodecache.MAGIC + zlib.crc32(body).to_bytes(4, "big"))

worker = int(sys.argv[2])
texts = [Path(p).read_text() for p in sys.argv[3:]]
graphs = [yaml.compose(t, Loader=yaml.SafeLoader) for t in texts]
shapes = [shape(g) for g in graphs]
hits = 0
for i in range(100):
    which = (i + worker) % len(texts)
    nodecache.store(texts[which], graphs[which])
    assert whole(nodecache.entry_path(texts[which])), "half an entry"
    for text, expected in zip(texts, shapes):
        got = nodecache.load(text)
        if got is not None:
            assert shape(got) == expected, "a wrong graph"
            hits += 1
print(hits)
"""


def test_concurrent_writers_and_readers_never_see_half_an_entry(tmp_path, cache):
    texts = []
    for size in (400, 250):  # entries of ~15 kB: writes long enough to overlap
        path = tmp_path / f"{size}.yaml"
        lines = [f"  ep{i}:\n    command: python train.py --n {i} {{a}}\n" for i in range(size)]
        path.write_text("entry_points:\n" + "".join(lines))
        texts.append(str(path))
    env = dict(os.environ, MLPROJ_CACHE_DIR=str(cache))
    argv = [sys.executable, "-c", WRITER_READER, str(tmp_path / "MLproject")]
    workers = [
        subprocess.Popen([*argv, str(n), *texts], env=env, stdout=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4
    assert sum(int(out) for out in outputs) > 0
    assert temp_files() == []


CONCURRENT_LOADS = """
import sys
from pathlib import Path
from mlproj.spec.load import load_project
for _ in range(20):
    assert load_project(Path(sys.argv[1])).name == "elasticnet"
"""


def test_concurrent_runs_load_the_same_project(cache):
    env = dict(os.environ, MLPROJ_CACHE_DIR=str(cache))
    project = str(REPO / "example_projects" / "elasticnet")
    argv = [sys.executable, "-c", CONCURRENT_LOADS, project]
    workers = [subprocess.Popen(argv, env=env) for _ in range(4)]
    assert [worker.wait(timeout=300) for worker in workers] == [0] * 4
    assert len(nodecache.entries()) == 2  # the MLproject and python_env.yaml
    assert temp_files() == []


# --- mlproj cache list / prune -------------------------------------------------------------


def test_cache_list_and_prune_show_and_remove_the_entries(mlproj, cache):
    root = REPO / "example_projects" / "elasticnet"
    check_project(root)
    assert len(nodecache.entries()) == 2
    listed = mlproj("cache", "list", MLPROJ_CACHE_DIR=str(cache))
    assert listed.returncode == 0
    assert "composed YAML of 2 files" in listed.stdout
    assert "the cache is empty" not in listed.stdout
    assert mlproj("cache", "list", "--json", MLPROJ_CACHE_DIR=str(cache)).json() == []
    kept = mlproj("cache", "prune", "--older-than", "1", MLPROJ_CACHE_DIR=str(cache))
    assert kept.stdout.startswith("removed 0 items")
    assert len(nodecache.entries()) == 2
    dry = mlproj("cache", "prune", "--dry-run", MLPROJ_CACHE_DIR=str(cache))
    assert "would remove the composed YAML of 2 files" in dry.stdout
    assert len(nodecache.entries()) == 2
    pruned = mlproj("cache", "prune", MLPROJ_CACHE_DIR=str(cache))
    assert "removed the composed YAML of 2 files" in pruned.stdout
    assert nodecache.entries() == []
    assert "the cache is empty" in mlproj("cache", "list", MLPROJ_CACHE_DIR=str(cache)).stdout


def test_entry_names():
    text = "name: é\n"  # 8 characters, 9 bytes: the length is in bytes
    crc = zlib.crc32(text.encode())
    assert nodecache.entry_path(text).name == f"{crc:08x}-9{nodecache.SUFFIX}"
    assert nodecache.entry_path("name: a\n") != nodecache.entry_path("name: b\n")


def test_the_folder_keeps_the_most_recent_entries(tmp_path, monkeypatch):
    # Every edit of a file makes a new entry: old entries must go.
    monkeypatch.setattr(nodecache, "MAX_ENTRIES", 8)
    files = []
    for i in range(12):
        path = tmp_path / f"checkout{i}" / "MLproject"
        path.parent.mkdir()
        path.write_text(f"name: p{i}\n")
        compose(path)
        files.append(path)
        os.utime(nodecache.entry_path(read(path)), (1_000_000 + i, 1_000_000 + i))
    kept = {path.name for path, _ in nodecache.entries()}
    assert 6 <= len(kept) <= 8
    assert nodecache.entry_path(read(files[-1])).name in kept
    assert nodecache.entry_path(read(files[0])).name not in kept
    assert isinstance(compose(files[-1])[0], nodecache.CachedNode)
