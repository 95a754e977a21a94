"""Going to a match of the server's search in its place: the page of history that holds
it is found (a binary search on times), the timeline moves there, and scrolling down from
it loads what followed until the window is live again; the end key goes to the newest."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.models import Message
from bimpe_tui.app import BimpeApp
from bimpe_tui.book import Entry, Timeline, TimelineItem
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.history import HistoryError, HistoryPager, locate, newer_than, window_around
from bimpe_tui.screens.history_results import HistoryResults
from tests.apptools import FakeClock, make_app, until
from tests.shell.test_scrollback import ids, log_text, open_short, world_ids, world_message

# -- history, over the demo server's sockets ----------------------------------------------


def sized(server: DemoServer, low: int, high: int) -> tuple[str, str]:
    """(agent id, conversation id) of a demo conversation of `low` to `high` messages."""
    world = server.world
    for agent_id, conv in world.conversation_ids():
        if low <= world.latest_index(conv) + 1 <= high:
            return agent_id, conv
    raise AssertionError("the demo world has no conversation of that size")


async def test_locate_finds_any_message_on_its_page(server: DemoServer) -> None:
    agent_id, conv = sized(server, 1_000, 3_000)
    last = server.world.latest_index(conv)
    async with ConsoleClient(server.api_key, server.base_url) as client:
        for index in (0, 1, 99, 100, last // 2, last - 1, last):
            page, number = await locate(
                client, agent_id, conv, world_message(server, conv, index), page_size=100
            )
            assert number == index // 100 + 1
            assert world_message(server, conv, index).id in [m.id for m in page.items]


async def test_a_window_holds_the_match_and_knows_its_place(server: DemoServer) -> None:
    agent_id, conv = sized(server, 1_000, 3_000)
    last = server.world.latest_index(conv)
    async with ConsoleClient(server.api_key, server.base_url) as client:
        # In the newer half of its page: the next page comes with it.
        window = await window_around(
            client, agent_id, conv, world_message(server, conv, 170), page_size=100
        )
        assert window.first == 100
        assert [m.id for m in window.messages] == world_ids(server, conv, 100, 299)
        assert not window.at_end
        # In the older half: its page alone.
        window = await window_around(
            client, agent_id, conv, world_message(server, conv, 420), page_size=100
        )
        assert (window.first, window.last) == (400, 499)
        # What follows position 499, to the end of its page: 500 … 599.
        after = await newer_than(client, agent_id, conv, window.last, page_size=100)
        assert after.first == 500
        assert [m.id for m in after.messages] == world_ids(server, conv, 500, 599)
        # The newest: the window reaches the end.
        window = await window_around(
            client, agent_id, conv, world_message(server, conv, last), page_size=100
        )
        assert window.at_end
        assert window.messages[-1].id == world_message(server, conv, last).id
        # A pager told the window's place pages back from it without looking for it.
        pager = HistoryPager(
            client, agent_id, conv, window.messages[0], position=window.first, page_size=100
        )
        older = await pager.older()
        first = window.first
        assert [m.id for m in older] == world_ids(server, conv, first - 100, first - 1)


async def test_a_message_not_in_the_conversation_is_said_so(server: DemoServer) -> None:
    agent_id, conv = sized(server, 1_000, 3_000)
    _, other = sized(server, 100, 900)
    stranger = world_message(server, other, 5)
    async with ConsoleClient(server.api_key, server.base_url) as client:
        with pytest.raises(HistoryError):
            await locate(client, agent_id, conv, stranger, page_size=100)


# -- the timeline -----------------------------------------------------------------------------


async def test_a_moved_timeline_extends_then_attaches_with_what_arrived(
    server: DemoServer,
) -> None:
    conv = server.world.conversation_ids()[0][1]
    messages = [world_message(server, conv, n) for n in range(30)]
    timeline = Timeline(limit=8)
    timeline.add(messages[20:25])
    timeline.move_to(messages[2:6], at_end=False)
    assert timeline.detached
    assert [m.id for m in timeline.messages()] == [m.id for m in messages[2:6]]
    # Arrivals meanwhile are not shown in the window; they are the newest.
    timeline.add(messages[25:27])
    assert timeline.last_message is messages[26]
    # Newer history: the window slides, letting its oldest go.
    gone = timeline.extend_window(messages[6:12], at_end=False)
    assert [m.id for m in timeline.messages()] == [m.id for m in messages[4:12]]
    assert gone == messages[2:4]
    # The run that reaches the end (listed before message 26 arrived): attached, and
    # the arrivals follow it, none twice.
    timeline.extend_window(messages[12:26], at_end=True)
    assert not timeline.detached
    assert [m.id for m in timeline.messages()] == [m.id for m in messages[19:27]]


async def test_a_move_to_the_end_keeps_what_arrived_while_it_was_listed(
    server: DemoServer,
) -> None:
    conv = server.world.conversation_ids()[0][1]
    messages = [world_message(server, conv, n) for n in range(30)]
    timeline = Timeline(limit=50)
    timeline.add(messages[10:20])
    # Listed before messages 18 and 19 arrived.
    timeline.move_to(messages[0:18], at_end=True)
    assert not timeline.detached
    assert [m.id for m in timeline.messages()] == [m.id for m in messages[0:20]]


# -- the app ------------------------------------------------------------------------------------


def old_order_number(server: DemoServer, conv: str, loaded: set[str]) -> tuple[str, int]:
    """An order number said once in the conversation, in a message not loaded."""
    world = server.world
    last = world.latest_index(conv)
    texts = [str(world.message(conv, n).to_api()["message"]) for n in range(last + 1)]
    for index, text in enumerate(texts):
        if world.message_id(conv, index) in loaded:
            break
        for number in re.findall(r"order (\d{5})", text):
            if sum(number in t for t in texts) == 1 and index >= 100:
                return number, index
    raise AssertionError("no order number said once in the older history")


async def jump_to_old_match(
    pilot: Pilot[Any], server: DemoServer, limit: int | None = None
) -> tuple[str, Entry, str, int]:
    """Open a conversation, search the server for an order number said once long ago and
    press enter on it: (conversation, entry, the number, the match's index)."""
    app = pilot.app
    assert isinstance(app, BimpeApp)
    conv, entry = await open_short(pilot, server, 600, 3_000)
    if limit is not None:
        entry.timeline.limit = limit
    number, index = old_order_number(server, conv, set(ids(entry)))
    target = server.world.message_id(conv, index)
    app.main.action_show_pane("log")
    await pilot.press("ctrl+f", *number, "ctrl+o")
    await until(pilot, lambda: isinstance(app.screen, HistoryResults), limit=20)
    assert app.screen.query_one(OptionList).option_count == 1
    await pilot.press("enter")
    await until(pilot, lambda: target in ids(entry), limit=20)
    return conv, entry, number, index


async def scroll_up_a_window(pilot: Pilot[Any], entry: Entry) -> None:
    """Press home at the top of the log and wait for the older page to land on top."""
    before = ids(entry)[0]
    await pilot.press("home")
    await until(pilot, lambda: ids(entry)[0] != before, limit=20)


async def scroll_down_a_window(pilot: Pilot[Any], entry: Entry) -> None:
    """Scroll to the end of what the log holds, as the wheel does (lines measured on the
    way may push the end further), and wait for the next newer page to land."""
    app = pilot.app
    assert isinstance(app, BimpeApp)
    view = app.main.log_view.lines
    before = (len(ids(entry)), ids(entry)[-1])

    def moved() -> bool:
        return not entry.timeline.detached or (len(ids(entry)), ids(entry)[-1]) != before

    for _ in range(10):
        view.scroll_to(y=view.max_scroll_y, animate=False)
        await pilot.pause()
        if view.scroll_y >= view.max_scroll_y - 1 or moved():
            break
    await until(pilot, moved, limit=20)


async def test_enter_on_a_server_match_shows_it_in_place_then_down_to_the_newest(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        conv, entry, number, index = await jump_to_old_match(pilot, server)
        log = app.main.log_view
        view = log.lines
        # The match is on screen, as the search's current match, and the window is history.
        await until(pilot, lambda: number in "".join(log_text(app)[round(view.scroll_y) :][:38]))
        assert entry.timeline.detached
        assert not log.live
        assert "1 of 1" in str(log.query_one("#search-count").render())
        assert "reading history" in str(log.query_one("#new-marker").render())
        held = ids(entry)
        first = index - held.index(server.world.message_id(conv, index))
        assert held == world_ids(server, conv, first, first + len(held) - 1)
        # Down from there: the next newer pages come, nothing twice or missing, until
        # the window reaches the newest and is live again.
        newest = server.world.latest_index(conv)
        # Counted as the pages leave the server, before the timeline drops repeats:
        # a page overlapping what is held would be hidden by the timeline's ids.
        fetched = list(held)
        extend = entry.timeline.extend_window

        def counting(run: Sequence[Message], *, at_end: bool) -> list[TimelineItem]:
            fetched.extend(m.id for m in run)
            return extend(run, at_end=at_end)

        entry.timeline.extend_window = counting  # type: ignore[method-assign]
        grown = 0
        for _ in range(60):
            if not entry.timeline.detached:
                break
            await scroll_down_a_window(pilot, entry)
            if entry.timeline.detached:
                # Still the match's window, grown by what followed it (not the newest page).
                held = ids(entry)
                assert held == world_ids(server, conv, first, first + len(held) - 1)
                grown += 1
        assert grown, "the window went to the newest at once"
        assert not entry.timeline.detached
        assert log.live
        held = ids(entry)
        assert held[-1] == server.world.message_id(conv, newest)
        assert held == world_ids(server, conv, newest - len(held) + 1, newest)
        # Each page began where the one before ended: none twice, none skipped.
        assert fetched == world_ids(server, conv, first, first + len(fetched) - 1)


async def test_the_end_key_leaves_a_match_for_the_newest(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        conv, entry, _, _ = await jump_to_old_match(pilot, server)
        assert entry.timeline.detached
        await pilot.press("escape", "escape")
        app.main.log_view.lines.focus()
        await pilot.press("end")
        await until(pilot, lambda: not entry.timeline.detached, limit=20)
        newest = server.world.latest_index(conv)
        assert ids(entry)[-1] == server.world.message_id(conv, newest)
        assert app.main.log_view.live


async def test_a_window_that_slid_down_pages_back_from_its_new_oldest(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        # A small window, so going down lets the oldest go.
        conv, entry, _, _ = await jump_to_old_match(pilot, server, limit=250)
        await pilot.press("escape", "escape")
        app.main.log_view.lines.focus()
        start = ids(entry)[0]
        for _ in range(10):
            if ids(entry)[0] != start:
                break
            await scroll_down_a_window(pilot, entry)
        assert entry.timeline.detached
        held = ids(entry)
        assert held[0] != start
        assert len(held) <= 250
        first = server.world.parse_message_id(held[0])
        assert first is not None
        assert first[0] == conv
        # Up to the top: the page before the new oldest joins it, none twice or missing.
        await pilot.press("home")
        await until(pilot, lambda: ids(entry)[0] != held[0], limit=20)
        now = ids(entry)
        oldest = server.world.parse_message_id(now[0])
        assert oldest is not None
        assert now == world_ids(server, conv, oldest[1], oldest[1] + len(now) - 1)
        assert oldest[1] < first[1]


async def test_a_match_hidden_by_the_filter_is_said_so(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        conv, entry = await open_short(pilot, server, 600, 3_000)
        number, index = old_order_number(server, conv, set(ids(entry)))
        app.main.action_show_pane("log")
        app.main.log_view.lines.focus()
        await pilot.press("f", *"qqqq", "enter")
        await until(pilot, lambda: app.main.log_view.filtered)
        await pilot.press("ctrl+f", *number, "ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, HistoryResults), limit=20)
        await pilot.press("enter")
        target = server.world.message_id(conv, index)
        await until(pilot, lambda: target in ids(entry), limit=20)
        await until(
            pilot,
            lambda: any("hidden by the log's filter" in n.message for n in app._notifications),
        )


async def test_a_window_moved_by_scrolling_up_pages_down_from_where_it_ends(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        conv, entry = await open_short(pilot, server, 1_000, 3_000)
        entry.timeline.limit = 220  # small, so paging back lets the newest go
        app.main.action_show_pane("log")
        app.main.log_view.lines.focus()
        for _ in range(8):
            await scroll_up_a_window(pilot, entry)
        assert entry.timeline.detached
        held = ids(entry)
        end = server.world.parse_message_id(held[-1])
        assert end is not None
        assert end[1] < server.world.latest_index(conv) - 100
        # Down to the end of the window: the page after it, not the newest.
        await scroll_down_a_window(pilot, entry)
        assert entry.timeline.detached
        now = ids(entry)
        assert held[-1] in now
        assert now[-1] != held[-1]
        start = server.world.parse_message_id(now[0])
        assert start is not None
        assert now == world_ids(server, conv, start[1], start[1] + len(now) - 1)
