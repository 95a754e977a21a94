"""The virtual timeline view on its own: every item reachable, a place kept, nothing capped."""

from __future__ import annotations

from datetime import UTC

from textual.app import App, ComposeResult

from bimpe_tui.api.models import Message
from bimpe_tui.book import Marker, TimelineItem
from bimpe_tui.widgets.message_log import MessageLog, TimelineView


def message(n: int, text: str | None = None) -> Message:
    return Message.from_api(
        {
            "id": f"m_{n}",
            "role": "customer" if n % 2 else "assistant",
            "message": text if text is not None else f"message number {n} " + "word " * (n % 40),
            "created_at": "2026-11-20T09:00:00Z",
        }
    )


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield MessageLog(tz=UTC)


def top_text(view: TimelineView) -> str:
    return view.line_strip(round(view.scroll_y)).text


def screen_texts(view: TimelineView) -> list[str]:
    height = view.scrollable_content_region.height
    top = round(view.scroll_y)
    return [view.line_strip(top + y).text.rstrip() for y in range(height)]


async def test_twenty_thousand_items_from_the_newest_to_the_first() -> None:
    items: list[TimelineItem] = [message(n) for n in range(20_000)]
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(MessageLog)
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
    app = LogApp()
    async with app.run_test(size=(120, 30)) as pilot:
        log = app.query_one(MessageLog)
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
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(MessageLog)
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
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(MessageLog)
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


async def test_a_redraw_keeps_the_reader_on_the_same_item_when_the_view_held_more() -> None:
    # The view lets go of its oldest items a batch at a time, so it can hold more
    # than the timeline (which drops one per arrival): a redraw from the timeline
    # must find the reader's item, not count to it.
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(MessageLog)
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
