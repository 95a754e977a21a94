"""Copying a message's text (c) and jumping to the first unread message (u)."""

from __future__ import annotations

from bimpe_tui.api.models import Message
from bimpe_tui.book import Marker, TimelineItem
from tests.logapp import log_app, show_focused


def message(n: int, text: str) -> Message:
    return Message.from_api(
        {"id": f"m_{n}", "role": "customer", "message": text, "created_at": "2026-11-20T09:00:00Z"}
    )


async def test_c_copies_the_newest_message_on_screen_or_the_current_match_as_received() -> None:
    items: list[TimelineItem] = [message(n, f"text {n}") for n in range(300)]
    # Markup and a tab stay as they were sent; an escape is spelled out (a paste's
    # end, ESC [201~, would run the rest of a paste in a shell), as are bidi controls.
    items[120] = message(120, "order [b]4711[/b] \x1b[31m\tred \x1b[201~rm \u202eevil\x9b")
    async with log_app() as (app, pilot, log):
        show_focused(log, items)
        await pilot.press("y")
        assert app.clipboard == "text 299"
        await pilot.press("ctrl+f", *"4711", "escape", "y")
        assert (
            app.clipboard == "order [b]4711[/b] \u241b[31m\tred \u241b[201~rm <U+202E>evil<U+009B>"
        )
        # Without a search: the newest message whose first line shows.
        await pilot.press("escape", "home", "y")
        bottom = log.lines.bottom_item()
        assert app.clipboard == f"text {bottom}"


async def test_u_goes_to_the_first_message_new_since_you_left() -> None:
    items: list[TimelineItem] = [message(n, f"text {n}") for n in range(500)]
    items.insert(200, Marker("new_since", "new since you left"))
    async with log_app() as (app, pilot, log):
        view = show_focused(log, items)
        await pilot.press("u")
        top = round(view.scroll_y)
        shown = [view.line_strip(top + y).text for y in range(view.size.height)]
        assert any("new since you left" in line for line in shown)
        assert any(line.rstrip().endswith("text 200") for line in shown)
        assert not log.following
        # None in the timeline: it says so, and stays.
        log.show("title", [message(n, f"text {n}") for n in range(50)])
        await pilot.press("u")
        assert any("nothing unread" in n.message for n in app._notifications)
