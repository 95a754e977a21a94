"""The list refresh schedule and the words for a failing list, as pure functions."""

from __future__ import annotations

import random

from bimpe_tui.refresh import MAX_BACKOFF, RefreshSchedule, age_words, list_health


def schedule(interval: float = 15.0, seed: int = 1) -> RefreshSchedule:
    return RefreshSchedule(interval, rng=random.Random(seed))


def test_agents_start_spread_over_one_interval() -> None:
    firsts = [schedule(seed=n).first(0.0) for n in range(50)]
    assert all(3.0 <= f <= 15.0 for f in firsts)
    # Jitter per agent: not all at once.
    assert len({round(f, 3) for f in firsts}) == 50


def test_success_waits_about_one_interval() -> None:
    s = schedule()
    waits = [s.succeeded(float(n)) for n in range(100)]
    assert all(12.0 <= w <= 18.0 for w in waits)
    assert s.problem is None
    assert s.refreshed_at == 99.0


def test_rate_limit_honours_retry_after_within_bounds() -> None:
    s = schedule()
    assert s.rate_limited(0.0, 30.0) == 30.0
    assert s.problem == "rate limited"
    # Never sooner than the interval, never later than the cap.
    assert s.rate_limited(0.0, 1.0) == 15.0
    assert s.rate_limited(0.0, None) == 15.0
    assert s.rate_limited(0.0, 10_000.0) == MAX_BACKOFF


def test_other_failures_back_off_exponentially_then_reset() -> None:
    s = schedule()
    waits = [s.failed(0.0, "HTTP 503") for _ in range(8)]
    for n, wait in enumerate(waits[:4]):
        base = 15.0 * 2**n
        assert 0.8 * base <= wait <= base
    assert max(waits) <= MAX_BACKOFF
    assert waits[-1] >= 0.8 * MAX_BACKOFF
    s.succeeded(100.0)
    assert s.failures == 0
    assert s.failed(100.0, "boom") <= 15.0


def test_health_is_silent_while_all_is_well_and_says_how_old_when_failing() -> None:
    a, b = schedule(seed=1), schedule(seed=2)
    a.succeeded(0.0)
    b.succeeded(0.0)
    assert list_health([a, b], 10.0) == ""
    b.rate_limited(120.0, 30.0)
    assert list_health([a, b], 120.0) == "list 2 min old: rate limited, retrying in 30 s"
    never = schedule(seed=3)
    never.failed(0.0, "HTTP 503 internal_error")
    assert list_health([never], 0.0).startswith("list not refreshed: HTTP 503 internal_error")


def test_age_words() -> None:
    assert age_words(12.7) == "13 s"
    assert age_words(125) == "2 min"
    assert age_words(7300) == "2 h"
