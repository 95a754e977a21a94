"""A stream's reconnect policy: its retry budget and its back-off.

`ReconnectPolicy` holds the settings a `ResumableStream` was made with and the
one number they act on, the consecutive failures. The outcome table
(`outcomes.classify`) decides what an attempt's end means; this is what the
table is asked with.
"""

from __future__ import annotations

import random

from .outcomes import Attempt, Phase
from .retry import backoff_window

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_READ_TIMEOUT", "ReconnectPolicy"]

DEFAULT_MAX_RETRIES = 5
DEFAULT_READ_TIMEOUT = 45.0


class ReconnectPolicy:
    """When a stream tries again, and how long it waits first.

    `failures` counts consecutive failures: every delivered message and every
    heartbeat sets it back to 0 (the frame reader does, inline), so a
    connection that proves healthy is not held against the next one.
    """

    __slots__ = (
        "base_delay",
        "failures",
        "max_delay",
        "max_retries",
        "read_timeout",
        "reconnect",
        "rng",
    )

    def __init__(
        self,
        *,
        reconnect: bool,
        max_retries: int,
        read_timeout: float,
        base_delay: float,
        max_delay: float,
        rng: random.Random,
    ) -> None:
        self.reconnect = reconnect
        self.max_retries = max_retries
        self.read_timeout = read_timeout
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.rng = rng
        self.failures = 0

    def attempt(
        self,
        phase: Phase,
        cursor: str | None,
        *,
        cursor_time: str | None,
        looked_up: bool,
        secrets: tuple[str | None, ...],
    ) -> Attempt:
        """What the outcome table is asked about an attempt that just ended.

        Draws the attempt's jitter: one draw per attempt, in attempt order.
        """
        return Attempt(
            phase=phase,
            cursor=cursor,
            reconnect=self.reconnect,
            failures=self.failures,
            max_retries=self.max_retries,
            read_timeout=self.read_timeout,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            jitter=self.rng.random(),
            cursor_time=cursor_time,
            looked_up=looked_up,
            secrets=secrets,
        )

    def backoff(self, attempt: int) -> float:
        """A full-jitter wait before try number `attempt` (0-based) of something else
        than a connection (the history's fill), on the stream's own back-off."""
        return self.rng.random() * backoff_window(attempt, base=self.base_delay, cap=self.max_delay)
