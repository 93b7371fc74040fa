"""The layering of architecture.md, enforced over the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mlproj"

# module prefix -> prefixes it must never import
FORBIDDEN = {
    "mlproj.errors": ["mlproj."],
    "mlproj.status": ["mlproj."],
    "mlproj.filelock": ["mlproj."],
    "mlproj.toolresults": ["mlproj."],
    "mlproj.parentdeath": ["mlproj."],
    # The protocol writer is copied into environments without mlproj: standard library only.
    "mlproj.logwriter": ["mlproj."],
    # Comparing runs is pure: recorded runs in, rows out.
    "mlproj.compare": [
        "mlproj.spec",
        "mlproj.envs",
        "mlproj.backends",
        "mlproj.sources",
        "mlproj.runner",
        "mlproj.cli",
        "mlproj.process",
    ],
    # The Python logging API sits beside the runner, never under it or the CLI.
    "mlproj.fluent": ["mlproj.runner", "mlproj.cli", "mlproj.envs", "mlproj.backends"],
    "mlproj.reproduce": ["mlproj.cli"],
    "mlproj.settings": [
        "mlproj.spec",
        "mlproj.tracking",
        "mlproj.envs",
        "mlproj.backends",
        "mlproj.sources",
        "mlproj.runner",
        "mlproj.cli",
        "mlproj.process",
    ],
    "mlproj.process": [
        "mlproj.spec",
        "mlproj.tracking",
        "mlproj.envs",
        "mlproj.backends",
        "mlproj.sources",
        "mlproj.runner",
        "mlproj.cli",
    ],
    # The Docker API gateway, shared by envs/docker.py (images) and backends/docker.py (containers).
    "mlproj.dockerapi": [
        "mlproj.spec",
        "mlproj.tracking",
        "mlproj.envs",
        "mlproj.backends",
        "mlproj.sources",
        "mlproj.runner",
        "mlproj.cli",
        "mlproj.process",
    ],
    "mlproj.spec": [
        "mlproj.tracking",
        "mlproj.envs",
        "mlproj.backends",
        "mlproj.sources",
        "mlproj.runner",
        "mlproj.cli",
    ],
    "mlproj.tracking": [
        "mlproj.spec",
        "mlproj.envs",
        "mlproj.backends",
        "mlproj.sources",
        "mlproj.runner",
        "mlproj.cli",
    ],
    "mlproj.sources": [
        "mlproj.tracking",
        "mlproj.envs",
        "mlproj.backends",
        "mlproj.runner",
        "mlproj.cli",
    ],
    "mlproj.envs": [
        "mlproj.tracking",
        "mlproj.backends",
        "mlproj.sources",
        "mlproj.runner",
        "mlproj.cli",
    ],
    "mlproj.backends": [
        "mlproj.tracking",
        "mlproj.envs",
        "mlproj.sources",
        "mlproj.runner",
        "mlproj.cli",
    ],
    "mlproj.runner": [
        "mlproj.cli",
        "mlproj.reproduce",
        "mlproj.fluent",
        "mlproj.jobs",
        "mlproj.submit",
        "mlproj.jobexec",
    ],
    "mlproj.launch": ["mlproj.cli", "mlproj.reproduce", "mlproj.fluent", "mlproj.submit"],
    # Status polls run before `runs list` answers: no runner, environments or sources there.
    "mlproj.jobs": [
        "mlproj.runner",
        "mlproj.launch",
        "mlproj.envs",
        "mlproj.sources",
        "mlproj.spec",
        "mlproj.cli",
        "mlproj.submit",
        "mlproj.jobexec",
        "mlproj.reproduce",
    ],
    "mlproj.jobfile": ["mlproj.cli", "mlproj.jobs", "mlproj.submit", "mlproj.jobexec"],
    # What runs on a node: the runner's work, never the CLI.
    "mlproj.jobexec": ["mlproj.cli", "mlproj.submit", "mlproj.reproduce"],
    "mlproj.submit": ["mlproj.cli", "mlproj.jobexec", "mlproj.reproduce"],
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_imports_point_down_only():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        for owner, banned in FORBIDDEN.items():
            if name == owner or name.startswith(owner + "."):
                for imported in imports_of(path):
                    if any(imported == b.rstrip(".") or imported.startswith(b) for b in banned):
                        violations.append(f"{name} imports {imported}")
    assert violations == []


def test_no_relative_imports_and_no_shell_true():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import"
            if isinstance(node, ast.keyword) and node.arg == "shell":
                assert not (isinstance(node.value, ast.Constant) and node.value.value), path


def test_only_process_module_starts_processes():
    allowed = {"mlproj.process"}
    for path in PACKAGE.rglob("*.py"):
        if module_name(path) in allowed:
            continue
        text = path.read_text()
        for needle in ("subprocess.", "os.system(", "os.exec", "os.spawn", "Popen("):
            assert needle not in text, f"{path}: {needle} outside mlproj/process.py"


def _is_dataclass_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Name) and target.id == "dataclass") or (
        isinstance(target, ast.Attribute) and target.attr == "dataclass"
    )


def test_every_dataclass_has_a_docstring():
    """A dataclass without one makes `dataclasses` write one with `inspect.signature`, which
    imports `inspect` (and `ast`, `dis`, `tokenize`) that the hot commands defer (deferred.py)."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.ClassDef)
                and any(_is_dataclass_decorator(d) for d in node.decorator_list)
                and ast.get_docstring(node) is None
            ):
                missing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert missing == []
