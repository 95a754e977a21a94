"""The message log on its own: a bare app holding one MessageLog, driven by the pilot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC
from pathlib import Path

from textual.app import App, ComposeResult
from textual.pilot import Pilot

import bimpe_tui
from bimpe_tui.book import TimelineItem
from bimpe_tui.widgets.message_log import MessageLog, TimelineView


class LogApp(App[None]):
    """One MessageLog and nothing else."""

    # The app's own styles: the match colours and the view's look (a scrollbar
    # always there) are in them, and the tests check both.
    CSS_PATH = str(Path(bimpe_tui.__file__).parent / "app.tcss")

    def compose(self) -> ComposeResult:
        yield MessageLog(tz=UTC)


@asynccontextmanager
async def log_app(
    size: tuple[int, int] = (100, 30),
) -> AsyncIterator[tuple[LogApp, Pilot[None], MessageLog]]:
    """A LogApp run headless at `size`: (app, pilot, its log)."""
    app = LogApp()
    async with app.run_test(size=size) as pilot:
        yield app, pilot, app.query_one(MessageLog)


def show_focused(log: MessageLog, items: list[TimelineItem]) -> TimelineView:
    """Show `items` in the log and focus its view, as a reader at the keys has it: the view."""
    log.show("title", items)
    log.lines.focus()
    return log.lines
