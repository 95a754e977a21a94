"""Mark unread from here (m): the seen cursor moves back, the picker's count follows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bimpe_tui.api.models import Message
from bimpe_tui.app import BimpeApp
from bimpe_tui.book import Entry
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.state import StateStore
from tests.apptools import FakeClock, make_app, open_entry, ready, running, until


@asynccontextmanager
async def app_on_its_open_entry(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[BimpeApp, Pilot[Any], Entry]]:
    """The app running and ready: (app, pilot, the entry of its open conversation)."""
    app = make_app(server, tmp_path / "state.toml", clock)
    async with running(app, (140, 30)) as pilot:
        yield app, pilot, open_entry(app)


async def test_m_marks_the_messages_from_the_top_of_the_log_unread(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    async with app_on_its_open_entry(server, tmp_path, clock) as (app, pilot, entry):
        current = entry.id
        log = app.main.log_view
        view = log.lines
        view.focus()
        assert entry.unread == 0
        # Down from the top: the message on the first line and every later one.
        await pilot.press("home", "down", "down", "down")
        top = view.top_message()
        assert top is not None
        messages = [i for i in entry.timeline.items if isinstance(i, Message)]
        position = next(n for n, m in enumerate(messages) if m.id == top.id)
        await pilot.press("m")
        assert entry.unread == len(messages) - position
        cursor = app.monitor.saved.cursors[current]
        assert cursor.seen == (messages[position - 1].id if position else None)
        await until(pilot, lambda: not app.redraw_pending)
        assert f"{entry.unread}" in str(
            app.main.picker.options.get_option_at_index(
                app.main.picker.options.highlighted or 0
            ).prompt
        )
        # Back at the end: seen again.
        await pilot.press("end")
        await until(pilot, lambda: entry.unread == 0)
        assert cursor.seen == messages[-1].id


async def peek_at_one_with_unread(
    pilot: Pilot[Any], server: DemoServer, clock: FakeClock
) -> tuple[str, str | None]:
    """Watch a second conversation in the background until it has unread messages, then
    peek at it with `p` from the list: its id, and its seen cursor before the peek."""
    app = pilot.app
    assert isinstance(app, BimpeApp)
    await until(pilot, ready(app))
    first = app.monitor.current
    assert first is not None
    other = next(c for c in app.order if c != first)
    app.main._go(other)
    await until(pilot, lambda: app.monitor.book.entries[other].history_loaded)
    app.main._go(first)
    clock.advance(600, server)
    await until(pilot, lambda: app.monitor.book.entries[other].unread > 0)
    seen = app.monitor.saved.cursors[other].seen
    options = app.main.picker.options
    options.focus()
    options.highlighted = options.get_option_index(other)
    await pilot.press("p")
    await until(pilot, lambda: app.monitor.current == other)
    return other, seen


async def test_p_peeks_without_marking_seen_and_enter_then_marks_it(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 30)) as pilot:
        other, seen = await peek_at_one_with_unread(pilot, server, clock)
        entry = app.monitor.book.entries[other]
        options = app.main.picker.options
        assert app.monitor.peeking
        await pilot.pause()
        # Open and at its end, yet not seen: the count and the cursor stay.
        assert entry.unread > 0
        assert app.monitor.saved.cursors[other].seen == seen
        before = entry.unread
        clock.advance(600, server)
        await until(pilot, lambda: entry.unread > before)
        # Opened for real: seen.
        options.focus()
        await pilot.press("enter")
        await until(pilot, lambda: entry.unread == 0 and not app.monitor.peeking)


async def test_a_peek_is_still_a_peek_after_a_restart(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    state_path = tmp_path / "state.toml"
    app = make_app(server, state_path, clock)
    async with app.run_test(size=(140, 30)) as pilot:
        other, seen = await peek_at_one_with_unread(pilot, server, clock)
        await pilot.press("q")
    assert not app.is_running
    saved = StateStore(state_path)
    assert saved.load() == []
    remembered = saved.server(app.monitor.server_key)
    assert remembered.selected == other
    assert remembered.peeking
    assert remembered.cursors[other].seen == seen

    again = make_app(server, state_path, clock)
    async with running(again, (140, 30)) as pilot:
        assert again.monitor.current == other
        assert again.monitor.peeking
        entry = again.monitor.book.entries[other]
        await until(pilot, lambda: entry.history_loaded and entry.unread > 0)
        assert again.monitor.saved.cursors[other].seen == seen
        # Opened for real: seen, and no longer a peek in the file.
        again.main._go(other)
        await until(pilot, lambda: entry.unread == 0)
        assert not again.monitor.saved.peeking


async def test_unread_from_the_first_message_held_asks_the_server_for_the_one_before(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    async with app_on_its_open_entry(server, tmp_path, clock) as (app, pilot, entry):
        current = entry.id
        oldest = entry.timeline.oldest_message()
        assert oldest is not None
        place = server.world.parse_message_id(oldest.id)
        assert place is not None
        assert place[1] > 0, "the open conversation's history is all held"
        assert app.monitor.mark_unread_from(oldest.id)
        held = [i for i in entry.timeline.items if isinstance(i, Message)]
        assert entry.unread == len(held)
        cursor = app.monitor.saved.cursors[current]
        # Not "nothing seen": the message just before the oldest held, from the server.
        before = server.world.message_id(current, place[1] - 1)
        await until(pilot, lambda: cursor.seen == before)
