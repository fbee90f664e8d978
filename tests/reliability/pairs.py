"""The people of the reliability runs (importable from settings: no models here)."""

from __future__ import annotations


def make_pairs(count: int, *, prefix: str = "+1206555") -> dict[str, str]:
    """`count` pairs of fictional numbers, both directions: +12065552000 <-> +12065553000."""
    pairs: dict[str, str] = {}
    for i in range(count):
        a, b = f"{prefix}{2000 + i:04d}", f"{prefix}{3000 + i:04d}"
        pairs[a], pairs[b] = b, a
    return pairs
