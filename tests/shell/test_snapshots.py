"""Screenshots of the main screen, the help screen and a reconnecting footer.

Deterministic: the demo world's clock stands still, times are shown in UTC,
the reconnect delay comes from a seeded random generator, and nothing on
screen blinks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.book import Older
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import TimelineReplaced
from bimpe_tui.state import StateStore
from tests.apptools import START, ready, take_over, until

SIZE = (130, 36)
SnapCompare = Callable[..., bool]


def still_app(tmp_path: Path, **stream_options: Any) -> tuple[BimpeApp, DemoServer]:
    """The app with its own demo server (started in the app's loop), clock standing still."""
    server = DemoServer(seed=7, rate=1.0, clock=lambda: START)
    app = BimpeApp(
        AppConfig(
            state=StateStore(tmp_path / "state.toml"),
            demo=server,
            stream_options=stream_options,
            tz=UTC,
            clock=lambda: START,
        )
    )
    return app, server


async def _until_ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, BimpeApp)
    await until(pilot, ready(app))


def test_main_screen(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app, _ = still_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=_until_ready)


def test_help_screen(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app, _ = still_app(tmp_path)
    assert snap_compare(app, press=["question_mark"], terminal_size=SIZE, run_before=_until_ready)


def test_footer_while_reconnecting(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app, server = still_app(tmp_path, base_delay=20.0, max_delay=20.0, rng=random.Random(3))
    server.faults.inject("ticket_503")

    async def reconnecting(pilot: Pilot[Any]) -> None:
        await until(
            pilot,
            lambda: (
                app.main.status_footer.state_words.startswith("reconnecting in")
                and bool(app.order)
                and not app.redraw_pending
            ),
        )

    assert snap_compare(app, terminal_size=SIZE, run_before=reconnecting)


def test_search_marks_every_match(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app, _ = still_app(tmp_path)
    keys = ["l", "ctrl+f", *"order", "shift+enter"]
    assert snap_compare(app, press=keys, terminal_size=SIZE, run_before=_until_ready)


def test_a_filter_shows_only_the_customer(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app, _ = still_app(tmp_path)
    keys = ["l", "f", *"@customer", "enter"]
    assert snap_compare(app, press=keys, terminal_size=SIZE, run_before=_until_ready)


def test_reply_box(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app, _ = still_app(tmp_path)

    async def replying(pilot: Pilot[Any]) -> None:
        await until(pilot, ready(app))
        await take_over(pilot)
        await pilot.press("c", *"Hello! A person here now.", "ctrl+j", *"How can I help?")
        # Focus is asserted, not assumed: a snapshot taken before it lands draws
        # the box unfocused.
        await until(
            pilot,
            lambda: (
                app.focused is app.main.compose_box
                and app.main.compose_box.text.endswith("help?")
                and not app.redraw_pending
            ),
        )
        # The "you have it" toast times out on its own clock: kept out of the picture.
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=replying)


async def _at_the_top(pilot: Pilot[Any]) -> None:
    """The log focused and scrolled to its top (which asks for the older page)."""
    app = pilot.app
    assert isinstance(app, BimpeApp)
    view = app.main.log_view.lines
    view.focus()
    await pilot.press("home")
    await until(pilot, lambda: view.scroll_y == 0 and not app.redraw_pending)


def test_loading_older_messages(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app, _ = still_app(tmp_path)

    async def loading(pilot: Pilot[Any]) -> None:
        await until(pilot, ready(app))
        current = app.monitor.current
        assert current is not None
        entry = app.monitor.book.entries[current]
        # Held in "loading" (as while a page is on its way), so the picture is stable:
        # reaching the top asks for nothing more while a page loads.
        entry.older = Older("loading")
        app.monitor.emit(TimelineReplaced(current, keep_place=True))
        await _at_the_top(pilot)
        assert entry.older.state == "loading"
        await until(
            pilot, lambda: "loading older messages" in str(app.main.log_view.lines.lines[0].text)
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=loading)


def test_older_messages_failed_with_the_retry_key(
    snap_compare: SnapCompare, tmp_path: Path
) -> None:
    app, server = still_app(tmp_path)

    async def failed(pilot: Pilot[Any]) -> None:
        await until(pilot, ready(app))
        current = app.monitor.current
        assert current is not None
        entry = app.monitor.book.entries[current]
        server.faults.inject("history_503", 3)
        await _at_the_top(pilot)
        await until(pilot, lambda: entry.older.state == "failed", limit=20)
        view = app.main.log_view.lines
        await until(pilot, lambda: view.scroll_y == 0 and not app.redraw_pending)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=failed)
