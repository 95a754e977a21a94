"""Customer waits in the monitor: known for conversations not streamed (one page of
history each, fetched a bounded number of times), and one alert when a wait for a
person passes `alert_after`, never again after a restart.

Against the demo server on the test's clock: which conversation waits, and since
which message, is asked of the demo world itself, then reached by moving the clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bimpe_tui.alerts import Alert
from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.errors import APIConnectionError
from bimpe_tui.api.models import Agent, Conversation, Message, Page
from bimpe_tui.book import Book
from bimpe_tui.config import AlertSettings
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import AlertRaised, MonitorConfig, Notice, WaitPassed
from bimpe_tui.monitor.alerting import Alerting
from bimpe_tui.monitor.connection import Link
from bimpe_tui.monitor.events import MonitorEvent
from bimpe_tui.monitor.tasks import Tasks
from bimpe_tui.monitor.waiting import MAX_IN_FLIGHT, WAIT_PAGE_SIZE, Waiting
from bimpe_tui.state import StateStore
from bimpe_tui.waits import WaitRules
from tests.apptools import FakeClock
from tests.core.test_monitor import Harness

#: Fast list refreshes: the tests wait for events, never for this interval.
FAST = 0.2
#: The demo world's roles of a person (staff) and of the customer.
STAFF = {"restaurant_user"}
CUSTOMER = {"customer", "user"}
#: No alert but the waits' own.
QUIET = AlertSettings(attention=False, new_conversation=False)


def expected_wait(server: DemoServer, conversation_id: str) -> float | None:
    """When the wait for a person began, from the world's own messages: the first
    customer message after the last staff one, among the newest page's worth."""
    start = expected_start(server, conversation_id)
    return None if start is None else server.world.time_of(conversation_id, start)


def expected_start(server: DemoServer, conversation_id: str) -> int | None:
    """The index of the customer's message the wait counts from (see expected_wait)."""
    world = server.world
    latest = world.latest_index(conversation_id)
    start = None
    for index in range(latest, max(-1, latest - WAIT_PAGE_SIZE), -1):
        message = world.message(conversation_id, index)
        if message.role in STAFF:
            break
        if message.role in CUSTOMER:
            start = index
    return start


def waiting_for_a_person(server: DemoServer, at: float | None = None) -> list[str]:
    """The listed conversations that need attention or whose AI is paused, now (or
    at the world clock's time `at`)."""
    world = server.world
    clock = world.clock
    assert isinstance(clock, FakeClock)
    present = clock.now
    clock.now = present if at is None else at
    try:
        return [
            str(c["id"])
            for agent in world.agents()
            for c in world.conversations(str(agent["id"]))
            if c["needs_attention"] or c["is_ai_chat_paused"]
        ]
    finally:
        clock.now = present


class Merges:
    """Counts the listing's merges; lets a test wait for a few more."""

    def __init__(self, h: Harness) -> None:
        self.count = 0
        self._more = asyncio.Event()
        listing = h.monitor.listing
        merge = listing.merge_listing

        def counted(*args: Any, **kwargs: Any) -> None:
            merge(*args, **kwargs)
            self.count += 1
            self._more.set()

        listing.merge_listing = counted  # type: ignore[method-assign]

    async def more(self, n: int) -> None:
        target = self.count + n
        async with asyncio.timeout(15):
            while self.count < target:
                self._more.clear()
                await self._more.wait()


