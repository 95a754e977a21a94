"""A conversation someone else took over: `taken` in the row, said in the title,
and replying or taking over asks first."""

from __future__ import annotations

from pathlib import Path

from bimpe_tui.app import BimpeApp
from bimpe_tui.book import Entry
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.screens.confirm import ConfirmScreen
from bimpe_tui.widgets.compose import ComposeBox
from bimpe_tui.widgets.picker import row
from tests.apptools import FakeClock, choose, make_app, ready, until


def paused_by_someone(app: BimpeApp) -> Entry:
    return next(e for e in app.monitor.book.entries.values() if e.conversation.is_ai_chat_paused)


async def test_taken_by_someone_else_is_said_and_asked(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        entry = paused_by_someone(app)
        assert not entry.yours
        assert " taken" in row(entry, clock(), None).plain
        app.monitor.open(entry.id)
        await until(pilot, lambda: app.monitor.current == entry.id and entry.history_loaded)
        assert str(app.main.log_view.border_title).endswith("· AI paused by someone else")
        # Taking over says it is paused already.
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert "paused already" in app.screen.question
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        # Replying asks first; "reply anyway" opens the box, and is not asked again.
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert "someone else may be answering" in app.screen.question
        await choose(pilot, "reply")
        await until(pilot, lambda: isinstance(app.focused, ComposeBox))
        await pilot.press("escape")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.focused, ComposeBox))
        assert not isinstance(app.screen, ConfirmScreen)
