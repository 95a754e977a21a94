"""Scrollback into history and export from the app: the timeline's window, and the real
app driven by the pilot against the demo server (clock moved by the test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot

from bimpe_tui.api.models import Agent, Conversation, Message
from bimpe_tui.app import BimpeApp
from bimpe_tui.book import Entry, Marker, Older, Timeline
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.history import iter_all_messages
from bimpe_tui.monitor import MonitorEvent, TimelineReplaced
from tests.apptools import FakeClock, make_app, ready, running, strip_texts, until


def world_message(server: DemoServer, conversation_id: str, index: int) -> Message:
    return Message.from_api(server.world.message(conversation_id, index).to_api())


def world_ids(server: DemoServer, conversation_id: str, first: int, last: int) -> list[str]:
    return [server.world.message_id(conversation_id, n) for n in range(first, last + 1)]


def short_conversation(app: BimpeApp, server: DemoServer, low: int, high: int) -> str:
    """A listed conversation of `low` to `high` messages (a few pages of history)."""
    world = server.world
    sizes = {
        cid: world.latest_index(cid) + 1
        for cid in app.monitor.book.entries
        if low <= world.latest_index(cid) + 1 <= high
    }
    assert sizes, "the demo world has no conversation of that size"
    return min(sizes, key=lambda cid: abs(sizes[cid] - (low + high) // 2))


async def open_short(
    pilot: Pilot[Any], server: DemoServer, low: int, high: int
) -> tuple[str, Entry]:
    """Once the app is ready, open a conversation of `low` to `high` messages; its entry."""
    app = pilot.app
    assert isinstance(app, BimpeApp)
    # Chosen from the whole list: callers that did not wait for it yet (running() does).
    await until(pilot, ready(app))
    conv = short_conversation(app, server, low, high)
    await open_and_wait(pilot, app, conv)
    return conv, app.monitor.book.entries[conv]


async def open_and_wait(pilot: Pilot[Any], app: BimpeApp, conv: str) -> None:
    """Open a listed conversation and wait until it is ready."""
    app.monitor.open(conv)
    await until(pilot, ready(app))


def exporting_app(
    server: DemoServer, state_path: Path, clock: FakeClock, export_dir: Path
) -> BimpeApp:
    """The app on the demo server, its exports written to `export_dir`."""
    app = make_app(server, state_path, clock)
    app.config.export_dir = str(export_dir)
    return app


def older_state(entry: Entry) -> str:
    """Where paging back is (a call, so the type checker does not hold it fixed)."""
    return entry.older.state


def ids(entry: Entry) -> list[str]:
    return [m.id for m in entry.timeline.messages()]


def log_text(app: BimpeApp) -> list[str]:
    """Every line the log holds, as text."""
    return [line.rstrip() for line in strip_texts(app.main.log_view.lines.lines)]


def screen_row(app: BimpeApp, line: str) -> int | None:
    """The row of the log's screen a line of text is on (negative: above it), or None."""
    text = log_text(app)
    if line not in text:
        return None
    return text.index(line) - round(app.main.log_view.lines.scroll_y)


# -- the timeline, without a terminal -------------------------------------------------


async def test_prepend_keeps_order_and_skips_what_is_held(server: DemoServer) -> None:
    conv = server.world.conversation_ids()[0][1]
    messages = [world_message(server, conv, n) for n in range(10)]
    timeline = Timeline()
    timeline.add(messages[6:])
    timeline.mark(Marker("info", "a divider"))
    # Overlapping the oldest held, and a repeat inside the batch itself.
    placed = timeline.prepend([*messages[2:7], messages[3]])
    assert [m.id for m in placed] == [m.id for m in messages[2:6]]
    assert [m.id for m in timeline.messages()] == [m.id for m in messages[2:]]
    assert all(m.id in timeline for m in messages[2:])
    assert messages[1].id not in timeline
    assert isinstance(timeline.items[-1], Marker)
    assert timeline.prepend(messages[2:6]) == []
    assert timeline.oldest_message() is messages[2]
    # The newest is still the newest: prepending never moves it.
    assert timeline.last_message is messages[9]