@pytest.fixture
def history_requests(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every list-messages request any client makes, per conversation."""
    counts: Counter[str] = Counter()
    original = ConsoleClient.list_messages

    async def counted(
        self: ConsoleClient, agent_id: str, conversation_id: str, **kwargs: Any
    ) -> Page[Message]:
        counts[conversation_id] += 1
        return await original(self, agent_id, conversation_id, **kwargs)

    monkeypatch.setattr(ConsoleClient, "list_messages", counted)
    return counts


async def started(
    server: DemoServer, tmp_path: Path, clock: FakeClock, waits: WaitRules
) -> Harness:
    options = {"refresh_interval": FAST, "alerts": QUIET, "waits": waits}
    h = Harness(server, tmp_path / "state.toml", clock, options)
    await h.monitor.start()
    return h


async def test_an_unwatched_conversation_gets_its_wait_from_one_page(
    server: DemoServer,
    tmp_path: Path,
    clock: FakeClock,
    history_requests: Counter[str],
    closing: list[Harness],
) -> None:
    h = await started(server, tmp_path, clock, WaitRules())
    closing.append(h)
    book = h.monitor.book
    unwatched = [c for c in waiting_for_a_person(server) if not book.entries[c].watched]
    assert unwatched, "the demo world has conversations needing a person at its start"
    for cid in unwatched:
        entry = book.entries[cid]
        await h.until(lambda entry=entry: bool(entry.wait_page))  # type: ignore[misc]
        assert entry.wait_for_a_person() == pytest.approx(expected_wait(server, cid), abs=1e-3)
        assert not entry.history_loaded
    # Refreshes that change nothing fetch nothing more: one request each.
    merges = Merges(h)
    await merges.more(8)
    assert {cid: history_requests[cid] for cid in unwatched} == dict.fromkeys(unwatched, 1)
    # A conversation that did not need a person was not asked about.
    calm = [c for c in book.entries if c not in unwatched and not book.entries[c].watched]
    assert calm
    assert not any(history_requests[c] for c in calm)
    # Its last message moves: one fetch more, and the wait follows the world.
    world = server.world
    cid, later = next(
        (c, t)
        for c in unwatched
        for t in [world.time_of(c, world.latest_index(c) + 1) + 0.01]
        if c in waiting_for_a_person(server, at=t)
    )
    entry = book.entries[cid]
    clock.advance(later - clock.now, server)
    newest = world.message(cid, world.latest_index(cid)).id
    await h.until(lambda: bool(entry.wait_page) and entry.wait_page[-1].id == newest)
    assert entry.wait_for_a_person() == pytest.approx(expected_wait(server, cid), abs=1e-3)
    await merges.more(8)
    assert history_requests[cid] == 2


async def test_at_most_a_few_fetches_in_flight_and_a_failure_is_quiet(tmp_path: Path) -> None:
    """Twelve conversations waiting at once: never more than MAX_IN_FLIGHT requests."""
    agent = Agent.from_api({"id": "ag_1", "name": "A", "created_at": "", "updated_at": ""})
    conversations = [
        Conversation.from_api(
            {
                "id": f"c_{n}",
                "channel_type": "webchat",
                "needs_attention": True,
                "is_ai_chat_paused": False,
                "last_message_at": "2026-11-20T08:00:00Z",
                "created_at": "2026-11-20T08:00:00Z",
                "updated_at": "2026-11-20T08:00:00Z",
            }
        )
        for n in range(12)
    ]
    book = Book()
    book.add_conversations(agent, conversations)

    class Gated:
        """A client whose history requests wait until the test lets them go."""

        def __init__(self) -> None:
            self.in_flight = 0
            self.most = 0
            self.calls = 0
            self.release = asyncio.Event()
            self.full = asyncio.Event()

        async def list_messages(self, agent_id: str, conversation_id: str, **kw: Any) -> Any:
            self.calls += 1
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            if self.in_flight == MAX_IN_FLIGHT:
                self.full.set()
            try:
                await self.release.wait()
            finally:
                self.in_flight -= 1
            if conversation_id == "c_0":
                raise APIConnectionError("refused")
            customer = {"id": f"m_{conversation_id}", "role": "user", "message": "hello?"}
            at = {"created_at": "2026-11-20T08:00:00Z"}
            return Page([Message.from_api({**customer, **at})], None)

    events: list[MonitorEvent] = []
    changed = asyncio.Event()

    def emit(event: MonitorEvent) -> None:
        events.append(event)
        changed.set()

    config = MonitorConfig(state=StateStore(tmp_path / "s.toml"), clock=FakeClock())
    link = Link()
    client = Gated()
    link.client = client  # type: ignore[assignment]
    tasks = Tasks(emit)
    alerting = Alerting(QUIET, emit, tmux_passthrough=False)
    waiting = Waiting(book, config, link, emit, tasks.spawn, alerting=alerting)
    try:
        waiting.start()
        await asyncio.wait_for(client.full.wait(), 15)
        # The rest queue behind the gate: asking again starts no second request.
        waiting.listed()
        client.release.set()
        async with asyncio.timeout(15):
            while sum(1 for e in book.entries.values() if e.wait_page) < 11:
                changed.clear()
                await changed.wait()
        assert client.most == MAX_IN_FLIGHT
        assert client.calls == 12
        assert not book.entries["c_0"].wait_page
        assert not any(isinstance(e, Notice) for e in events), "a failed fetch is quiet"
        # The failed one is not asked again until something changes.
        waiting.listed()
        assert waiting.idle, "nothing fetched again"
        assert client.calls == 12
    finally:
        await tasks.cancel()


def waiting_alerts(h: Harness, cid: str) -> list[Alert]:
    return [
        a
        for e in h.events
        if isinstance(e, AlertRaised)
        for a in e.decision.alerts
        if a.kind == "waiting" and a.conversation_id == cid
    ]


def passed(h: Harness, cid: str) -> list[WaitPassed]:
    return [e for e in h.events if isinstance(e, WaitPassed) and e.conversation_id == cid]


async def test_a_wait_passing_alert_after_rings_once_and_never_after_a_restart(
    server: DemoServer, tmp_path: Path, clock: FakeClock, closing: list[Harness]
) -> None:
    world = server.world
    # A conversation waiting for a person whose next message is a while off: its wait
    # passes the threshold with nothing arriving.
    candidates = [
        c
        for c in waiting_for_a_person(server)
        if world.time_of(c, world.latest_index(c) + 1) > clock.now + 3
        and expected_wait(server, c) is not None
    ]
    assert candidates, "some conversation of the demo world waits quietly at its start"
    cid = candidates[0]
    since = expected_wait(server, cid)
    assert since is not None
    # Just below the threshold now, one second past it two seconds on.
    threshold = clock.now - since + 1
    waits = WaitRules(alert_after=threshold)
    h = await started(server, tmp_path, clock, waits)
    entry = h.monitor.book.entries[cid]
    await h.until(lambda: entry.wait_for_a_person() is not None)
    assert entry.wait_for_a_person() == pytest.approx(since, abs=1e-3)
    assert not passed(h, cid)
    clock.advance(2, server)
    await h.until(lambda: bool(passed(h, cid)))
    await h.until(lambda: bool(waiting_alerts(h, cid)))  # a summary may come a little later
    (event,) = passed(h, cid)
    assert event.since == pytest.approx(since, abs=1e-3)
    assert event.waited == pytest.approx(threshold + 1, abs=1e-3)
    assert event.agent_id == entry.agent.id
    (alert,) = waiting_alerts(h, cid)
    assert alert.body.startswith("waiting ")
    assert "for a person" in alert.body
    # It quotes what the customer wrote to start the wait, not the conversation's
    # last message (often the AI's answer to it).
    start = expected_start(server, cid)
    assert start is not None
    said = world.message(cid, start).message
    assert said[:30] in alert.body
    last = world.message(cid, world.latest_index(cid)).message
    if last[:30] != said[:30]:
        assert last[:30] not in alert.body
    # More checks and refreshes of the same wait raise nothing more.
    merges = Merges(h)
    for _ in range(3):
        clock.advance(0.2, server)
        h.monitor.waiting.check()
        await merges.more(2)
    assert len(passed(h, cid)) == 1
    assert len(waiting_alerts(h, cid)) == 1
    await h.monitor.close()
    # A restart on the same state file: the wait is already past, and rings no more.
    second = await started(server, tmp_path, clock, waits)
    closing.append(second)
    again = second.monitor.book.entries[cid]
    await second.until(lambda: again.wait_for_a_person() is not None)
    merges = Merges(second)
    for _ in range(3):
        clock.advance(0.2, server)
        second.monitor.waiting.check()
        await merges.more(2)
    assert not passed(second, cid)
    assert not waiting_alerts(second, cid)
