"""Standard modules that the `mlproj` process imports only when something reads them.

`dataclasses` imports `inspect` at its top, and `inspect` imports `ast`, `dis`, `tokenize` and
`linecache`: ~9 ms of a run's ~150 ms start on the project's machine. `dataclasses` reads it for
one thing, a docstring for a class that has none, and every mlproj dataclass has one (a test
checks it). So on the hot command lines (`cli/fastparse.py`) a placeholder stands in
`sys.modules` for `inspect`; the first attribute read of it imports the real module, which from
then on is what `import inspect` returns and what the placeholder forwards to. Nothing behaves
differently, only later.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

#: What the hot command lines do not need at start-up, though a module they import imports it.
DEFERRED = ("inspect",)


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


def defer_standard_modules() -> None:
    """Put placeholders for :data:`DEFERRED` modules that nothing has imported yet."""
    for name in DEFERRED:
        if name not in sys.modules:
            sys.modules[name] = _Placeholder(name)
