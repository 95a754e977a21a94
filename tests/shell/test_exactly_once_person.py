"""Exactly once where a person acts: what is sent, and what the log shows.

Each test drives the real app (the pilot) against the demo server over real
sockets, and checks against the server's own records. Keys that arrive in
one terminal read are posted to the app together (`same_read`): the pilot's
`press` waits for the app between keys, which a terminal does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button

from bimpe_tui.api.models import Message
from bimpe_tui.app import BimpeApp
from bimpe_tui.book import Entry, Pending
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import MonitorEvent
from bimpe_tui.screens.confirm import ConfirmScreen
from bimpe_tui.screens.main import Pane
from bimpe_tui.widgets.compose import ComposeBox
from tests.apptools import (
    FakeClock,
    app_for,
    choose,
    delivered_ids,
    make_app,
    open_entry,
    real_server_app,
    running,
    taken_over_in,
    until,
)

SIZE = (140, 40)


def view_ids(app: BimpeApp) -> list[str]:
    """The message ids the log's view holds, as drawn (repeats included)."""
    return [item.id for item in app.main.log_view.lines.items if isinstance(item, Message)]


def repeated(ids: list[str]) -> list[str]:
    return [i for i, n in Counter(ids).items() if n > 1]


def repeats_drawn(app: BimpeApp, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The ids the log's view held twice, checked after every monitor event it drew.

    Not only at the end: a later full redraw (a live image's details, say) rebuilds
    the view from the timeline and hides a repeat a person saw meanwhile.
    """
    found: list[list[str]] = []
    render = app.main.render_event

    def drawn(event: MonitorEvent) -> None:
        render(event)
        if twice := repeated(view_ids(app)):
            found.append(twice)

    monkeypatch.setattr(app.main, "render_event", drawn)
    return found


def pending(entry: Entry) -> list[Pending]:
    return [i for i in entry.timeline.items if isinstance(i, Pending)]


def same_read(app: BimpeApp, *keys: str) -> None:
    """Keys as one terminal read delivers them: queued together, before any is handled."""
    for key in keys:
        app.post_message(events.Key(key, None))


def dialogs(app: BimpeApp) -> int:
    return sum(1 for screen in app.screen_stack if isinstance(screen, ConfirmScreen))


@asynccontextmanager
async def taken_over(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[BimpeApp, Pilot[Any], Entry]]:
    """The app on the demo server, its open conversation taken over: (app, pilot, entry)."""
    app = make_app(server, state_path, clock)
    async with taken_over_in(app, SIZE, notifications=True) as (pilot, entry):
        yield app, pilot, entry


async def test_a_refused_send_then_a_new_message_shows_it_once(
    server: DemoServer, state_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sequence a new user met: a send the server refuses, escape, hand back,
    # and the next message to arrive was drawn twice.
    async with taken_over(server, state_path, clock) as (app, pilot, entry):
        drawn_twice = repeats_drawn(app, monkeypatch)
        await pilot.press("c")
        app.main.compose_box.text = "x" * 5000
        await pilot.press("enter")
        await until(pilot, lambda: not pending(entry) and not app.main.compose_box.busy)
        await pilot.press("escape")
        count = len(entry.timeline.messages())
        clock.advance(300, server)
        await until(pilot, lambda: len(entry.timeline.messages()) > count)
        await pilot.pause()
        assert drawn_twice == []
        assert repeated(view_ids(app)) == []
        assert view_ids(app) == [m.id for m in entry.timeline.messages()]


async def test_a_double_enter_with_the_confirmation_sends_once(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    # A server in its own right (not the demo): the first send of a run asks.
    app = real_server_app(server, state_path, clock)
    async with taken_over_in(app, SIZE) as (pilot, entry):
        await pilot.press("c", *"dup-check-1")
        same_read(app, "enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
        # One dialog, and the second enter chose nothing in it.
        assert dialogs(app) == 1
        assert server.actions.sent_count(entry.id) == 0
        await choose(pilot, "send")
        await until(pilot, lambda: server.actions.sent_count(entry.id) == 1)
        await until(pilot, lambda: not pending(entry) and not app.main.compose_box.busy)
        # The next text is its own message: nothing left over swallows it.
        await pilot.press(*"dup-check-2", "enter")
        await until(pilot, lambda: server.actions.sent_count(entry.id) == 2)
        await until(pilot, lambda: not pending(entry))
        assert server.actions.sent_texts(entry.id) == ["dup-check-1", "dup-check-2"]
        assert dialogs(app) == 0
        texts = [m.message for m in entry.timeline.messages()]
        assert texts.count("dup-check-1") == 1
        assert texts.count("dup-check-2") == 1


async def test_the_question_ignores_keys_read_before_it_was_shown(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    # A busy app reads keys before it draws the question they end up under: a tab
    # and an enter read before "Send to a customer?" was shown (typed for the box
    # below) must not move to "Send" and take it.
    app = real_server_app(server, state_path, clock)
    async with taken_over_in(app, SIZE) as (pilot, entry):
        await pilot.press("c", *"early")
        read_before = [events.Key("tab", "\t"), events.Key("enter", "\r")]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        for key in read_before:
            app.post_message(key)
        await pilot.pause()
        await pilot.pause()
        assert dialogs(app) == 1
        assert server.actions.sent_count(entry.id) == 0
        # Keys read after it was shown answer it.
        await choose(pilot, "send")
        await until(pilot, lambda: server.actions.sent_count(entry.id) == 1)
        assert server.actions.sent_texts(entry.id) == ["early"]


async def test_enters_in_one_read_send_one_message_and_leave_no_placeholder(
    server: DemoServer, state_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with taken_over(server, state_path, clock) as (app, pilot, entry):
        drawn_twice = repeats_drawn(app, monkeypatch)
        await pilot.press("c", *"triple")
        same_read(app, "enter", "enter", "enter")
        await until(pilot, lambda: server.actions.sent_count(entry.id) >= 1)
        # The POST's answer replaced the "sending…" item: none waits on the stream.
        await until(pilot, lambda: not pending(entry) and not app.main.compose_box.busy)
        assert server.actions.sent_texts(entry.id) == ["triple"]
        shown = [m for m in entry.timeline.messages() if m.message == "triple"]
        assert len(shown) == 1
        assert shown[0].id in entry.timeline.mine
        # The stream's copy comes later and is not drawn again.
        clock.advance(30, server)
        await until(pilot, lambda: shown[0].id in delivered_ids(app, entry.id))
        await pilot.pause()
        assert drawn_twice == []
        assert repeated(view_ids(app)) == []
        assert [m.message for m in entry.timeline.messages()].count("triple") == 1


async def test_while_a_send_is_on_its_way_enter_waits(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    async with taken_over(server, state_path, clock) as (app, pilot, entry):
        await pilot.press("c", *"first")
        box = app.main.compose_box
        # Typed, and enter, while the first is still in flight (the box is busy).
        same_read(app, "enter", "s", "e", "c", "o", "n", "d", "enter")
        await until(pilot, lambda: server.actions.sent_count(entry.id) >= 1 and not box.busy)
        assert server.actions.sent_texts(entry.id) == ["first"]
        assert box.text == "second"  # kept, to be sent with the next enter
        await pilot.press("enter")
        await until(pilot, lambda: server.actions.sent_count(entry.id) == 2)
        assert server.actions.sent_texts(entry.id) == ["first", "second"]


async def test_an_empty_reply_says_nothing_to_send(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    async with taken_over(server, state_path, clock) as (app, pilot, entry):
        await pilot.press("c", "space", "enter")
        await until(pilot, lambda: any("nothing to send" in n.message for n in app._notifications))
        assert server.actions.sent_count(entry.id) == 0
        assert not app.main.compose_box.busy


async def test_the_reply_box_counts_against_the_limit(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    async with taken_over(server, state_path, clock) as (app, pilot, entry):
        await pilot.press("c", *"hello")
        box = app.main.compose_box
        assert str(box.border_subtitle).startswith("5/4,096")
        # While a send is asked or on its way, the box says so and takes no enter.
        box.busy = True
        await pilot.pause()
        assert box.border_subtitle == "sending…"
        await pilot.press("enter")
        await pilot.pause()
        assert server.actions.sent_count(entry.id) == 0
        box.busy = False
        await pilot.pause()
        assert str(box.border_subtitle).startswith("5/4,096")
        box.text = "y" * 4097
        await pilot.pause()
        assert "4,097/4,096" in str(box.border_subtitle)
        assert box.has_class("-too-long")


async def test_one_dialog_at_a_time_and_stray_keys_choose_nothing(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, SIZE) as pilot:
        entry = open_entry(app)
        app.main.log_view.lines.focus()
        # What a person typed into the log thinking it a search box: `c` asks,
        # and nothing after it (letters, enter, a second `t`) answers.
        same_read(app, *"@cust", "t", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"refund", "enter", "t", "b")
        await pilot.pause()
        assert dialogs(app) == 1
        assert not entry.conversation.is_ai_chat_paused
        assert server.actions.touched(entry.id) is False
        await pilot.press("escape")
        await until(pilot, lambda: dialogs(app) == 0)
        # `t` alone asks before pausing the AI; the question names the customer.
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert entry.conversation.who in screen.question
        await pilot.press("enter")
        await pilot.pause()
        assert not entry.conversation.is_ai_chat_paused
        await choose(pilot, "take-over")
        await until(pilot, lambda: entry.yours)


@pytest.mark.parametrize("size", [SIZE, (60, 20)], ids=["side by side", "one pane"])
async def test_escape_with_nothing_to_close_keeps_the_focus(
    server: DemoServer, state_path: Path, clock: FakeClock, size: tuple[int, int]
) -> None:
    # In the log (it went to the list, where letters act on a customer), and in
    # the list; in a narrow terminal the pane shown stays too.
    app = make_app(server, state_path, clock)
    async with running(app, size) as pilot:
        open_entry(app)
        main = app.main
        panes: list[tuple[Pane, Widget]] = [
            ("log", main.log_view.lines),
            ("list", main.picker.options),
        ]
        for pane, widget in panes:
            main.action_show_pane(pane)
            await pilot.pause()
            await pilot.press("escape", "escape")
            await pilot.pause()
            assert app.focused is widget
            assert main.pane == pane


async def test_read_only_says_why_t_and_c_do_nothing(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = app_for(server, state_path, clock, read_only=True)
    async with running(app, SIZE, notifications=True) as pilot:
        entry = open_entry(app)
        for key in ("t", "c", "b"):
            app.clear_notifications()
            await pilot.press(key)
            await until(pilot, lambda: any("read-only" in n.message for n in app._notifications))
        assert not isinstance(app.screen, ConfirmScreen)
        assert not isinstance(app.focused, ComposeBox)
        assert server.actions.touched(entry.id) is False


async def test_a_failed_send_sent_again_unchanged_is_one_message(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    # Stored by the server, every answer lost: the app says "not sent". Sent
    # again unchanged, it goes with the same key: still one message. Edited,
    # it is a new message with a new key.
    async with taken_over(server, state_path, clock) as (app, pilot, entry):
        box = app.main.compose_box
        server.faults.inject("send_lost", 3)
        await pilot.press("c", *"once", "enter")
        await until(pilot, lambda: any("not sent" in n.message for n in app._notifications))
        await until(pilot, lambda: box.text == "once" and not box.busy)
        assert server.actions.sent_texts(entry.id) == ["once"]
        await pilot.press("enter")
        await until(pilot, lambda: not box.busy and box.text == "" and not pending(entry))
        assert server.actions.sent_texts(entry.id) == ["once"]
        await pilot.press(*"once more", "enter")
        await until(pilot, lambda: server.actions.sent_count(entry.id) == 2)
        assert server.actions.sent_texts(entry.id) == ["once", "once more"]


async def test_a_question_mounted_as_the_app_closes_raises_nothing() -> None:
    # Found by the walk (seed 2, the stream lagging): killed while a question opened,
    # the dialog's mount ran after its buttons had gone, and looking one up raised
    # NoMatches as the app's own error. The default choice is kept from compose.
    class One(App[None]):
        pass

    app = One()
    async with app.run_test() as pilot:
        screen = ConfirmScreen("Go?", "Really?", [("yes", "Yes"), ("no", "No")])
        await app.push_screen(screen)
        await pilot.pause()
        assert app.focused is not None
        assert app.focused.id == "yes"
        assert screen.query_one("#confirm-body").border_title == "Go?"
        for button in list(screen.query(Button)):
            await button.remove()
        screen.on_mount()  # as when its Mount is handled after the app began closing
