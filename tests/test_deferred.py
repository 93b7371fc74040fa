"""The placeholder for `inspect` (mlproj/deferred.py): nothing loads early, all still works."""

from __future__ import annotations

import subprocess
import sys

from mlproj.deferred import DEFERRED

DEFERRED_THEN_READ = """
import sys
from mlproj.deferred import defer
defer("inspect")
placeholder = sys.modules["inspect"]
import dataclasses

@dataclasses.dataclass(frozen=True, slots=True)
class Documented:
    '''Has a docstring: up to Python 3.11, dataclasses does not read inspect then.'''
    x: int

if sys.version_info < (3, 12):  # later, dataclasses reads inspect.get_annotations
    assert not {"ast", "dis", "tokenize"} & set(sys.modules), "inspect was imported"
    assert sys.modules["inspect"] is placeholder

@dataclasses.dataclass
class Bare:  # no docstring: dataclasses writes one with inspect.signature
    y: int

assert Bare.__doc__ == "Bare(y: int)", Bare.__doc__
import inspect
assert inspect is not placeholder, "import inspect still returns the placeholder"
assert "ast" in sys.modules
assert placeholder.signature is inspect.signature  # what imported the placeholder keeps working
assert str(inspect.signature(Documented)) == "(x: int) -> None"
print("ok")
"""

ALREADY_IMPORTED = """
import inspect, sys
from mlproj.deferred import defer
defer("inspect")
assert sys.modules["inspect"] is inspect
print("ok")
"""


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_inspect_loads_at_its_first_use_and_then_is_the_real_module():
    assert _run(DEFERRED_THEN_READ) == "ok"


def test_a_module_imported_already_is_left_alone():
    assert _run(ALREADY_IMPORTED) == "ok"


def test_only_pythons_where_it_helps_defer_inspect():
    expected = ("inspect",) if sys.version_info < (3, 12) else ()
    assert expected == DEFERRED
