"""The virtual timeline view on its own: every item reachable, a place kept, nothing capped."""

from __future__ import annotations

import gc

import pytest
from textual.geometry import Region
from textual.pilot import Pilot

from bimpe_tui.api.models import Message
from bimpe_tui.book import Marker, TimelineItem
from bimpe_tui.widgets import line_view
from bimpe_tui.widgets.message_log import TimelineView
from tests.logapp import log_app


def message(n: int, text: str | None = None) -> Message:
    return Message.from_api(
        {
            "id": f"m_{n}",
            "role": "customer" if n % 2 else "assistant",
            "message": text if text is not None else f"message number {n} " + "word " * (n % 40),
            "created_at": "2026-11-20T09:00:00Z",
        }
    )


def top_text(view: TimelineView) -> str:
    return view.line_strip(round(view.scroll_y)).text


def screen_texts(view: TimelineView) -> list[str]:
    height = view.scrollable_content_region.height
    top = round(view.scroll_y)
    return [view.line_strip(top + y).text.rstrip() for y in range(height)]


async def test_twenty_thousand_items_from_the_newest_to_the_first() -> None:
    items: list[TimelineItem] = [message(n) for n in range(20_000)]
    async with log_app() as (_, pilot, log):
        view = log.lines
        view.keep = len(items)
        log.show("title", items)
        await pilot.pause()
        # Following: the newest on the last line on screen.
        assert any("message number 19999" in t for t in screen_texts(view))
        assert log.following
        # Only what showed was wrapped, not the whole timeline.
        assert sum(view._exact) < 200
        view.focus()
        await pilot.press("home")
        assert "message number 0 " in top_text(view) + " "
        assert not log.following
        # Page down through the first screens: each item in turn, none skipped.
        seen: set[str] = set()
        for _ in range(5):
            seen.update(t for t in screen_texts(view) if "message number" in t)
            await pilot.press("pagedown")
        numbers = {int(t.split("message number ")[1].split()[0]) for t in seen}
        assert numbers == set(range(len(numbers)))
        await pilot.press("end")
        assert log.following
        assert any("message number 19999" in t for t in screen_texts(view))


async def test_a_resize_keeps_the_reader_on_the_same_item() -> None:
    items: list[TimelineItem] = [message(n) for n in range(3_000)]
    async with log_app((120, 30)) as (_, pilot, log):
        view = log.lines
        log.show("title", items)
        await pilot.pause()
        view.scroll_to_item(1_234)
        await pilot.pause()
        assert "message number 1234 " in top_text(view)
        await pilot.resize_terminal(70, 30)
        await pilot.pause()
        assert view.wrap_width() < 70
        assert "message number 1234 " in top_text(view)
        assert not log.following


async def test_arrivals_while_scrolled_up_leave_the_view_where_it_is() -> None:
    async with log_app() as (_, pilot, log):
        view = log.lines
        view.keep = 20_000
        log.show("title", [message(n) for n in range(500)])
        await pilot.pause()
        view.scroll_to_item(100)
        await pilot.pause()
        before = screen_texts(view)
        flood = [message(n) for n in range(500, 10_500)]
        for start in range(0, len(flood), 500):
            log.append(flood[start : start + 500])
        await pilot.pause()
        # The same lines (less the one the "N new" badge takes at the bottom).
        after = screen_texts(view)
        assert after == before[: len(after)]
        assert log.new_count == len(flood)
        await pilot.press("end")
        assert log.new_count == 0
        assert any("message number 10499" in t for t in screen_texts(view))


async def test_a_long_session_drops_its_oldest_items_in_batches() -> None:
    async with log_app() as (_, pilot, log):
        view = log.lines
        view.keep = 1_000
        log.show("title", [Marker("info", "start")])
        for start in range(0, 5_000, 100):
            log.append([message(n) for n in range(start, start + 100)])
        await pilot.pause()
        assert 1_000 <= len(view.items) <= 1_250
        assert any("message number 4999" in t for t in screen_texts(view))
        view.focus()
        await pilot.press("home")
        first = view.items[0]
        assert isinstance(first, Message)
        number = first.id.removeprefix("m_")
        assert f"message number {number} " in top_text(view) + " "


