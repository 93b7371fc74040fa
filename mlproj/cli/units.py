"""Numbers as people read them in tables (sizes)."""

from __future__ import annotations


def human_size(size: int) -> str:
    """``512 B``, ``1.5 KB``, ``2.0 GB``: binary units, whole bytes, GB at most."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