async def test_the_window_lets_go_of_its_newest_end_and_refills(server: DemoServer) -> None:
    conv = server.world.conversation_ids()[0][1]
    messages = [world_message(server, conv, n) for n in range(20)]
    timeline = Timeline(limit=8)
    timeline.add(messages[10:16])
    placed = timeline.prepend(messages[5:10])
    assert len(placed) == 5
    # Bounded: eight items, the oldest ones, and the newest let go of.
    assert [m.id for m in timeline.messages()] == [m.id for m in messages[5:13]]
    assert timeline.detached
    assert messages[13].id not in timeline
    # Arrivals meanwhile are counted as the newest, not kept in the moved window.
    assert timeline.add([messages[16]]) == [messages[16]]
    assert timeline.last_message is messages[16]
    assert len(timeline) == 8
    # Back at the end: the newest page (newest first, as listed) replaces the window.
    timeline.refill(list(reversed(messages[12:17])))
    assert not timeline.detached
    assert [m.id for m in timeline.messages()] == [m.id for m in messages[12:17]]
    assert timeline.add([messages[17]]) == [messages[17]]


async def test_a_refill_keeps_every_arrival_the_page_was_listed_before(
    server: DemoServer,
) -> None:
    conv = server.world.conversation_ids()[0][1]
    messages = [world_message(server, conv, n) for n in range(20)]
    timeline = Timeline(limit=8)
    timeline.add(messages[10:16])
    timeline.prepend(messages[5:10])
    assert timeline.detached
    # Three arrive while detached; the newest page was listed after the first only.
    timeline.add(messages[16:19])
    timeline.refill(list(reversed(messages[12:17])))
    # Every message after the page's newest follows it: none lost, none twice.
    assert [m.id for m in timeline.messages()] == [m.id for m in messages[12:19]]
    # A page listed before any of them: all three follow it.
    timeline.prepend(messages[0:5])
    assert timeline.detached
    timeline.add(messages[19:20])
    timeline.refill(list(reversed(messages[14:19])))
    assert [m.id for m in timeline.messages()][-6:] == [m.id for m in messages[14:20]]


async def test_arrivals_that_push_out_the_first_message_take_the_start_line_away(
    server: DemoServer,
) -> None:
    conv = server.world.conversation_ids()[0][1]
    messages = [world_message(server, conv, n) for n in range(8)]
    entry = Entry(
        Agent.from_api({"id": "ag_1", "name": "A", "created_at": "", "updated_at": ""}),
        Conversation.from_api({"id": conv, "created_at": "", "updated_at": ""}),
        timeline=Timeline(limit=5),
    )
    entry.timeline.add(messages[:5])
    entry.older = Older("start", first=messages[0].id)
    entry.forget_start()
    assert entry.shown()[0] == Marker("info", "the first message of this conversation")
    # The window is full: the next arrival lets the first message go.
    entry.timeline.add(messages[5:6])
    entry.forget_start()
    assert entry.older.state == "idle"
    assert entry.shown()[0] is messages[1]


# -- the app -----------------------------------------------------------------------------


async def scroll_to_top_and_load(pilot: Pilot[Any], entry: Entry) -> None:
    """Press home (at the top: ask for the next older page) and wait for it to land."""
    before = len(entry.timeline.messages())
    await pilot.press("home")
    await until(
        pilot,
        lambda: (
            entry.older.state != "loading"
            and (len(entry.timeline.messages()) > before or entry.older.state != "idle")
        ),
    )


