"""Which failures are worth another try, and how long to wait before it."""

from __future__ import annotations

import random

from .errors import (
    APIConnectionError,
    APIError,
    ConflictError,
    MalformedResponseError,
    NotImplementedByServerError,
)

BASE_DELAY = 0.5
MAX_DELAY = 8.0
#: A server asking for a longer pause than this is obeyed only up to here,
#: so one bad header cannot park a stream for an hour.
MAX_RETRY_AFTER = 60.0

_RETRYABLE_STATUSES = frozenset({408, 429})


def is_retryable(error: BaseException) -> bool:
    """The official SDK's rule: connection errors, timeouts, 408, 429, 5xx but 501."""
    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, NotImplementedByServerError | ConflictError):
        return False
    if isinstance(error, APIError):
        return error.status in _RETRYABLE_STATUSES or error.status >= 500
    # A proxy's error page in place of JSON is usually transient.
    return isinstance(error, MalformedResponseError) and error.status >= 500


def sdk_backoff(attempt: int, rng: random.Random | None = None) -> float:
    """REST retry delay as the official SDK computes it: exponential, scaled by [0.5, 1)."""
    fraction = rng.random() if rng is not None else random.random()
    return float(min(MAX_DELAY, BASE_DELAY * 2**attempt) * (0.5 + fraction * 0.5))


def backoff_window(attempt: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """The longest full-jitter wait before retry number `attempt` (0-based)."""
    # The exponent is bounded so a long outage cannot overflow the float.
    return min(cap, base * 2.0 ** min(attempt, 32))


def honour_retry_after(retry_after: float | None) -> float | None:
    """The wait a server asked for, capped to `MAX_RETRY_AFTER`."""
    if retry_after is None:
        return None
    return min(retry_after, MAX_RETRY_AFTER)
