"""The demo world's ids and seeded numbers: base 36 and a keyed hash, nothing random."""

from __future__ import annotations

import hashlib

__all__ = ["B36", "B36_PAIRS", "b36", "b36_fixed", "hash_int", "make_id"]

B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
"""The base-36 digits, in order."""
B36_PAIRS = tuple(a + b for a in B36 for b in B36)
"""Every two-digit base-36 string, by value (0 to 1295)."""


def b36(n: int) -> str:
    """``n`` (>= 0) in base 36, without leading zeros."""
    if n < 36:
        return B36[n]
    # Two digits per step: ids are formatted once per streamed frame.
    parts: list[str] = []
    while n:
        n, rem = divmod(n, 1296)
        parts.append(B36_PAIRS[rem])
    return "".join(reversed(parts)).lstrip("0")


def b36_fixed(value: int, width: int) -> str:
    """The low ``width`` base-36 digits of ``value``, zero-padded."""
    text = ""
    for _ in range(width):
        value, rem = divmod(value, 36)
        text = B36[rem] + text
    return text


def hash_int(*parts: object, size: int = 8) -> int:
    """A ``size``-byte number derived only from ``parts`` (joined by ``|``)."""
    key = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=size).digest(), "big")


def make_id(seed: int, prefix: str, length: int, *parts: object) -> str:
    """``prefix`` and ``length`` base-36 digits drawn from the seed and ``parts``.

    The digits come least significant first (unlike :func:`b36_fixed`): ids the world
    has always served depend on it.
    """
    value = hash_int(seed, "id", *parts, size=16)
    text = ""
    for _ in range(length):
        value, rem = divmod(value, 36)
        text += B36[rem]
    return prefix + text