async def test_scrolling_up_reaches_the_first_message_nothing_twice_or_missing(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        conv, entry = await open_short(pilot, server, 200, 450)
        latest = server.world.latest_index(conv)
        assert ids(entry) == world_ids(server, conv, latest - 49, latest)
        app.main.action_show_pane("log")
        await pilot.press("end")
        first_shown = log_text(app)[0]
        await scroll_to_top_and_load(pilot, entry)
        assert len(ids(entry)) > 50
        # A page came on top, and the reader's place held: the line they had at the top
        # stays on its row (under where the "loading older messages…" line was).
        await until(pilot, lambda: screen_row(app, first_shown) == 1)
        rounds = 1
        while entry.older.state != "start":
            assert entry.older.state == "idle", entry.older
            # Messages keep arriving while the reader pages back.
            clock.advance(30, server)
            await scroll_to_top_and_load(pilot, entry)
            rounds += 1
            assert rounds < 20
        await until(
            pilot,
            lambda: (
                ids(entry)[-1] == server.world.message_id(conv, server.world.latest_index(conv))
            ),
        )
        newest = server.world.latest_index(conv)
        # Every message from the first, in order, each once: as the server lists them.
        assert app.monitor.client is not None
        listed = [
            m.id
            async for batch, _ in iter_all_messages(app.monitor.client, entry.agent.id, conv)
            for m in batch
        ]
        assert ids(entry) == listed
        assert ids(entry) == world_ids(server, conv, 0, newest)
        # The top of the log says so, above the first message.
        await pilot.press("home")
        await until(pilot, lambda: "the first message of this conversation" in log_text(app)[0])
        assert (world_message(server, conv, 0).message or "").split()[0] in "\n".join(
            log_text(app)[1:4]
        )
        # At the start, reaching the top again asks the server nothing more.
        assert not app.monitor.load_older(conv)


async def test_a_failed_page_is_shown_in_place_and_retried_with_r(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        conv, entry = await open_short(pilot, server, 200, 450)
        held = ids(entry)
        app.main.action_show_pane("log")
        # The client tries three times (two retries): three 503s make the page fail.
        server.faults.inject("history_503", 3)
        # What the log's top line was each time the monitor redrew it.
        drawn: list[str] = []
        render = app.main.render_event

        def recording(event: MonitorEvent) -> None:
            render(event)
            if isinstance(event, TimelineReplaced):
                drawn.append(log_text(app)[0])

        app.main.render_event = recording  # type: ignore[method-assign]
        await pilot.press("home")
        await until(pilot, lambda: entry.older.state == "failed")
        # First the loading line at the top, then the failure in its place.
        assert len(drawn) == 2
        assert "── loading older messages… ──" in drawn[0]
        assert "could not load older messages" in drawn[1]
        assert server.faults.injected["history_503"] == 3
        assert ids(entry) == held
        await until(
            pilot,
            lambda: (
                "could not load older messages" in "".join(log_text(app)[:3])
                and "press r to retry" in "".join(log_text(app)[:3])
            ),
        )
        await pilot.press("r")
        await until(pilot, lambda: entry.older.state in ("idle", "start"))
        placed = ids(entry)
        assert placed[-len(held) :] == held
        first = server.world.parse_message_id(placed[0])
        assert first is not None
        assert placed == world_ids(server, conv, first[1], first[1] + len(placed) - 1)
        assert "could not load" not in "".join(log_text(app))


async def test_back_at_the_end_of_a_moved_window_the_newest_return(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        conv, entry = await open_short(pilot, server, 300, 600)
        entry.timeline.limit = 120  # a small window, so paging back moves it
        app.main.action_show_pane("log")
        await scroll_to_top_and_load(pilot, entry)
        await scroll_to_top_and_load(pilot, entry)
        assert entry.timeline.detached
        assert len(entry.timeline) <= 120
        clock.advance(60, server)
        newest = server.world.latest_index(conv)
        await until(
            pilot,
            lambda: (
                entry.timeline.last_message is not None
                and entry.timeline.last_message.id == server.world.message_id(conv, newest)
            ),
        )
        await pilot.press("end")
        await until(pilot, lambda: not entry.timeline.detached)
        held = ids(entry)
        assert held[-1] == server.world.message_id(conv, newest)
        assert held == world_ids(server, conv, newest - len(held) + 1, newest)


# -- export ------------------------------------------------------------------------------


async def test_export_the_loaded_messages_to_markdown_with_the_key(
    server: DemoServer, state_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    app = exporting_app(server, state_path, clock, tmp_path / "exports")
    async with running(app, (140, 40)) as pilot:
        _, entry = await open_short(pilot, server, 200, 450)
        await pilot.press("e")
        await until(pilot, lambda: app.screen is not app.main)
        await pilot.press("enter")  # the first choice: loaded, Markdown
        await until(pilot, lambda: app.main.last_export is not None)
        path = Path(str(app.main.last_export))
        assert path.parent == tmp_path / "exports"
        assert path.suffix == ".md"
        text = path.read_text(encoding="utf-8")
        assert "messages loaded in the app" in text
        headings = [line for line in text.splitlines() if line.startswith("### ")]
        assert len(headings) == len(ids(entry)) == 50
        for heading, message_id in zip(headings, ids(entry), strict=True):
            assert heading.endswith(f"`{message_id}`")
        assert server.api_key not in text
        assert any(str(path) in str(n.message) for n in app._notifications)


async def test_export_everything_to_json_lines_from_the_palette_command(
    server: DemoServer, state_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    app = exporting_app(server, state_path, clock, tmp_path)
    async with running(app, (140, 40)) as pilot:
        conv = short_conversation(app, server, 1000, 3000)
        await open_and_wait(pilot, app, conv)
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in (
            "Export conversation (loaded) to Markdown",
            "Export conversation (loaded) to JSON Lines",
            "Export conversation (all, fetching pages) to Markdown",
        ):
            assert title in titles
        titles["Export conversation (all, fetching pages) to JSON Lines"].callback()
        await until(pilot, lambda: app.main.last_export is not None)
        path = Path(str(app.main.last_export))
        assert path.suffix == ".jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        latest = server.world.latest_index(conv)
        assert [row["id"] for row in rows] == world_ids(server, conv, 0, latest)
        assert rows[0] == server.world.message(conv, 0).to_api()
        assert app.main.log_view.border_subtitle == ""
        assert server.api_key not in path.read_text(encoding="utf-8")


# -- the monitor, without a terminal ------------------------------------------------------


async def test_the_monitor_pages_back_says_where_it_is_and_retries(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    from tests.core.test_monitor import Harness

    h = Harness(server, state_path, clock)
    await h.monitor.start()
    try:
        await h.until(h.live(h.monitor.current))
        conv = min(
            h.monitor.book.entries,
            key=lambda c: abs(server.world.latest_index(c) - 250),
        )
        h.monitor.open(conv)
        await h.until(h.live(conv))
        entry = h.monitor.book.entries[conv]
        assert entry.older.marker() is None
        # Failing: three 503s (the client retries twice), shown at the top, then retried.
        held = len(ids(entry))
        server.faults.inject("history_503", 3)
        h.events.clear()
        assert h.monitor.load_older(conv)
        assert entry.older.state == "loading"
        assert entry.shown()[0] == Marker("info", "loading older messages…")
        assert not h.monitor.load_older(conv)  # one page at a time
        await h.until(lambda: entry.older.state == "failed")
        top = entry.shown()[0]
        assert isinstance(top, Marker)
        assert top.label.startswith("could not load older messages: ")
        assert top.label.endswith(" — press r to retry")
        assert "503" in top.label
        h.monitor.retry()  # r
        assert entry.older.state == "loading"
        await h.until(lambda: entry.older.state != "loading")
        replaced = [e for e in h.events if isinstance(e, TimelineReplaced)]
        placed = len(ids(entry)) - held
        assert placed > 0
        assert replaced[-1] == TimelineReplaced(conv, keep_place=True, above=placed)
        while older_state(entry) != "start":
            assert h.monitor.load_older(conv)
            await h.until(lambda: entry.older.state != "loading")
        newest = server.world.latest_index(conv)
        assert ids(entry) == world_ids(server, conv, 0, newest)
        assert entry.shown()[0] == Marker("info", "the first message of this conversation")
        assert not h.monitor.load_older(conv)
    finally:
        await h.monitor.close()


@pytest.mark.long(16)
async def test_a_long_export_shows_its_progress_and_keeps_the_app_drawing(
    server: DemoServer, state_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    app = exporting_app(server, state_path, clock, tmp_path)
    async with running(app, (140, 40)) as pilot:
        long = server.world.long_conversation()
        assert long is not None
        agent, conv = long
        await app.monitor.fetch_missing(agent, conv, open_it=True)
        await until(pilot, ready(app))
        assert app.monitor.current == conv
        app.main.export_open("md", everything=True)
        # The progress line under the log moves while pages come (the UI loop is free).
        await until(pilot, lambda: " of " in str(app.main.log_view.border_subtitle))
        await until(pilot, lambda: app.main.last_export is not None, limit=120)
        assert app.main.log_view.border_subtitle == ""
        text = Path(str(app.main.last_export)).read_text(encoding="utf-8")
        headings = [line for line in text.splitlines() if line.startswith("### ")]
        assert len(headings) > 100_000
        assert headings[0].endswith(f"`{server.world.message_id(conv, 0)}`")
        assert headings[-1].endswith(f"`{server.world.message_id(conv, len(headings) - 1)}`")
        assert "- holds: all messages" in text


async def test_the_wheel_up_at_the_top_asks_for_the_older_page(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 40)) as pilot:
        _, entry = await open_short(pilot, server, 200, 450)
        lines = app.main.log_view.lines
        # Put at the top by the app, not the reader: nothing is asked yet. (Not
        # following first: a following view stays at the newest line.)
        app.main.log_view._set_following(False)
        lines.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert entry.older.state == "idle"
        assert len(ids(entry)) == 50
        # The wheel, as the terminal reports it over the log (the pilot has no wheel).
        await pilot._post_mouse_events([events.MouseScrollUp], lines, offset=(5, 5))
        await until(pilot, lambda: len(ids(entry)) > 50 and entry.older.state != "loading")
