"""The log's filter: only messages with some text, or of some roles; escape clears it."""

from __future__ import annotations

from bimpe_tui.api.models import Message
from bimpe_tui.book import Marker, Pending, TimelineItem
from bimpe_tui.search import LogFilter
from bimpe_tui.widgets.message_log import MessageLog, TimelineView
from tests.logapp import log_app, show_focused

ROLES = ["customer", "assistant", "restaurant_user", "system"]


def message(n: int, text: str) -> Message:
    return Message.from_api(
        {
            "id": f"m_{n}",
            "role": ROLES[n % 4],
            "message": text,
            "created_at": "2026-11-20T09:00:00Z",
        }
    )


def timeline(count: int) -> list[TimelineItem]:
    items: list[TimelineItem] = [
        message(n, f"refund {n}" if n % 10 == 0 else f"line {n}") for n in range(count)
    ]
    items.insert(count // 2, Marker("resumed", "reconnected — 3 replayed"))
    return items


def status(log: MessageLog) -> str:
    return str(log.query_one("#filter-count").render()).strip()


def shown_texts(view: TimelineView) -> list[str]:
    return [strip.text.rstrip() for strip in view.lines]


async def test_words_and_roles_narrow_the_log_and_escape_shows_all_again() -> None:
    async with log_app() as (app, pilot, log):
        view = show_focused(log, timeline(400))
        await pilot.press("f", *"REFUND")
        assert status(log) == "showing 40 of 400 · filter: refund"
        texts = shown_texts(view)
        assert len(texts) == 40
        assert all("refund" in text for text in texts)
        # Roles: @customer is every 4th message; with "refund", every 20th.
        await pilot.press("space", *"@cust")
        assert status(log) == "showing 20 of 400 · filter: @customer refund"
        assert all(" customer refund " in text + " " for text in shown_texts(view))
        # enter: back to the log, the filter kept.
        await pilot.press("enter")
        assert app.focused is view
        # Arrivals go through the filter too.
        log.append([message(1_000, "refund 1000"), message(1_001, "refund 1001")])
        await pilot.pause()
        assert status(log) == "showing 21 of 402 · filter: @customer refund"
        assert shown_texts(view)[-1].endswith("refund 1000")
        # escape in the log clears it: every message and the marker again.
        await pilot.press("escape")
        assert not log.filtered
        texts = shown_texts(view)
        assert len(texts) >= 403
        assert any("reconnected — 3 replayed" in text for text in texts)
        assert not log.query_one("#filter-bar").display


async def test_other_roles_and_search_within_the_filter() -> None:
    async with log_app() as (_, pilot, log):
        view = show_focused(log, timeline(200))
        await pilot.press("f", *"@other", "enter")
        assert status(log) == "showing 50 of 200 · filter: @other"
        assert all(" system " in text for text in shown_texts(view))
        await pilot.press("escape", "f", *"@staff", "enter")
        assert status(log) == "showing 50 of 200 · filter: @staff"
        # Search looks in what the filter shows: 10 of the 50 say "refund".
        await pilot.press("ctrl+f", *"refund")
        count = str(log.query_one("#search-count").render()).strip()
        assert count == "10 of 10"
        # Escape: the search first, then the filter, then the list.
        await pilot.press("escape", "escape")
        assert not log.searching
        assert log.filtered
        await pilot.press("escape")
        assert not log.filtered


async def test_a_reader_scrolled_up_stays_near_their_place_when_the_filter_changes() -> None:
    async with log_app() as (_, pilot, log):
        view = show_focused(log, timeline(2_000))
        view.scroll_to_item(1_003)  # "line 1002" sits at 1003, after the marker
        await pilot.pause()
        assert "line 1002" in view.line_strip(round(view.scroll_y)).text
        await pilot.press("f", *"refund")
        # The nearest kept message at or after the one the reader was on.
        assert view.line_strip(round(view.scroll_y)).text.rstrip().endswith("refund 1010")
        await pilot.press("escape")
        assert not log.filtered
        assert not log.following


def test_a_filter_still_shows_what_is_sent_and_the_info_lines() -> None:
    chosen = LogFilter.parse("@customer refund")
    failed = Marker("info", "could not load older messages: HTTP 503 — press r to retry")
    assert chosen.keeps(failed)
    assert chosen.keeps(Pending("key-1", "On it."))
    # A divider does not: it would stand between messages the filter hides.
    assert not chosen.keeps(Marker("resumed", "reconnected — 3 replayed"))
    assert not chosen.keeps(message(1, "line 1"))
