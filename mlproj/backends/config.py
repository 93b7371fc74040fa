"""`-c/--backend-config`: a JSON file or an inline JSON object, checked key by key.

As in MLflow, the value is either a path to a ``.json`` file or the JSON text itself. Each
backend declares the keys it knows; an unknown key, a value of the wrong type or malformed JSON
is one line naming the file (or "inline"), the key and what is expected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlproj.errors import BackendError


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """The parsed object and where it came from (for messages)."""

    values: Mapping[str, Any]
    origin: str = "--backend-config"

    def problem(self, key: str, expected: str) -> BackendError:
        """The error for a bad value of ``key``."""
        shown = json.dumps(self.values.get(key))
        return BackendError(f"{self.origin}: '{key}' is {shown}; expected {expected}")

    def check_keys(self, backend: str, known: Mapping[str, str]) -> None:
        """Refuse keys ``backend`` does not know (``known`` maps each key to what it takes)."""
        unknown = sorted(set(self.values) - set(known))
        if unknown:
            listing = ", ".join(sorted(known))
            raise BackendError(
                f"{self.origin}: unknown key '{unknown[0]}' for the {backend} backend "
                f"(known keys: {listing})"
            )

    def text(self, key: str, default: str | None = None) -> str | None:
        """A string value (numbers are accepted and turned into text: ``"cpus": 4``)."""
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.problem(key, "a string")
        text = str(value).strip()
        if not text or "\n" in text:
            raise self.problem(key, "a non-empty single-line string")
        return text

    def number(self, key: str, default: float) -> float:
        """A positive number."""
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.problem(key, "a positive number")
        return float(value)

    def lines(self, key: str) -> tuple[str, ...]:
        """A list of single-line strings."""
        value = self.values.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(x, str) and x.strip() and "\n" not in x for x in value
        ):
            raise self.problem(key, "a list of single-line strings")
        return tuple(x.strip() for x in value)

    def mapping(self, key: str) -> dict[str, str]:
        """An object of string (or number) values."""
        value = self.values.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value.values()
        ):
            raise self.problem(key, "an object of string values")
        return {str(k): str(v) for k, v in value.items()}


def load_backend_config(value: str | None, caller_dir: Path) -> BackendConfig:
    """Parse ``-c``: inline JSON when it starts with ``{``, else a JSON file (caller-relative).

    Raises:
        BackendError: The file is missing or unreadable, or the JSON is malformed or not an object.
    """
    if value is None or not value.strip():
        return BackendConfig({})
    text, origin = value, "--backend-config (inline JSON)"
    if not value.lstrip().startswith(("{", "[")):
        path = Path(value).expanduser()
        path = path if path.is_absolute() else caller_dir / path
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BackendError(
                f"--backend-config: cannot read {path} ({exc.strerror}); give a JSON file "
                'or an inline JSON object like \'{"partition": "gpu"}\''
            ) from exc
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise BackendError(f"{origin}: not valid JSON ({exc}); fix the JSON") from None
    if not isinstance(parsed, dict):
        raise BackendError(f"{origin}: expected a JSON object, got {type(parsed).__name__}")
    return BackendConfig(parsed, origin)
