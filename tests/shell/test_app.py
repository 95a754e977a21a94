"""The real app, driven by Textual's pilot against the demo server (clock moved by the test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events

from bimpe_tui.api.models import Message
from bimpe_tui.app import BimpeApp
from bimpe_tui.book import Marker
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.state import StateStore
from tests.apptools import FakeClock, delivered_ids, make_app, ready, running, until


def message_ids(app: BimpeApp, conversation_id: str) -> list[str]:
    entry = app.monitor.book.entries[conversation_id]
    return [item.id for item in entry.timeline.items if isinstance(item, Message)]


def world_ids(server: DemoServer, conversation_id: str, first: int, last: int) -> list[str]:
    return [server.world.message(conversation_id, n).id for n in range(first, last + 1)]


async def test_opens_with_every_conversation_and_the_top_one_live(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        assert len(app.monitor.book.entries) == len(server.world.conversation_ids())
        assert len(app.order) == len(app.monitor.book.entries)
        assert app.monitor.current == app.order[0]
        # The top of the list needs attention: attention comes first.
        assert app.monitor.book.entries[app.order[0]].conversation.needs_attention
        current = app.monitor.current
        assert current is not None
        latest = server.world.latest_index(current)
        # First open: the latest page of history, no gap at the seam.
        assert message_ids(app, current) == world_ids(server, current, latest - 49, latest)
        clock.advance(120, server)
        newest = server.world.latest_index(current)
        assert newest > latest
        await until(
            pilot,
            lambda: message_ids(app, current)[-1:] == world_ids(server, current, newest, newest),
        )
        assert message_ids(app, current) == world_ids(server, current, latest - 49, newest)
        assert "live" in app.main.status_footer.state_words


async def test_switching_by_every_key(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        order = list(app.order)
        await pilot.press("right_square_bracket")
        assert app.monitor.current == order[1]
        await pilot.press("left_square_bracket")
        assert app.monitor.current == order[0]
        await pilot.press("left_square_bracket")
        assert app.monitor.current == order[-1]
        await pilot.press("alt+3")
        assert app.monitor.current == order[2]
        # In the list: j/k and arrows move, enter opens.
        app.main.picker.options.focus()
        app.main.picker.highlight(order[0])
        await pilot.press("j", "j", "down", "k", "enter")
        await pilot.pause()
        assert app.monitor.current == order[2]
        assert app.focused is app.main.log_view.lines
        for entry_id in (order[0], order[1], order[2]):
            assert app.monitor.book.entries[entry_id].watched


async def test_unread_counts_attention_order_and_alt_a(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        later = clock.now + 600
        calm = [
            e
            for e in app.monitor.book.flat()
            if not e.conversation.needs_attention
            and server.world.latest_index(e.id, later) > server.world.latest_index(e.id)
        ]
        background = calm[-1]  # the least recently active conversation that will move
        app.monitor.open(background.id)
        await until(pilot, ready(app))
        first = app.order[0]
        app.monitor.open(first)
        await until(pilot, ready(app))
        before = server.world.latest_index(background.id)
        clock.advance(600, server)
        after = server.world.latest_index(background.id)
        assert after > before
        await until(pilot, lambda: background.unread == after - before)

        # Unread moves it ahead of every calm conversation of its agent.
        def group() -> list[str]:
            return [e.id for e in app.monitor.book.flat() if e.agent.id == background.agent.id]

        flagged = [
            e
            for e in app.monitor.book.flat()
            if e.agent.id == background.agent.id and e.conversation.needs_attention
        ]
        await until(pilot, lambda: group().index(background.id) == len(flagged))
        assert app.monitor.book.entries[first].unread == 0
        # alt+a goes to the next conversation with unread or attention.
        visited = []
        for _ in range(len(app.order)):
            await pilot.press("alt+a")
            visited.append(app.monitor.current)
            if app.monitor.current == background.id:
                break
        assert background.id in visited
        await until(pilot, lambda: background.unread == 0)


async def test_filter_narrows_the_list(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        target = next(e for e in app.monitor.book.flat() if e.conversation.channel_user_username)
        name = target.conversation.channel_user_username or ""
        await pilot.press("slash")
        assert app.focused is not None
        assert app.focused.id == "filter"
        await pilot.press(*name)
        await until(pilot, lambda: app.order == [target.id])
        # q in the filter box types a q, it does not quit.
        await pilot.press("q")
        assert app.is_running
        assert app.main.picker.filter_text == name + "q"
        await pilot.press("backspace")
        await until(pilot, lambda: app.order == [target.id])
        await pilot.press("enter")
        await pilot.press("escape")
        await until(pilot, lambda: len(app.order) == len(app.monitor.book.entries))
        assert app.is_running


async def test_gave_up_then_r_reconnects(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock, max_retries=1)
    async with running(app, (140, 40)) as pilot:
        current = app.monitor.current
        assert current is not None
        server.faults.inject("drop", after_messages=0)
        server.faults.inject("ticket_503", count=2)
        clock.advance(60, server)
        entry = app.monitor.book.entries[current]
        await until(pilot, lambda: entry.status is not None and entry.status.state == "gave_up")
        words = app.main.status_footer.state_words
        assert words.startswith("gave up: ")
        assert words.endswith("press r to retry")
        await pilot.press("r")
        await until(pilot, ready(app))
        latest = server.world.latest_index(current)
        await until(
            pilot, lambda: message_ids(app, current)[-1] == server.world.message(current, latest).id
        )
        # Counted before the timeline drops repeats: a real duplicate shows here.
        ids = delivered_ids(app, current)
        assert len(ids) == len(set(ids))
        assert ids[-1] == message_ids(app, current)[-1]


async def test_scrolled_up_shows_n_new_and_end_jumps_back(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 30)) as pilot:
        log = app.main.log_view
        log.lines.focus()
        await pilot.press("home")
        await until(pilot, lambda: not log.following)
        # A resize draws the log again: the reader stays where they were.
        await pilot.resize_terminal(120, 30)
        await until(pilot, lambda: log._drawn_width == log._width())
        assert not log.following
        current = app.monitor.current
        assert current is not None
        before = server.world.latest_index(current)
        clock.advance(300, server)
        added = server.world.latest_index(current) - before
        assert added > 0
        await until(pilot, lambda: log.new_count == added)
        marker = log.query_one("#new-marker")
        assert marker.display
        assert f"{added} new" in str(marker.render())
        # Not seen while scrolled up: it counts as unread.
        assert app.monitor.book.entries[current].unread == added
        await pilot.press("end")
        await until(pilot, lambda: log.following and log.new_count == 0)
        assert not marker.display
        assert app.monitor.book.entries[current].unread == 0


async def test_seen_cursor_waits_while_the_terminal_is_blurred(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        current = app.monitor.current
        assert current is not None
        cursor = app.monitor.saved.cursors[current]
        seen = cursor.seen
        assert seen == message_ids(app, current)[-1]
        app.post_message(events.AppBlur())
        await until(pilot, lambda: not app.app_focus)
        clock.advance(300, server)
        latest = server.world.latest_index(current)
        await until(
            pilot, lambda: message_ids(app, current)[-1] == server.world.message(current, latest).id
        )
        assert cursor.seen == seen
        assert cursor.received == server.world.message(current, latest).id
        assert app.monitor.book.entries[current].unread > 0
        app.post_message(events.AppFocus())
        await until(pilot, lambda: cursor.seen == server.world.message(current, latest).id)
        assert app.monitor.book.entries[current].unread == 0


async def test_help_screen_lists_every_binding(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        described = {d for _, rows in app.binding_sections() for _, d in rows}
        from textual.binding import Binding

        from bimpe_tui.app import ASKS_FIRST
        from bimpe_tui.screens.main import MainScreen
        from bimpe_tui.widgets.message_log import MessageLog, TimelineView
        from bimpe_tui.widgets.picker import ConversationList, Picker

        owners = (type(app), MainScreen, ConversationList, Picker, MessageLog, TimelineView)
        declared = [
            b
            for owner in owners
            for b in owner.__dict__.get("BINDINGS", ())
            if isinstance(b, Binding)
        ]
        assert len(declared) > 15
        for binding in declared:
            if binding.description and not binding.action.startswith("jump("):
                said = ASKS_FIRST.get(binding.description, binding.description)
                assert said in described, binding
        # Nothing that reaches a customer is one stray key, and the help says so.
        assert "Reply (asks first unless you have the conversation)" in described
        assert "Open conversation number N (numbers stay)" in described
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ != "HelpScreen"


async def test_quit_saves_and_restart_resumes_with_nothing_missed(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    # First run: open two conversations, read the first.
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        first = app.monitor.current
        assert first is not None
        second = app.order[1]
        app.monitor.open(second)
        await until(pilot, ready(app))
        app.monitor.open(first)
        await until(pilot, ready(app))
        left_at = server.world.latest_index(first)
        await pilot.press("q")
    assert not app.is_running
    saved = StateStore(state_path)
    assert saved.load() == []
    remembered = saved.server(app.monitor.server_key)
    assert remembered.selected == first
    assert set(remembered.watched) == {first, second}
    assert remembered.cursors[first].received == server.world.message(first, left_at).id
    assert remembered.cursors[first].seen == server.world.message(first, left_at).id

    # The world moves on while the app is closed.
    clock.advance(900, server)
    arrived = server.world.latest_index(first)
    assert arrived - left_at >= 5

    again = make_app(server, state_path, clock)
    async with running(again, (140, 40)) as pilot:
        assert again.monitor.current == first
        assert again.monitor.book.entries[second].watched
        await until(
            pilot,
            lambda: message_ids(again, first)[-1:] == [server.world.message(first, arrived).id],
        )
        entry = again.monitor.book.entries[first]
        items = list(entry.timeline.items)
        markers = [i for i, item in enumerate(items) if isinstance(item, Marker)]
        assert len(markers) == 1
        marker = items[markers[0]]
        assert isinstance(marker, Marker)
        assert marker.label == "new since you left"
        before = [m.id for m in items[: markers[0]] if isinstance(m, Message)]
        after = [m.id for m in items[markers[0] + 1 :] if isinstance(m, Message)]
        assert before[-1] == server.world.message(first, left_at).id
        # Every message sent while away, once, in order, under the marker.
        assert after == world_ids(server, first, left_at + 1, arrived)
        ids = delivered_ids(again, first)
        assert len(ids) == len(set(ids))
        assert ids[-len(after) :] == after


async def test_beyond_the_watch_limit_the_least_recently_viewed_stops(
    server: DemoServer, state_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bimpe_tui.monitor.core as monitor_core

    monkeypatch.setattr(monitor_core, "MAX_WATCHED", 3)
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        order = list(app.order)
        for conversation_id in order[1:4]:
            app.monitor.open(conversation_id)
            await until(pilot, ready(app))
        watched = {e.id for e in app.monitor.book.watched()}
        assert watched == set(order[1:4])
        assert not app.monitor.book.entries[order[0]].watched
        assert order[0] not in app.monitor.saved.watched
        assert app.monitor.last_activity(order[0]) is None
        assert not app.monitor.streams.streaming(order[0])
        assert any("3 streams at most" in n.message for n in app._notifications)


async def test_a_corrupt_state_file_is_set_aside_with_a_visible_warning(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    state_path.write_text("version = 1\n[servers\n")
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)):
        assert any("starting fresh" in n.message for n in app._notifications)
    assert list(state_path.parent.glob("state.toml.corrupt-*"))
    assert StateStore(state_path).load() == []


async def test_a_refused_key_ends_the_app_with_a_message(
    server: DemoServer, state_path: Path, clock: FakeClock, capfd: pytest.CaptureFixture[str]
) -> None:
    from bimpe_tui.app import AppConfig, BimpeApp

    app = BimpeApp(
        AppConfig(
            state=StateStore(state_path),
            api_key="sk_refused_0000000000",
            base_url=server.base_url,
            clock=clock,
        )
    )
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: not app.is_running, limit=15)
    assert app.return_code == 2
    err = capfd.readouterr().err
    assert "API key was refused" in err
    assert "sk_refused_0000000000" not in err
