"""The demo world's time: its epoch, the ISO-8601 form the API uses, and a clock to drive.

Timestamps are whole epoch milliseconds wherever the world computes them, so the ISO
strings it serves are exact and int and float comparisons agree.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

__all__ = [
    "ANCHOR",
    "ANCHOR_MS",
    "MILLIS",
    "SECONDS",
    "AdjustableClock",
    "format_iso",
    "iso_from_ms",
    "minute_prefix",
    "ms_floor",
    "parse_iso_ms",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ANCHOR: float = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
"""The world's epoch (seconds): nothing exists before it; the seats' first lives start here."""
ANCHOR_MS = round(ANCHOR * 1000)
"""``ANCHOR`` in whole milliseconds."""

SECONDS = tuple(f"{n:02d}" for n in range(60))
"""The seconds field of an ISO timestamp, by value."""
MILLIS = tuple(f".{n:03d}Z" for n in range(1000))
"""The milliseconds field and zone of an ISO timestamp, by value."""


@lru_cache(maxsize=4096)
def minute_prefix(minute: int) -> str:
    """``YYYY-MM-DDTHH:MM:`` of the minute ``minute`` minutes after the Unix epoch."""
    return (_EPOCH + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")


def iso_from_ms(ms: int) -> str:
    """Format whole epoch milliseconds as the API does (UTC, milliseconds, ``Z``)."""
    # Hand-rolled from cached parts: it runs once per streamed frame, and going through
    # datetime each time would be the slowest step of a replay.
    minute, rem = divmod(ms, 60_000)
    secs, milli = divmod(rem, 1000)
    return minute_prefix(minute) + SECONDS[secs] + MILLIS[milli]


def format_iso(ts: float) -> str:
    """Format epoch seconds as ISO-8601 UTC with milliseconds and a ``Z`` suffix."""
    return iso_from_ms(ms_floor(ts))


def parse_iso_ms(text: str) -> int | None:
    """Parse an ISO-8601 timestamp to whole epoch milliseconds (floored), or None if invalid.

    A timestamp without an offset is taken as UTC.
    """
    if not text or not text[0].isdigit():
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(milliseconds=1)


def ms_floor(now: float) -> int:
    """Largest whole millisecond m with m / 1000 <= now, so int and float comparisons agree."""
    m = math.floor(now * 1000)
    while (m + 1) / 1000 <= now:
        m += 1
    while m / 1000 > now:
        m -= 1
    return m


class AdjustableClock:
    """Wall-clock time that can be paused, sped up or moved forward while it runs.

    Starts at ``start`` (default: now) and runs at ``speed`` (1.0: real time, 0: frozen).
    The demo server's control endpoint drives it, so a benchmark in another process can
    make thousands of messages fall due at once or arrive at an exact rate.
    """

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._base = time.time() if start is None else start
        self._mono = time.monotonic()
        self._speed = speed

    def __call__(self) -> float:
        return self._base + (time.monotonic() - self._mono) * self._speed

    @property
    def speed(self) -> float:
        """How many clock seconds pass per real second."""
        return self._speed

    def set(
        self, *, now: float | None = None, advance: float = 0.0, speed: float | None = None
    ) -> float:
        """Jump to ``now`` (default: the current reading), plus ``advance``; change speed.

        Returns the new reading.
        """
        if speed is not None and speed < 0:
            raise ValueError("speed must not be negative")
        current = self() if now is None else now
        self._base = current + advance
        self._mono = time.monotonic()
        if speed is not None:
            self._speed = speed
        return self._base
