"""The footer tells the truth: each stream state, driven by the demo server, in words."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from bimpe_tui.app import BimpeApp
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.status_words import StatusLine
from tests.apptools import FakeClock, make_app, ready, until


def footer_log(app: BimpeApp) -> list[str]:
    """Every text the footer's state takes, in order."""
    seen: list[str] = []

    def note(line: StatusLine) -> None:
        # Only changes of the words, as a person reading the footer sees them.
        if not seen or seen[-1] != line.words:
            seen.append(line.words)

    app.watch(app.main.status_footer, "line", note, init=True)
    return seen


def said(seen: list[str], start: str) -> bool:
    return any(words.startswith(start) for words in seen)


async def run_until(app: BimpeApp, seen: list[str], start: str, pilot: Any) -> None:
    await until(pilot, lambda: said(seen, start))


@contextlib.asynccontextmanager
async def footer_watched(
    server: DemoServer, tmp_path: Path, clock: FakeClock, **stream_options: Any
) -> AsyncIterator[tuple[BimpeApp, Pilot[Any], list[str]]]:
    """The app running and ready, with the log of its footer's words from the start."""
    app = make_app(server, tmp_path / "s.toml", clock, **stream_options)
    async with app.run_test(size=(140, 40)) as pilot:
        seen = footer_log(app)
        await until(pilot, ready(app))
        yield app, pilot, seen


def drop_then(server: DemoServer, clock: FakeClock, *faults: str) -> None:
    """Drop the live stream at once, with ``faults`` queued for the reconnect, and let
    time pass so the stream notices."""
    server.faults.inject("drop", after_messages=0)
    for fault in faults:
        server.faults.inject(fault)
    clock.advance(30, server)


async def test_connecting_then_live(server: DemoServer, tmp_path: Path, clock: FakeClock) -> None:
    async with footer_watched(server, tmp_path, clock) as (app, pilot, seen):
        await run_until(app, seen, "live", pilot)
        assert said(seen, "connecting")
        assert seen.index(next(w for w in seen if w.startswith("connecting"))) < seen.index("live")


async def test_reconnecting_with_attempt_delay_and_cause(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    async with footer_watched(server, tmp_path, clock) as (app, pilot, seen):
        drop_then(server, clock, "ticket_429")
        await run_until(app, seen, "reconnecting in 1.0 s (attempt 2/5): rate limited (429)", pilot)
        assert said(seen, "reconnecting in ")
        await until(pilot, lambda: app.main.status_footer.state_words == "live")


async def test_stalled_when_the_connection_goes_silent(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    async with footer_watched(server, tmp_path, clock, read_timeout=1.0) as (app, pilot, seen):
        server.faults.inject("silent", after_messages=0)
        clock.advance(30, server)
        await run_until(app, seen, "stalled: no data for 1 s", pilot)
        await until(pilot, lambda: app.main.status_footer.state_words == "live")


async def test_gap_possible_when_the_server_cannot_resume_by_id(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    async with footer_watched(server, tmp_path, clock) as (app, pilot, seen):
        drop_then(server, clock, "after_410")
        await run_until(app, seen, "live · gap possible", pilot)
        assert app.main.status_footer.has_class("-busy")


async def test_gave_up_says_press_r(server: DemoServer, tmp_path: Path, clock: FakeClock) -> None:
    async with footer_watched(server, tmp_path, clock, max_retries=1) as (app, pilot, seen):
        drop_then(server, clock, "ticket_503")
        await run_until(app, seen, "gave up: ", pilot)
        words = app.main.status_footer.state_words
        assert words.endswith("— press r to retry")
        assert "503" in words
        assert app.main.status_footer.has_class("-bad")


async def test_key_refused_while_running(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    async with footer_watched(server, tmp_path, clock) as (app, pilot, seen):
        server.api_key = "sk_rotated_away_0000"  # the key is revoked server-side
        drop_then(server, clock)
        await run_until(app, seen, "gave up: the API key was refused", pilot)
        assert server.api_key not in app.main.status_footer.state_words


async def test_conversation_gone(
    server: DemoServer, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with footer_watched(server, tmp_path, clock) as (app, pilot, seen):
        gone = app.monitor.current
        original = server.world.agent_of
        monkeypatch.setattr(server.world, "agent_of", lambda c: None if c == gone else original(c))
        drop_then(server, clock)
        await run_until(app, seen, "gave up: conversation not found", pilot)
