"""Standard modules that the `mlproj` process imports only when something reads them.

`dataclasses` imports `inspect` at its top, and `inspect` imports `ast`, `dis`, `tokenize` and
`linecache`: ~9 ms of a run's ~150 ms start on the project's machine. Up to Python 3.11,
`dataclasses` reads it for one thing, a docstring for a class that has none, and every mlproj
dataclass has one (a test checks it). So on the hot command lines (`cli/fastparse.py`) a
placeholder stands in `sys.modules` for `inspect`; the first attribute read of it imports the
real module, which from then on is what `import inspect` returns and what the placeholder
forwards to. Nothing behaves differently, only later.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

#: What the hot command lines do not need at start-up, though a module they import imports it.
#: From Python 3.12 on, dataclasses reads ``inspect.get_annotations`` for every class: nothing
#: to gain there.
DEFERRED = ("inspect",) if sys.version_info < (3, 12) else ()


class _Placeholder(ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is read."""

    def __getattr__(self, name: str) -> object:
        # Only called for names the placeholder lacks: after the first one it holds them all.
        return getattr(_load(self), name)


def _load(placeholder: _Placeholder) -> ModuleType:
    name = placeholder.__name__
    if sys.modules.get(name) is placeholder:
        del sys.modules[name]
    real = import_module(name)
    vars(placeholder).update(vars(real))
    return real


def defer(name: str) -> None:
    """Put a placeholder for the module ``name`` unless something has imported it already."""
    if name not in sys.modules:
        sys.modules[name] = _Placeholder(name)


def defer_standard_modules() -> None:
    """Put placeholders for the :data:`DEFERRED` modules."""
    for name in DEFERRED:
        defer(name)
