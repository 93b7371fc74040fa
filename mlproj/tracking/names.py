"""Short readable run names (``bright-otter-42``) for runs started without ``--run-name``."""

from __future__ import annotations

import os
import random

_ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "daring", "eager", "fair",
    "fancy", "gentle", "glad", "golden", "grand", "happy", "keen", "kind", "lively", "lucky",
    "merry", "mighty", "noble", "polite", "proud", "quick", "quiet", "rapid", "shiny", "silent",
    "smart", "steady", "sunny", "swift", "tidy", "vivid", "warm", "wise", "witty", "zesty",
)  # fmt: skip
_ANIMALS = (
    "badger", "bat", "bear", "bee", "bison", "crane", "crow", "deer", "dove", "eagle",
    "falcon", "ferret", "finch", "fox", "gecko", "goat", "hare", "hawk", "heron", "ibis",
    "koala", "lark", "lemur", "lynx", "mole", "moose", "newt", "otter", "owl", "panda",
    "puffin", "quail", "raven", "seal", "shrew", "sloth", "swan", "tiger", "trout", "wolf",
)  # fmt: skip


def generate_run_name(rng: random.Random | None = None) -> str:
    """A name like ``bright-otter-42``: easy to say and type, not meant to be unique."""
    pick = rng or random
    return f"{pick.choice(_ADJECTIVES)}-{pick.choice(_ANIMALS)}-{pick.randint(1, 99)}"


def new_run_id() -> str:
    """A random version-4 UUID as 32 hex digits (the form MLflow uses for run ids).

    Built from os.urandom rather than the uuid module, whose import (with platform) costs ~8 ms
    on every `mlproj run`.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()
