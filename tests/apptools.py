"""Helpers to drive the real app against a demo server with a clock the test moves."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.book import Entry
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import MonitorEvent
from bimpe_tui.screens.confirm import ConfirmScreen
from bimpe_tui.state import StateStore
from tests.loopback import LoopbackServer

#: 2026-11-20 09:00:00 UTC: a fixed start for the demo world's clock.
START = 1_795_165_200.0


class FakeClock:
    """Wall-clock time that moves only when the test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float, server: DemoServer | None = None) -> None:
        self.now += seconds
        if server is not None:
            server.wake()


def make_app(
    server: DemoServer,
    state_path: Path,
    clock: Callable[[], float],
    **stream_options: Any,
) -> BimpeApp:
    options: dict[str, Any] = {"base_delay": 0.05, "read_timeout": 10.0}
    options.update(stream_options)
    return BimpeApp(
        AppConfig(
            state=StateStore(state_path, debounce=0.05),
            demo=server,
            stream_options=options,
            tz=UTC,
            clock=clock,
            record=io.StringIO(),
        )
    )


def app_for(
    server: DemoServer, state_path: Path, clock: Callable[[], float], **config: object
) -> BimpeApp:
    """The app with AppConfig options (read_only, or a demo server seen as a real one)."""
    options: dict[str, object] = {
        "state": StateStore(state_path, debounce=0.05),
        "demo": server,
        "stream_options": {"base_delay": 0.05, "read_timeout": 10.0},
        "tz": UTC,
        "clock": clock,
        "record": io.StringIO(),
    }
    options.update(config)
    return BimpeApp(AppConfig(**options))  # type: ignore[arg-type]


def real_server_app(server: DemoServer, state_path: Path, clock: Callable[[], float]) -> BimpeApp:
    """The demo server seen as a real one: the app has its key and URL and no demo, so
    what a real server's first send asks (a confirmation) is asked."""
    return app_for(
        server, state_path, clock, demo=None, api_key=server.api_key, base_url=server.base_url
    )


def open_entry(app: BimpeApp) -> Entry:
    """The book's entry of the conversation the app has open."""
    current = app.monitor.current
    assert current is not None
    return app.monitor.book.entries[current]


def record_events(app: BimpeApp) -> list[MonitorEvent]:
    """Every event the monitor emits from now on (routed to the app as before)."""
    events: list[MonitorEvent] = []
    route = app.monitor.emit

    def both(event: MonitorEvent) -> None:
        events.append(event)
        route(event)

    app.monitor.emit = both
    return events


def delivered_ids(app: BimpeApp, conversation_id: str) -> list[str]:
    """Ids of a conversation as they left history and the stream, before the timeline
    drops repeats (from the app's record): where a duplicate would show."""
    record = app.config.record
    assert isinstance(record, io.StringIO)
    rows = (json.loads(line) for line in record.getvalue().splitlines())
    return [row["id"] for row in rows if row["c"] == conversation_id]


async def until(pilot: Pilot[Any], predicate: Callable[[], bool], limit: float = 15.0) -> None:
    """Wait until `predicate()` holds, re-checking after each update of the app."""
    app = pilot.app
    assert isinstance(app, BimpeApp)
    async with asyncio.timeout(limit):
        while True:
            await pilot.pause()
            if predicate():
                return
            app.updated.clear()
            # The picker and footer redraw on a timer, so re-check at least
            # that often even when no stream event comes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(app.updated.wait(), 0.25)


@contextlib.asynccontextmanager
async def running(
    app: BimpeApp, size: tuple[int, int], **run_options: Any
) -> AsyncIterator[Pilot[Any]]:
    """`app` run headless at `size` (other `run_test` options besides), once it is
    `ready`: the pilot."""
    async with app.run_test(size=size, **run_options) as pilot:
        await until(pilot, ready(app))
        yield pilot


@contextlib.asynccontextmanager
async def taken_over_in(
    app: BimpeApp, size: tuple[int, int], **run_options: Any
) -> AsyncIterator[tuple[Pilot[Any], Entry]]:
    """`app` running and ready, its open conversation taken over: (pilot, entry)."""
    async with running(app, size, **run_options) as pilot:
        entry = open_entry(app)
        await take_over(pilot)
        yield pilot, entry


async def choose(pilot: Pilot[Any], choice_id: str) -> None:
    """Answer the dialog that is up as a person does: tab to `choice_id`, then enter
    (a customer-facing dialog opens with nothing chosen; see ConfirmScreen)."""
    app = pilot.app
    await until(
        pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown_at is not None
    )
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    ids = [choice for choice, _ in screen.choices]
    steps = ids.index(choice_id) + (1 if screen.deliberate else 0)
    await pilot.press(*["tab"] * steps, "enter")
    await until(pilot, lambda: app.screen is not screen)


async def take_over(pilot: Pilot[Any]) -> None:
    """`t` on the open conversation, confirmed; returns once the server said so."""
    app = pilot.app
    assert isinstance(app, BimpeApp)
    await pilot.press("t")
    await choose(pilot, "take-over")
    entry = app.monitor.book.entries[app.monitor.current or ""]
    await until(pilot, lambda: entry.yours)


async def hand_back(pilot: Pilot[Any]) -> None:
    """`b` on the open conversation, confirmed; returns once the server said so."""
    app = pilot.app
    assert isinstance(app, BimpeApp)
    await pilot.press("b")
    await choose(pilot, "hand-back")
    entry = app.monitor.book.entries[app.monitor.current or ""]
    await until(pilot, lambda: not entry.conversation.is_ai_chat_paused)


def ready(app: BimpeApp) -> Callable[[], bool]:
    """The app listed the conversations, knows their waits and its open one is live."""

    def check() -> bool:
        entry = app.monitor.reading.open_entry()
        return (
            app.monitor.ready
            and app.monitor.waiting.idle
            and not app.redraw_pending
            and entry is not None
            and entry.live
        )

    return check


def hostile_app(server: LoopbackServer, state_path: Path, **stream_options: Any) -> BimpeApp:
    """The real app pointed at a hostile server, with short stream timeouts."""
    options: dict[str, Any] = {"base_delay": 0.05, "read_timeout": 30.0}
    options.update(stream_options)
    return BimpeApp(
        AppConfig(
            state=StateStore(state_path, debounce=0.05),
            api_key=server.api_key,
            base_url=server.base_url,
            stream_options=options,
            tz=UTC,
        )
    )


def strip_texts(strips: Iterable[Any]) -> list[str]:
    """The plain text of rendered Strips (what the terminal would be sent, minus styles)."""
    return ["".join(segment.text for segment in strip) for strip in strips]


def widget_lines(widget: Any) -> list[Any]:
    """Every line a widget renders for its current size, as Strips."""
    return [widget.render_line(y) for y in range(widget.size.height)]
