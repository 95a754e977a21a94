"""The status line's wording and tone, as pure functions of the monitor's state."""

from __future__ import annotations

from typing import Any

import pytest

from bimpe_tui.api.stream import StreamStatus
from bimpe_tui.book import Entry
from bimpe_tui.status_words import (
    QUIET_AFTER,
    activity_words,
    status_line,
    stream_words,
    summary_words,
)
from tests.bookkit import bare_entry


def entry(state: str | None = None, *, watched: bool = True, **kw: Any) -> Entry:
    e = bare_entry(f"c_{state}", watched=watched)
    if state is not None:
        e.status = StreamStatus(state=state, **kw)  # type: ignore[arg-type]
    return e


@pytest.mark.parametrize(
    ("state", "kw", "words", "tone"),
    [
        ("connecting", {}, "connecting", "busy"),
        ("connecting", {"attempt": 2, "max_retries": 5}, "connecting (attempt 2/5)", "busy"),
        ("live", {}, "live", "live"),
        ("resumed", {"after": "m_1", "replayed": 4}, "live", "live"),
        ("frame_skipped", {"cause": "bad JSON"}, "live", "live"),
        (
            "reconnecting",
            {"attempt": 2, "max_retries": 5, "delay": 2.34, "cause": "connection lost"},
            "reconnecting in 2.3 s (attempt 2/5): connection lost",
            "busy",
        ),
        ("stalled", {"cause": "no data for 45 s"}, "stalled: no data for 45 s", "busy"),
        ("gave_up", {"cause": "HTTP 503"}, "gave up: HTTP 503 — press r to retry", "bad"),
        ("closed", {}, "closed", "idle"),
    ],
)
def test_each_state_in_words(state: str, kw: dict[str, Any], words: str, tone: str) -> None:
    assert stream_words(entry(state, **kw), age=0.5) == (words, tone)


def test_not_watched_and_loading() -> None:
    assert stream_words(entry(None, watched=False), None) == (
        "not watched — press r to watch",
        "idle",
    )
    # Watched but no status yet: the history is loading, not "not watched".
    assert stream_words(entry(None, watched=True), None) == ("loading", "busy")


def test_gap_possible_is_said_until_the_user_looks_elsewhere() -> None:
    e = entry("gap_possible", cause="forgot m_1")
    e.gap_possible = True
    assert stream_words(e, 0.5) == (
        "live · gap possible: the server could not resume by id",
        "busy",
    )
    e.gap_possible = False
    assert stream_words(e, 0.5) == ("live", "live")


def test_a_quiet_live_stream_is_said_before_the_watchdog_acts() -> None:
    e = entry("live")
    assert stream_words(e, QUIET_AFTER - 1) == ("live", "live")
    assert stream_words(e, QUIET_AFTER + 5) == (
        f"live, but no data for {QUIET_AFTER + 5:.0f} s",
        "busy",
    )
    # Only a live stream is "quiet": a reconnecting one says what it does.
    assert stream_words(entry("stalled", cause="x"), 99)[0] == "stalled: x"


def test_activity_and_summary() -> None:
    assert activity_words(None) == ""
    assert activity_words(0.2) == "data just now"
    # Five-second steps, then minutes: an idle footer changes rarely.
    assert activity_words(4.9) == "data just now"
    assert activity_words(12.4) == "last data 10 s ago"
    assert activity_words(59.9) == "last data 55 s ago"
    assert activity_words(61) == "last data 1 min ago"
    assert activity_words(3600) == "last data 60 min ago"
    entries = [
        entry("live"),
        entry("resumed"),
        entry("reconnecting"),
        entry(None),  # watched, connecting
        entry("gave_up"),
        entry("live", watched=False),
    ]
    assert summary_words(entries) == "2 live · 2 reconnecting · 1 gave up"
    assert summary_words([entry(None, watched=False)]) == ""


def test_the_whole_line_before_anything_is_open() -> None:
    line = status_line(None, [], None, "loading conversations")
    assert (line.words, line.tone) == ("loading conversations", "busy")
    failed = status_line(None, [], None, "cannot list conversations: boom — press r to retry")
    assert failed.tone == "bad"
    ready = status_line(None, [], None, "ready")
    assert ready.words == "no conversation open"
    live = status_line(entry("live"), [entry("live")], 7.2, "ready")
    assert (live.words, live.activity, live.summary) == (
        "live",
        "last data 5 s ago",
        "1 live · 0 reconnecting · 0 gave up",
    )
