"""The log's surface in the real app against the demo server: the "N new ↓" badge
never covers a line of the timeline, and j / k scroll the log as they move in the list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Label

from bimpe_tui.app import BimpeApp
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.widgets.message_log import MessageLog
from tests.apptools import FakeClock, make_app, running, take_over, until


def badge_region(app: BimpeApp) -> Region:
    """Where the badge is drawn on the screen (its offset included)."""
    return app.main.log_view.query_one("#new-marker", Label).region


def view_region(app: BimpeApp) -> Region:
    """Where the timeline's lines are drawn on the screen."""
    return app.main.log_view.lines.region


async def scroll_up(pilot: Pilot[Any], log: MessageLog) -> None:
    """Two pages up the log, so that it no longer follows what arrives."""
    log.lines.focus()
    await pilot.press("pageup", "pageup")
    await until(pilot, lambda: not log.following)


async def arrivals(
    pilot: Pilot[Any], server: DemoServer, clock: FakeClock, log: MessageLog
) -> None:
    """Time passes until new messages arrive below the scrolled-up log and the badge shows."""
    marker = log.query_one("#new-marker", Label)
    before = log.new_count
    clock.advance(300, server)
    await until(pilot, lambda: log.new_count > before and marker.display)
    await pilot.pause()


async def test_the_new_badge_never_covers_a_line_of_the_log(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 30)) as pilot:
        log = app.main.log_view
        current = app.monitor.current
        assert current is not None
        await scroll_up(pilot, log)
        # Scrolled up, nothing open under the log.
        await arrivals(pilot, server, clock, log)
        assert not badge_region(app).overlaps(view_region(app))
        # The search box open under the log (the matches still marked).
        await pilot.press("ctrl+f", "e", "escape")
        await until(pilot, lambda: log.searching and app.focused is log.lines)
        await arrivals(pilot, server, clock, log)
        assert not badge_region(app).overlaps(view_region(app))
        # The filter box under it too (an empty filter: every message shown).
        await pilot.press("f", "enter")
        await until(pilot, lambda: log.has_class("-filtering") and app.focused is log.lines)
        await arrivals(pilot, server, clock, log)
        assert not badge_region(app).overlaps(view_region(app))
        bars = log.query_one("#log-bars").region
        assert not badge_region(app).overlaps(bars)
        assert not log.following


async def test_the_new_badge_stays_off_the_reply_box(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 30)) as pilot:
        log = app.main.log_view
        await take_over(pilot)
        await scroll_up(pilot, log)
        await pilot.press("c")
        box = app.main.compose_box
        await until(pilot, lambda: app.focused is box)
        await arrivals(pilot, server, clock, log)
        assert not badge_region(app).overlaps(box.region)
        assert not badge_region(app).overlaps(view_region(app))


async def test_j_and_k_scroll_the_log_a_line_as_they_move_in_the_list(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with running(app, (140, 30)) as pilot:
        log = app.main.log_view
        view = log.lines
        view.focus()
        await pilot.press("pageup", "pageup")
        await until(pilot, lambda: not log.following and view.scroll_y > 1)
        top = view.scroll_y
        await pilot.press("k")
        assert view.scroll_y == top - 1
        await pilot.press("j", "j")
        assert view.scroll_y == top + 1
        assert app.focused is view
        assert not log.following
