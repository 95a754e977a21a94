"""Take over, reply, hand back, driven by the pilot against the demo server."""

from __future__ import annotations

from pathlib import Path

from bimpe_tui.api.models import Message
from bimpe_tui.app import BimpeApp
from bimpe_tui.book import Entry, Pending
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.screens.confirm import ConfirmScreen
from bimpe_tui.widgets.compose import ComposeBox
from tests.apptools import (
    FakeClock,
    app_for,
    choose,
    delivered_ids,
    hand_back,
    make_app,
    open_entry,
    real_server_app,
    running,
    take_over,
    taken_over_in,
    until,
)

SIZE = (140, 40)


def mine(entry: Entry) -> list[Message]:
    return [
        i for i in entry.timeline.items if isinstance(i, Message) and i.id in entry.timeline.mine
    ]


def pending(entry: Entry) -> list[Pending]:
    return [i for i in entry.timeline.items if isinstance(i, Pending)]


def notified(app: BimpeApp, words: str) -> bool:
    return any(words in n.message for n in app._notifications)


async def test_take_over_reply_twice_hand_back_and_the_ai_answers_again(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    # No refresh of the list: what the list shows after acting comes from acting.
    app = app_for(server, state_path, clock, refresh_interval=0)
    async with running(app, SIZE) as pilot:
        entry = open_entry(app)
        assert entry.conversation.needs_attention
        assert not entry.conversation.is_ai_chat_paused
        await take_over(pilot)
        assert entry.conversation.is_ai_chat_paused
        assert "you have it" in str(app.main.log_view.border_title)
        await pilot.press("c")
        box = app.main.compose_box
        assert app.focused is box
        await pilot.press(*"Hello, a person here")
        await pilot.press("enter")
        await until(pilot, lambda: len(mine(entry)) == 1 and not pending(entry))
        assert box.text == ""
        # A person answered: the server settles the flag, and the list shows it.
        await until(pilot, lambda: not entry.conversation.needs_attention)
        await pilot.press(*"line one", "ctrl+j", *"line two", "enter")
        await until(pilot, lambda: len(mine(entry)) == 2 and not pending(entry))
        first, second = mine(entry)
        assert first.message == "Hello, a person here"
        assert second.message == "line one\nline two"
        # Each shown once, delivered once by the stream.
        ids = delivered_ids(app, entry.id)
        assert ids.count(first.id) == 1
        assert ids.count(second.id) == 1
        assert server.actions.sent_count(entry.id) == 2
        # Drawn as "you".
        lines = "\n".join(s.text for s in app.main.log_view.lines.lines)
        assert "you line one" in " ".join(lines.split())
        await pilot.press("escape")
        assert not box.has_class("-open")
        await hand_back(pilot)
        assert "you have it" not in str(app.main.log_view.border_title)
        count = len(entry.timeline.items)
        clock.advance(300, server)
        await until(
            pilot,
            lambda: any(
                isinstance(i, Message) and i.role == "assistant"
                for i in list(entry.timeline.items)[count:]
            ),
        )


async def test_reply_on_an_ai_run_conversation_asks_to_take_over_first(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, SIZE) as pilot:
        entry = open_entry(app)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("enter")  # nothing chosen yet: a stray enter does nothing
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert not entry.conversation.is_ai_chat_paused
        await choose(pilot, "take-over")
        await until(pilot, lambda: isinstance(app.focused, ComposeBox))
        assert entry.conversation.is_ai_chat_paused
        assert entry.yours


async def test_a_failed_send_keeps_the_draft_and_says_why(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with taken_over_in(app, SIZE, notifications=True) as (pilot, entry):
        await pilot.press("c")
        box = app.main.compose_box
        too_long = "x" * 5000
        box.text = too_long
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, "not sent"))
        assert notified(app, "message: must be at most 4096 characters")
        await until(pilot, lambda: box.text == too_long and not pending(entry))
        assert server.actions.sent_count(entry.id) == 0
        # Escape keeps the draft; opening the box again brings it back.
        await pilot.press("escape")
        assert app.main.operator.draft(entry.id).text == too_long
        box.text = ""
        await pilot.press("c")
        assert box.text == too_long


async def test_a_lost_answer_is_retried_with_one_key_and_shows_once(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with taken_over_in(app, SIZE) as (pilot, entry):
        server.faults.inject("send_lost")
        await pilot.press("c", *"only once", "enter")
        await until(pilot, lambda: len(mine(entry)) == 1 and not pending(entry))
        assert server.faults.injected["send_lost"] == 1
        assert server.actions.sent_count(entry.id) == 1
        texts = [i.message for i in entry.timeline.items if isinstance(i, Message)]
        assert texts.count("only once") == 1


async def test_the_first_send_to_a_real_server_names_customer_and_channel(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = real_server_app(server, state_path, clock)
    async with taken_over_in(app, SIZE) as (pilot, entry):
        await pilot.press("c", *"hi", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        who = entry.conversation.who
        assert who in screen.question
        assert entry.conversation.channel_type.removeprefix("test_") in screen.question
        assert server.api_key not in screen.question
        await pilot.press("escape")  # cancelled: nothing sent, the text stays
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert server.actions.sent_count(entry.id) == 0
        assert app.main.compose_box.text == "hi"
        await pilot.press("enter")
        await choose(pilot, "send")
        await until(pilot, lambda: len(mine(entry)) == 1)
        # Asked once per run.
        await pilot.press(*"again", "enter")
        await until(pilot, lambda: len(mine(entry)) == 2)


async def test_read_only_hides_every_action(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = app_for(server, state_path, clock, read_only=True)
    async with running(app, SIZE) as pilot:
        entry = open_entry(app)
        await pilot.press("t", "c")
        await pilot.pause()
        assert not entry.conversation.is_ai_chat_paused
        assert not isinstance(app.screen, ConfirmScreen)
        assert not app.main.compose_box.has_class("-open")
        rows = [row for _, found in app.binding_sections() for row in found]
        assert not any(description.startswith(("Take over", "Reply")) for _, description in rows)
        commands = [c.title for c in app.get_system_commands(app.main)]
        assert "Take over" not in commands
        assert server.actions.touched(entry.id) is False


async def test_a_key_that_can_only_read_turns_actions_off(
    clock: FakeClock, state_path: Path
) -> None:
    async with DemoServer(clock=clock, writes_allowed=False, heartbeat_interval=0.5) as server:
        app = make_app(server, state_path, clock)
        async with running(app, SIZE, notifications=True) as pilot:
            await pilot.press("t")
            await choose(pilot, "take-over")
            await until(pilot, lambda: notified(app, "this key can only read"))
            assert not app.operator.can_act
            await pilot.press("c")
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
            assert not app.main.compose_box.has_class("-open")
            assert not any(server.api_key in n.message for n in app._notifications)


async def test_ctrl_f_in_the_reply_box_keeps_the_keys_on_the_draft(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = app_for(server, state_path, clock, refresh_interval=0)
    async with taken_over_in(app, SIZE) as (pilot, _):
        await pilot.press("c")
        box = app.main.compose_box
        assert app.focused is box
        await pilot.press(*"draft", "ctrl+f", *" goes on")
        assert app.focused is box
        assert box.text == "draft goes on"
        assert not app.main.log_view.searching
        # Out of the box, ctrl+f searches as ever.
        await pilot.press("escape")
        app.main.log_view.lines.focus()
        await pilot.press("ctrl+f")
        assert app.main.log_view.query("#search-bar")
