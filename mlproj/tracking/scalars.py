"""`mlproj run --capture-scalars`: lines like ``loss: 0.25 (step 3)`` on stdout become metrics.

A line counts only when it is entirely one scalar, so ordinary output is left alone:

    loss: 0.25 (step 3)      -> loss = 0.25 at step 3
    accuracy = 0.91          -> accuracy = 0.91 at the next step of that key
    val/rmse=1.5e-3 (step 10)

Names start with a letter or ``_`` and may hold letters, digits, ``_ . - /``. Without
``(step N)`` a value takes the next step of its key (0, 1, 2, ...), so a value printed once per
epoch draws a history in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mlproj.tracking.db import now_ms
from mlproj.tracking.history import Metric

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|nan)"
_SCALAR = re.compile(
    rf"^\s*(?P<key>[A-Za-z_][A-Za-z0-9_.\-/]{{0,249}})\s*[:=]\s*(?P<value>{_NUMBER})"
    r"\s*(?:\(\s*step\s*[:=]?\s*(?P<step>[+-]?\d+)\s*\))?\s*$",
    re.IGNORECASE,
)
#: A line longer than this is never a scalar (and is not held in memory waiting for its end).
_MAX_LINE = 4096


def parse_scalar(line: str) -> tuple[str, float, int | None] | None:
    """``(key, value, step or None)`` when ``line`` is a scalar line, else None."""
    match = _SCALAR.match(line)
    if match is None:
        return None
    step = match.group("step")
    return match.group("key"), float(match.group("value")), None if step is None else int(step)


class ScalarCapture:
    """Splits a byte stream into lines and hands the scalar lines, as metrics, to ``sink``."""

    def __init__(self, sink: Callable[[list[Metric]], None]) -> None:
        self._sink = sink
        self._pending = b""
        self._steps: dict[str, int] = {}

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of output (any size, cut anywhere)."""
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        if len(self._pending) > _MAX_LINE:
            self._pending = b""
        self._emit(lines)

    def close(self) -> None:
        """The stream ended: a last line without a newline counts too."""
        if self._pending:
            self._emit([self._pending])
            self._pending = b""

    def _emit(self, lines: list[bytes]) -> None:
        metrics = []
        stamp = now_ms()
        for raw in lines:
            if len(raw) > _MAX_LINE:
                continue
            found = parse_scalar(raw.decode("utf-8", errors="replace").rstrip("\r"))
            if found is None:
                continue
            key, value, step = found
            if step is None:
                step = self._steps.get(key, 0)
            self._steps[key] = step + 1
            metrics.append(Metric(key, value, step, stamp))
        if metrics:
            self._sink(metrics)
