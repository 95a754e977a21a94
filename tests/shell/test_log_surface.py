"""The log's surface in the real app against the demo server: the "N new ↓" badge
never covers a line of the timeline, and j / k scroll the log as they move in the list."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Label

from bimpe_tui.app import BimpeApp
from bimpe_tui.demo.server import DemoServer
from tests.apptools import FakeClock, make_app, ready, take_over, until


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state.toml"


def badge_region(app: BimpeApp) -> Region:
    """Where the badge is drawn on the screen (its offset included)."""
    return app.main.log_view.query_one("#new-marker", Label).region


def view_region(app: BimpeApp) -> Region:
    """Where the timeline's lines are drawn on the screen."""
    return app.main.log_view.lines.region


async def test_the_new_badge_never_covers_a_line_of_the_log(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with app.run_test(size=(140, 30)) as pilot:
        await until(pilot, ready(app))
        log = app.main.log_view
        marker = log.query_one("#new-marker", Label)
        current = app.monitor.current
        assert current is not None
        log.lines.focus()
        await pilot.press("pageup", "pageup")
        await until(pilot, lambda: not log.following)

        async def arrivals() -> None:
            before = log.new_count
            clock.advance(300, server)
            await until(pilot, lambda: log.new_count > before and marker.display)
            await pilot.pause()

        # Scrolled up, nothing open under the log.
        await arrivals()
        assert not badge_region(app).overlaps(view_region(app))
        # The search box open under the log (the matches still marked).
        await pilot.press("ctrl+f", "e", "escape")
        await until(pilot, lambda: log.searching and app.focused is log.lines)
        await arrivals()
        assert not badge_region(app).overlaps(view_region(app))
        # The filter box under it too (an empty filter: every message shown).
        await pilot.press("f", "enter")
        await until(pilot, lambda: log.has_class("-filtering") and app.focused is log.lines)
        await arrivals()
        assert not badge_region(app).overlaps(view_region(app))
        bars = log.query_one("#log-bars").region
        assert not badge_region(app).overlaps(bars)
        assert not log.following


async def test_the_new_badge_stays_off_the_reply_box(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with app.run_test(size=(140, 30)) as pilot:
        await until(pilot, ready(app))
        log = app.main.log_view
        marker = log.query_one("#new-marker", Label)
        await take_over(pilot)
        log.lines.focus()
        await pilot.press("pageup", "pageup")
        await until(pilot, lambda: not log.following)
        await pilot.press("c")
        box = app.main.compose_box
        await until(pilot, lambda: app.focused is box)
        before = log.new_count
        clock.advance(300, server)
        await until(pilot, lambda: log.new_count > before and marker.display)
        await pilot.pause()
        assert not badge_region(app).overlaps(box.region)
        assert not badge_region(app).overlaps(view_region(app))


async def test_j_and_k_scroll_the_log_a_line_as_they_move_in_the_list(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, state_path, clock)
    async with app.run_test(size=(140, 30)) as pilot:
        await until(pilot, ready(app))
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
