"""Exactly once where a person acts: what is sent, and what the log shows.

Each test drives the real app (the pilot) against the demo server over real
sockets, and checks against the server's own records.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bimpe_tui.api.models import Message
from bimpe_tui.app import BimpeApp
from bimpe_tui.book import Entry, Pending
from bimpe_tui.demo.server import DemoServer
from tests.apptools import FakeClock, make_app, ready, until

SIZE = (140, 40)


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state.toml"


def open_entry(app: BimpeApp) -> Entry:
    current = app.monitor.current
    assert current is not None
    return app.monitor.book.entries[current]


def view_ids(app: BimpeApp) -> list[str]:
    """The message ids the log's view holds, as drawn (repeats included)."""
    return [item.id for item in app.main.log_view.lines.items if isinstance(item, Message)]


def repeated(ids: list[str]) -> list[str]:
    return [i for i, n in Counter(ids).items() if n > 1]


async def test_a_refused_send_then_a_new_message_shows_it_once(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    # The sequence a new user met: a send the server refuses, escape, hand back,
    # and the next message to arrive was drawn twice.
    app = make_app(server, state_path, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, ready(app))
        entry = open_entry(app)
        await pilot.press("t")
        await until(pilot, lambda: entry.yours)
        await pilot.press("c")
        app.main.compose_box.text = "x" * 5000
        await pilot.press("enter")
        await until(pilot, lambda: not any(isinstance(i, Pending) for i in entry.timeline.items))
        await pilot.press("escape")
        count = len(entry.timeline.messages())
        clock.advance(300, server)
        await until(pilot, lambda: len(entry.timeline.messages()) > count)
        await pilot.pause()
        assert repeated(view_ids(app)) == []
        assert view_ids(app) == [m.id for m in entry.timeline.messages()]