async def refined(view: TimelineView, pilot: Pilot[None]) -> bool:
    """Let the view estimate its older items' heights (a chunk per callback)."""
    for _ in range(100):
        if view._rough <= view.base and not view._refining:
            return True
        await pilot.pause()
    return False


async def test_older_heights_are_estimated_later_and_the_reader_stays_put(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(line_view, "ESTIMATE_CHUNK", 100)
    items: list[TimelineItem] = [message(n) for n in range(1_000)]
    async with log_app() as (_, pilot, log):
        view = log.lines
        log.show("title", items)
        # The newest 100 estimated now, the 900 before them their average.
        assert view._rough == view.base + 900
        guessed = {view._index.height(n) for n in range(900)}
        assert len(guessed) == 1
        view.scroll_to_item(950)
        before = top_text(view)
        lines = view.line_count
        assert "message number 950 " in before
        assert await refined(view, pilot)
        # Every item not wrapped has its own estimate now, which moved the lines
        # above the reader: the reader is still on the same line of the same item.
        estimates = view._estimates(view.items)
        for n, exact in enumerate(view._exact):
            if not exact:
                assert view._index.height(n) == estimates[n]
        assert view.line_count != lines
        assert top_text(view) == before
        assert not log.following


async def test_following_stays_at_the_newest_while_older_heights_are_estimated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(line_view, "ESTIMATE_CHUNK", 100)
    async with log_app() as (_, pilot, log):
        view = log.lines
        log.show("title", [message(n) for n in range(1_000)])
        assert await refined(view, pilot)
        assert log.following
        assert view.scroll_y == view.max_scroll_y
        assert any("message number 999 " in t + " " for t in screen_texts(view))


async def test_drawing_the_view_leaves_no_garbage_for_the_collector() -> None:
    async with log_app() as (_, pilot, log):
        view = log.lines
        # Words, and words too long for a line: folded, they fill it to the edge.
        log.show("title", [message(n, "x" * 300 if n % 2 else None) for n in range(300)])
        await pilot.pause()
        region = Region(0, 0, view.size.width, view.size.height)
        view.render_lines(region)
        gc.collect()
        gc.disable()
        try:
            # Drawn again and again, as the screen draws it (the lines kept are not
            # Strips, whose caches hold the Strips made from them, a Strip that
            # fits its width already holding itself: a reference cycle).
            for _ in range(3):
                view.refresh()
                view.render_lines(region)
            assert gc.collect() == 0
        finally:
            gc.enable()


async def test_a_redraw_keeps_the_reader_on_the_same_item_when_the_view_held_more() -> None:
    # The view lets go of its oldest items a batch at a time, so it can hold more
    # than the timeline (which drops one per arrival): a redraw from the timeline
    # must find the reader's item, not count to it.
    async with log_app() as (_, pilot, log):
        view = log.lines
        view.keep = 100
        timeline: list[TimelineItem] = [message(n) for n in range(100)]
        log.show("title", timeline)
        for n in range(100, 120):
            arrival = message(n)
            timeline = [*timeline[1:], arrival]  # the timeline's window: 100 items
            log.append([arrival])
        await pilot.pause()
        assert len(view.items) == 120
        view.scroll_to_item(50)  # "message number 50"
        await pilot.pause()
        before = screen_texts(view)
        assert "message number 50 " in before[0] + " "
        # Something changed in place (a sent message's "sending…" replaced): redrawn
        # from the timeline, which holds 20 items fewer at the front.
        log.redraw("title", timeline)
        await pilot.pause()
        assert screen_texts(view)[0] == before[0]
