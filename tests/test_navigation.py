"""A list that holds still while the user moves through it, and catches up after."""

from __future__ import annotations

from pathlib import Path

from bimpe_tui.api.models import Agent, Conversation
from bimpe_tui.book import Book, held
from bimpe_tui.demo.server import DemoServer
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
