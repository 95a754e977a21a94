"""A list that holds still while the user moves through it, and catches up after."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bimpe_tui.api.models import Agent, Conversation
from bimpe_tui.book import Book, held
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.screens import list_rows
from tests.apptools import FakeClock, make_app, ready, until


def conversation(
    cid: str, *, attention: bool = False, at: str = "2026-11-20T08:00:00Z"
) -> Conversation:
    return Conversation.from_api(
        {
            "id": cid,
            "channel_type": "webchat",
            "is_test_channel": False,
            "is_ai_chat_paused": False,
            "needs_attention": attention,
            "created_at": at,
            "updated_at": at,
            "last_message_at": at,
        }
    )


def test_held_keeps_rows_where_they_were_and_appends_new_ones() -> None:
    agent = Agent.from_api({"id": "ag_1", "name": "A", "created_at": "", "updated_at": ""})
    book = Book()
    book.add_conversations(agent, [conversation("c_a"), conversation("c_b"), conversation("c_c")])
    before = [e.id for e in book.flat()]
    # c_c starts needing attention and a new conversation arrives: both would go first.
    book.add_conversations(
        agent, [conversation("c_c", attention=True), conversation("c_new", attention=True)]
    )
    assert set([e.id for e in book.flat()][:2]) == {"c_c", "c_new"}
    kept = [e.id for _, entries in held(book.ordered(), before) for e in entries]
    assert kept == [*before, "c_new"]


async def test_rows_hold_after_a_key_press_then_catch_up(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 60)) as pilot:
        await until(pilot, ready(app))
        order = list(app.order)
        # A background conversation low in the list gets unread messages, which
        # would move it up; watch it first.
        later = clock.now + 600
        low = next(
            c
            for c in reversed(order)
            if server.world.latest_index(c, later) > server.world.latest_index(c)
            and not app.monitor.book.entries[c].conversation.needs_attention
        )
        app.monitor.watch(low)
        await until(pilot, lambda: app.monitor.book.entries[low].status is not None)
        await pilot.press("right_square_bracket")  # the user is moving: hold
        held_order = list(app.order)
        clock.advance(600, server)
        entry = app.monitor.book.entries[low]
        await until(pilot, lambda: entry.unread > 0 and not app.redraw_pending)
        assert app.order == held_order
        # Once the user stops, the order catches up: unread goes ahead of calm rows.
        await until(pilot, lambda: app.order.index(low) < held_order.index(low), limit=20)


def test_the_hotlist_puts_the_most_urgent_first_and_drops_what_was_visited() -> None:
    agent = Agent.from_api({"id": "ag_1", "name": "A", "created_at": "", "updated_at": ""})
    book = Book()
    book.add_conversations(
        agent,
        [
            conversation("c_calm"),
            conversation("c_unread_2"),
            conversation("c_unread_9"),
            conversation("c_asks"),
            conversation("c_asks_news", attention=True),
            conversation("c_match"),
        ],
    )
    entries = book.entries
    entries["c_unread_2"].unread = 2
    entries["c_unread_9"].unread = 9
    entries["c_asks"].conversation = conversation("c_asks", attention=True)
    entries["c_asks_news"].unread = 1
    entries["c_match"].unread = 1
    entries["c_match"].highlights = {"m_1": ((0, 3),)}
    hot = [e.id for e in book.hotlist()]
    assert hot == ["c_asks_news", "c_asks", "c_match", "c_unread_9", "c_unread_2"]
    # A visited one leaves; the next press goes on to the rest.
    entries["c_asks_news"].visited = True
    entries["c_asks"].visited = True
    assert [e.id for e in book.hotlist()] == ["c_match", "c_unread_9", "c_unread_2"]
    # The filter narrows it as it narrows the list.
    assert [e.id for e in book.hotlist("unread_9")] == ["c_unread_9"]


async def test_alt_a_reaches_every_conversation_with_news_once(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 60)) as pilot:
        await until(pilot, ready(app))
        book = app.monitor.book
        # Give the calm conversations news too, as messages would: unread ones
        # must be reached even though those needing attention sort first.
        here = app.monitor.current
        calm = [e for e in book.flat() if not e.hot and e.id != here][:3]
        for count, entry in enumerate(calm, start=1):
            entry.unread = count
        hot = [e.id for e in book.hotlist() if e.id != here]
        assert len(hot) >= 4
        visits: list[str] = []
        for _ in hot:
            await pilot.press("alt+a")
            assert app.monitor.current is not None
            visits.append(app.monitor.current)
        assert visits == hot  # most urgent first, each once
        assert set(visits) >= {e.id for e in calm}
        # Then there is nothing more: alt+a stays and says so.
        here = app.monitor.current
        await pilot.press("alt+a")
        assert app.monitor.current == here
        assert any("nothing new" in str(n.message) for n in app._notifications)
        # News in a visited conversation puts it back on the hotlist.
        book.entries[visits[0]].visited = False
        await pilot.press("alt+a")
        assert app.monitor.current == visits[0]


@pytest.mark.long(30)
async def test_next_visits_every_conversation_once_per_round_while_the_list_reorders(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 60)) as pilot:
        await until(pilot, ready(app))
        screen = app.main
        start = app.monitor.current
        visits: list[str] = []
        for step in range(len(screen.order)):
            await pilot.press("right_square_bracket")
            assert app.monitor.current is not None
            visits.append(app.monitor.current)
            if step in (1, 4):
                # The list re-sorts under the user (as a catch-up after the hold
                # would): the conversation just visited moves to the end.
                screen.order = [c for c in screen.order if c != visits[-1]] + [visits[-1]]
        assert len(visits) == len(set(visits)), visits
        assert set(visits) | {start} == set(screen.order)


async def test_the_hold_ends_even_when_it_runs_out_while_it_is_checked(
    server: DemoServer, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 60)) as pilot:
        await until(pilot, ready(app))
        main = app.main
        # The timers asked for, not started: one with a negative delay would spin
        # Textual's loop forever (the app froze so on a busy machine).
        delays: list[float] = []

        def set_timer(delay: float, *args: object, **kwargs: object) -> None:
            delays.append(delay)

        monkeypatch.setattr(main, "set_timer", set_timer)
        # A clock each read of which is a millisecond after the one before (a busy
        # machine), the hold ending between the first read and the next.
        start = time.monotonic()
        reads = itertools.count()
        clock_ = SimpleNamespace(monotonic=lambda: start + next(reads) * 0.001)
        monkeypatch.setattr(list_rows, "time", clock_)
        main.rows._hold_until = start + 0.0005
        main.rows._release()
        assert delays
        assert min(delays) >= list_rows.TIMER_FLOOR
