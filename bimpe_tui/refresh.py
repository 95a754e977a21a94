"""When to refresh an agent's conversation list next, and how the list's health reads.

One `RefreshSchedule` per agent: a steady interval with per-agent jitter so
many agents do not fire together; a 429 waits what the server's
`Retry-After` says; any other failure backs off exponentially. Pure: the
monitor runs the requests and feeds the outcomes in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: Default seconds between two refreshes of one agent's list.
DEFAULT_INTERVAL = 15.0
#: The longest wait after failures (seconds).
MAX_BACKOFF = 300.0
#: How often the list of agents itself is refreshed (seconds).
AGENTS_INTERVAL = 300.0
#: Share of the interval each wait is moved by at random, either way.
JITTER = 0.2


@dataclass
class RefreshSchedule:
    """The next wait for one agent's list, from what the last refresh did."""

    interval: float = DEFAULT_INTERVAL
    rng: random.Random = field(default_factory=random.Random)
    #: Consecutive failures since the last success.
    failures: int = 0
    #: What went wrong last, in words (None after a success).
    problem: str | None = None
    #: Monotonic time of the last success (None before the first).
    refreshed_at: float | None = None
    #: Monotonic time the next attempt is due.
    due: float = 0.0

    def first(self, now: float) -> float:
        """The first wait: a random share of one interval, so agents spread out."""
        wait = self.interval * self.rng.uniform(0.2, 1.0)
        self.due = now + wait
        return wait

    def succeeded(self, now: float) -> float:
        """A page came back: the next wait is one interval, jittered."""
        self.failures = 0
        self.problem = None
        self.refreshed_at = now
        wait = self.interval * self.rng.uniform(1 - JITTER, 1 + JITTER)
        self.due = now + wait
        return wait

    def rate_limited(self, now: float, retry_after: float | None) -> float:
        """A 429: wait what the server asks (at least one interval, at most the cap)."""
        self.failures += 1
        wait = min(MAX_BACKOFF, max(self.interval, retry_after or 0.0))
        self.problem = "rate limited"
        self.due = now + wait
        return wait

    def failed(self, now: float, cause: str) -> float:
        """Any other failure: back off exponentially from one interval, with jitter."""
        self.failures += 1
        base = min(MAX_BACKOFF, self.interval * 2.0 ** (self.failures - 1))
        wait = base * self.rng.uniform(1 - JITTER, 1)
        self.problem = cause
        self.due = now + wait
        return wait


def age_words(seconds: float) -> str:
    """`12 s`, `2 min`, `1 h` (rounded down)."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    return f"{seconds // 3600:.0f} h"


def list_health(schedules: list[RefreshSchedule], now: float) -> str:
    """The conversation list's freshness in words, said only when something is wrong.

    Empty while every agent's list refreshes on time; else, e.g. `list 2 min
    old: rate limited, retrying in 30 s`.
    """
    failing = [s for s in schedules if s.problem is not None]
    if not failing:
        return ""
    worst = min(failing, key=lambda s: s.refreshed_at if s.refreshed_at is not None else -1.0)
    retry = f"retrying in {age_words(max(0.0, worst.due - now))}"
    if worst.refreshed_at is None:
        return f"list not refreshed: {worst.problem}, {retry}"
    return f"list {age_words(now - worst.refreshed_at)} old: {worst.problem}, {retry}"
