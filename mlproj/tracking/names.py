"""Short readable run names (``bright-otter-42``) for runs started without ``--run-name``."""

from __future__ import annotations

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
