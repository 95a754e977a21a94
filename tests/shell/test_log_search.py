"""Search in the open conversation: incremental, any case, a regex toggle, n and N, a count."""

from __future__ import annotations

import re

from bimpe_tui.api.models import Message
from bimpe_tui.book import TimelineItem
from bimpe_tui.search import LogFilter, compile_query, find_hits
from bimpe_tui.widgets.message_log import MessageLog, TimelineView
from tests.logapp import log_app, show_focused


def message(n: int, text: str) -> Message:
    return Message.from_api(
        {
            "id": f"m_{n}",
            "role": ["customer", "assistant", "restaurant_user", "system"][n % 4],
            "message": text,
            "created_at": "2026-11-20T09:00:00Z",
        }
    )


def timeline(count: int = 2_000) -> list[TimelineItem]:
    # Every 100th message names an order; one in the middle a refund.
    return [
        message(n, f"Order ORD-{n:05d} is on its way" if n % 100 == 7 else f"chat line {n}")
        for n in range(count)
    ]


def count_text(log: MessageLog) -> str:
    return str(log.query_one("#search-count").render()).strip()


def screen_texts(view: TimelineView) -> list[str]:
    top = round(view.scroll_y)
    return [view.line_strip(top + y).text for y in range(view.scrollable_content_region.height)]


def current_style_segments(view: TimelineView) -> list[str]:
    """The text drawn in the current match's style, on screen."""
    style = view.get_component_rich_style("timeline--match-current", partial=True)
    assert style.bgcolor is not None
    top = round(view.scroll_y)
    found = []
    for y in range(view.scrollable_content_region.height):
        for segment in view.line_strip(top + y):
            if segment.style is not None and segment.style.bgcolor == style.bgcolor:
                found.append(segment.text)
    return found


def test_hits_are_offsets_into_the_text_in_any_case() -> None:
    items: list[TimelineItem] = [message(0, "Straße ORDER order"), message(1, "nothing")]
    hits = find_hits(items, compile_query("order", regex=False))
    assert [(h.item, h.start, h.end) for h in hits] == [(0, 7, 12), (0, 13, 18)]
    assert find_hits(items, compile_query("o.d", regex=False)) == []
    assert len(find_hits(items, compile_query("o.d", regex=True))) == 2
    # An empty regex match is no match.
    assert find_hits(items, compile_query("x*", regex=True)) == []


def test_a_filter_reads_roles_and_words() -> None:
    chosen = LogFilter.parse("@cust @staff Refund")
    assert chosen.roles == {"customer", "staff"}
    assert chosen.words == ("refund",)
    assert chosen.keeps(message(0, "my REFUND please"))
    assert not chosen.keeps(message(1, "refund done"))  # an agent's
    assert not chosen.keeps(message(4, "hello"))
    assert LogFilter.parse("@other").keeps(message(3, "a system note"))
    assert chosen.describe() == "@customer @staff refund"


async def test_search_as_you_type_then_n_and_N_walk_the_matches() -> None:
    items = timeline()
    async with log_app() as (app, pilot, log):
        view = show_focused(log, items)
        await pilot.press("ctrl+f")
        assert app.focused is not None
        assert app.focused.id == "search"
        await pilot.press(*"ord-")
        # Case-insensitive, over every message held: 20 orders.
        assert count_text(log).endswith("of 20")
        # Following the end: the match pointed at is the newest one.
        assert count_text(log) == "20 of 20"
        assert current_style_segments(view) == ["ORD-"]
        assert any("ORD-01907" in t for t in screen_texts(view))
        # enter / shift+enter in the box, n / N in the log.
        await pilot.press("shift+enter")
        assert count_text(log) == "19 of 20"
        assert any("ORD-01807" in t for t in screen_texts(view))
        await pilot.press("escape")
        assert app.focused is view
        for _ in range(18):
            await pilot.press("N")
        assert count_text(log) == "1 of 20"
        assert any("ORD-00007" in t for t in screen_texts(view))
        assert not log.following
        await pilot.press("n")
        assert count_text(log) == "2 of 20"
        assert any("ORD-00107" in t for t in screen_texts(view))
        # Wrapping round the ends.
        await pilot.press("N", "N")
        assert count_text(log) == "20 of 20"
        # Escape in the log clears the search: no marks, the box gone.
        await pilot.press("escape")
        assert not log.searching
        assert current_style_segments(view) == []
        assert not log.query_one("#search-bar").display


async def test_the_regex_toggle_and_a_bad_pattern() -> None:
    async with log_app() as (_, pilot, log):
        show_focused(log, timeline(500))
        await pilot.press("ctrl+f", *"ord-001.7")
        assert count_text(log) == "no matches"
        await pilot.press("ctrl+r")
        assert count_text(log) == "1 of 1 · regex"
        await pilot.press("backspace", "backspace", "[")
        assert "not a valid regex" in count_text(log)
        await pilot.press("ctrl+r")
        assert count_text(log) == "no matches"


async def test_arrivals_add_to_the_count_without_moving_the_reader() -> None:
    async with log_app() as (_, pilot, log):
        view = show_focused(log, timeline(1_000))
        await pilot.press("ctrl+f", *"order", "escape", "N", "N")
        assert count_text(log) == "8 of 10"
        before = screen_texts(view)
        log.append([message(5_000 + n, f"another order {n}") for n in range(5)])
        await pilot.pause()
        assert count_text(log) == "8 of 15"
        assert screen_texts(view)[: len(before) - 1] == before[: len(before) - 1]
        assert re.search(
            "ORD-00707",
            "".join(current_style_segments(view))
            + "".join(t for t in screen_texts(view) if "ORD-00707" in t),
        )


async def test_a_redraw_keeping_the_place_keeps_the_current_match() -> None:
    items = timeline()
    async with log_app() as (_, pilot, log):
        view = show_focused(log, items)
        await pilot.press("ctrl+f", *"ord-", "escape", "N", "N", "N", "N", "N")
        assert count_text(log) == "15 of 20"
        assert current_style_segments(view) == ["ORD-"]
        # Older messages put on top (as paging back does): the same match stays
        # current, counted among more matches, and stays on screen.
        older = [message(n, f"Order ORD-9{n:04d} from before") for n in range(-30, 0)]
        log.redraw("title", [*older, *items], above=older)
        assert count_text(log) == "45 of 50"
        assert any("ORD-01407" in t for t in screen_texts(view))
        assert current_style_segments(view) == ["ORD-"]
