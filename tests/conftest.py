"""Shared fixtures: a real demo server on loopback, and no test touches the real home."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.event_loop import new_event_loop, uvloop_wanted
from tests.apptools import FakeClock
from tests.loopback import LoopbackServer as ScriptedServer

if TYPE_CHECKING:
    from bimpe_tui.demo.server import DemoServer


#: Test modules of the engine, run on both event loops; the rest on the one the
#: app picks at start-up (uvloop where installed, as `bimpe_tui.event_loop` does).
BOTH_LOOPS = frozenset(
    {
        "test_stream_demo",
        "test_stream_scripted",
        "test_engine_outcomes",
        "test_engine_promises",
        "test_hostile_frames",
        "test_monitor",
        "test_tail_passthrough",
        "test_event_loop",
        "test_engine_hardness",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `long(seconds)` first, the longest first, each followed by a short
    one: a minute-long test collected last would leave the other workers idle while it
    runs alone.

    The interleaving is for xdist's hand-out (`make pytest`, `--maxschedchunk 1`): each
    worker starts with the next two tests in order, then takes one at a time as it
    finishes one. Back to back, the two walks went to one worker and ran one after the
    other (with the chaos runs behind them: 270 s on one worker while the other three
    were done at 225 s); one long and one short test each, every worker starts a long one.
    """

    def seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("long")
        return float(marker.args[0]) if marker is not None and marker.args else 0.0

    long = sorted((item for item in items if seconds(item)), key=lambda item: -seconds(item))
    short = [item for item in items if not seconds(item)]
    ordered: list[pytest.Item] = []
    for index, item in enumerate(long):
        ordered.append(item)
        if index < len(short):
            ordered.append(short[index])
    ordered.extend(short[len(long) :])
    items[:] = ordered


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The loops an async test runs on (its id names each: `[uvloop]`, `[asyncio]`)."""
    chosen = {"uvloop" if uvloop_wanted() else "asyncio": new_event_loop}
    module = getattr(item, "module", None)
    name = module.__name__.rsplit(".", 1)[-1] if module is not None else ""
    if name in BOTH_LOOPS and uvloop_wanted():
        return {"uvloop": new_event_loop, "asyncio": asyncio.new_event_loop}
    return chosen


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # platformdirs reads these: point them at the test's own directory so no
    # test ever reads or writes the user's real config or state.
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("BIMPEAI_API_KEY", raising=False)
    monkeypatch.delenv("BIMPEAI_BASE_URL", raising=False)


@pytest.fixture
async def demo() -> AsyncIterator[DemoServer]:
    """A demo server whose conversations move fast (rate 40) with short heartbeats."""
    from bimpe_tui.demo.server import DemoServer

    server = DemoServer(seed=7, rate=40.0, heartbeat_interval=0.2)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A wall clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
async def server(clock: FakeClock) -> AsyncIterator[DemoServer]:
    """A demo server on the test's clock: messages come when the test moves it."""
    from bimpe_tui.demo.server import DemoServer

    demo = DemoServer(seed=7, rate=1.0, clock=clock, heartbeat_interval=0.5)
    await demo.start()
    try:
        yield demo
    finally:
        await demo.stop()


@pytest.fixture
async def client(demo: DemoServer) -> AsyncIterator[ConsoleClient]:
    """Our client, pointed at the demo server."""
    async with ConsoleClient(demo.api_key, demo.base_url, max_retries=2) as api:
        yield api


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    """A real loopback server that plays scripted stream answers."""
    server = ScriptedServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
