"""The monitor core without a terminal: against the demo server, on a clock the test moves."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import bimpe_tui.monitor as monitor_module
import bimpe_tui.monitor.core as monitor_core
from bimpe_tui.api.models import Message
from bimpe_tui.api.stream import StreamStatus
from bimpe_tui.book import Entry, Marker, Pending
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import (
    Appended,
    Connection,
    Fatal,
    Monitor,
    MonitorConfig,
    MonitorEvent,
    Notice,
    Opened,
    StatusChanged,
    TimelineReplaced,
)
from bimpe_tui.state import Cursor, StateStore
from tests.apptools import FakeClock
from tests.bookkit import bare_entry


class Harness:
    """A monitor, every event it emitted, and a way to wait for a condition."""

    def __init__(
        self,
        server: DemoServer,
        state_path: Path,
        clock: FakeClock,
        monitor_options: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        self.events: list[MonitorEvent] = []
        self.delivered: dict[str, list[str]] = {}
        self.seeing = True
        self.changed = asyncio.Event()
        self.record = io.StringIO()
        config = MonitorConfig(
            state=StateStore(state_path, debounce=0.05),
            connection=Connection.to_demo(server),
            stream_options={"base_delay": 0.05, "read_timeout": 10.0, **kw},
            clock=clock,
            record=self.record,
            tap=self._tap,
            **(monitor_options or {}),
        )
        self.monitor = Monitor(config, self._emit, can_see=lambda: self.seeing)

    def _emit(self, event: MonitorEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def _tap(self, conversation_id: str, messages: Sequence[Message]) -> None:
        self.delivered.setdefault(conversation_id, []).extend(m.id for m in messages)

    async def until(self, predicate: Callable[[], bool], limit: float = 15.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def live(self, conversation_id: str | None) -> Callable[[], bool]:
        def check() -> bool:
            entry = self.monitor.book.get(conversation_id) if conversation_id else None
            return (
                entry is not None
                and entry.history_loaded
                and entry.status is not None
                and entry.status.state in ("live", "resumed")
            )

        return check

    async def open_live(self) -> tuple[str, Entry]:
        """The open conversation once its history is in and its stream live: (id, entry)."""
        current = self.monitor.current
        await self.until(self.live(current))
        assert current is not None
        return current, self.monitor.book.entries[current]


@pytest.fixture
async def harness(server: DemoServer, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Harness]:
    h = Harness(server, tmp_path / "state.toml", clock)
    await h.monitor.start()
    try:
        yield h
    finally:
        await h.monitor.close()


def ids(entry: Entry) -> list[str]:
    return [item.id for item in entry.timeline.items if isinstance(item, Message)]


async def test_start_lists_everything_opens_the_top_and_streams(
    harness: Harness, server: DemoServer, clock: FakeClock
) -> None:
    monitor = harness.monitor
    assert monitor.ready
    assert set(monitor.book.entries) == {c for _, c in server.world.conversation_ids()}
    top = monitor.book.flat()[0]
    assert monitor.current == top.id
    assert Opened(top.id) in harness.events
    await harness.until(harness.live(top.id))
    latest = server.world.latest_index(top.id)
    assert ids(top)[-1] == server.world.message(top.id, latest).id
    clock.advance(120, server)
    newest = server.world.latest_index(top.id)
    assert newest > latest
    want = [server.world.message(top.id, n).id for n in range(latest + 1, newest + 1)]
    await harness.until(lambda: harness.delivered.get(top.id, [])[-1:] == want[-1:])
    # Counted as they left the stream: every message once, in order.
    assert harness.delivered[top.id] == want
    appended = [
        item.id
        for e in harness.events
        if isinstance(e, Appended) and e.conversation_id == top.id
        for item in e.items
        if isinstance(item, Message)
    ]
    assert appended == want
    # The record has history and deliveries, each id once.
    recorded = [json.loads(line)["id"] for line in harness.record.getvalue().splitlines()]
    assert len(recorded) == len(set(recorded))
    assert recorded[-len(want) :] == want


async def test_unread_while_the_user_cannot_see_then_seen(
    harness: Harness, server: DemoServer, clock: FakeClock
) -> None:
    monitor = harness.monitor
    current, entry = await harness.open_live()
    cursor = monitor.saved.cursors[current]
    seen_before = cursor.seen
    harness.seeing = False
    before = server.world.latest_index(current)
    clock.advance(300, server)
    after = server.world.latest_index(current)
    await harness.until(lambda: entry.unread == after - before)
    assert cursor.seen == seen_before
    assert cursor.received == server.world.message(current, after).id
    harness.seeing = True
    assert monitor.seen_now()
    assert entry.unread == 0
    assert cursor.seen == cursor.received


async def test_the_watch_limit_stops_the_least_recently_viewed(
    server: DemoServer, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor_core, "MAX_WATCHED", 2)
    h = Harness(server, tmp_path / "state.toml", clock)
    await h.monitor.start()
    try:
        order = [e.id for e in h.monitor.book.flat()]
        h.monitor.open(order[1])
        h.monitor.open(order[2])
        assert {e.id for e in h.monitor.book.watched()} == {order[1], order[2]}
        assert h.monitor.last_activity(order[0]) is None
        assert any(isinstance(e, Notice) and "2 streams at most" in e.text for e in h.events)
        assert order[0] not in h.monitor.saved.watched
    finally:
        await h.monitor.close()


def status(state: str, **kw: Any) -> StreamStatus:
    return StreamStatus(state=state, **kw)  # type: ignore[arg-type]


def test_marker_table(server: DemoServer) -> None:
    """Each status and what it leaves in the timeline: the decision, tested row by row."""
    entry = bare_entry()
    decide = Monitor.marker_for
    assert decide(entry, status("connecting")) is None
    assert decide(entry, status("live")) is None
    assert entry.connections == 1
    # The first connection's replay is not a reconnect.
    assert decide(entry, status("resumed", replayed=3)) is None
    assert decide(entry, status("live")) is None
    assert entry.connections == 2
    assert decide(entry, status("resumed", replayed=3)) == Marker(
        "resumed", "reconnected — 3 replayed ↑"
    )
    assert decide(entry, status("resumed", replayed=0)) is None
    # A stream that could not resume, filled from the history.
    assert decide(entry, status("resumed", filled=12)) == Marker(
        "resumed", "reconnected — 12 filled from history ↑"
    )
    assert decide(entry, status("resumed", filled=0)) is None
    gap = decide(entry, status("gap_possible", cause="the server forgot m_1"))
    assert gap is not None
    assert gap.kind == "gap"
    assert gap.label.startswith("Some messages may be missing here.")
    assert "m_1" not in gap.label
    assert entry.gap_possible
    skipped = decide(entry, status("frame_skipped", cause="malformed JSON"))
    assert skipped is not None
    assert skipped.kind == "info"
    assert "malformed JSON" in skipped.label
    for quiet in ("reconnecting", "stalled", "gave_up", "closed"):
        assert decide(entry, status(quiet, cause="x")) is None
    # A "new since you left" waiting for its first message goes when the
    # replay ends: a message after that arrived live, with the app open.
    waiting = Marker("new_since", "new since you left")
    entry.timeline.pending_marker = waiting
    assert decide(entry, status("live")) is None
    assert entry.timeline.pending_marker is waiting
    assert decide(entry, status("resumed", replayed=0)) is None
    assert entry.timeline.pending_marker is None
    live = Message.from_api(
        {
            "id": "m_9",
            "conversation_id": "c_1",
            "role": "user",
            "message": "hi",
            "created_at": "2026-12-01T00:00:00Z",
        }
    )
    assert entry.timeline.add([live]) == [live]


async def test_every_live_counts_even_when_statuses_come_fast(
    harness: Harness, server: DemoServer, clock: FakeClock
) -> None:
    """Statuses are applied one by one, none dropped: each reconnect shows its marker."""
    current, entry = await harness.open_live()
    lives = entry.connections
    for _ in range(3):
        server.faults.inject("drop", after_messages=1)
        clock.advance(60, server)
        target = entry.connections + 1
        await harness.until(lambda t=target: entry.connections >= t)  # type: ignore[misc]
    assert entry.connections == lives + 3
    said = [
        e.status.state
        for e in harness.events
        if isinstance(e, StatusChanged) and e.conversation_id == current
    ]
    assert said.count("live") == entry.connections


async def test_no_key_is_fatal(tmp_path: Path) -> None:
    events: list[MonitorEvent] = []
    monitor = Monitor(MonitorConfig(state=StateStore(tmp_path / "s.toml")), events.append)
    await monitor.start()
    assert events == [Fatal("bimpe-tui: no API key")]
    await monitor.close()


async def test_close_saves_where_the_user_was(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    h = Harness(server, tmp_path / "state.toml", clock)
    await h.monitor.start()
    current = h.monitor.current
    await h.until(h.live(current))
    await h.monitor.close()
    saved = StateStore(tmp_path / "state.toml")
    assert saved.load() == []
    remembered = saved.server(h.monitor.server_key)
    assert remembered.selected == current
    assert remembered.watched == [current]


def test_the_core_never_imports_textual() -> None:
    code = (
        "import sys, bimpe_tui.monitor, bimpe_tui.status_words, bimpe_tui.book, "
        "bimpe_tui.operator; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


async def test_a_kill_before_the_first_save_loses_nothing(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    """Killed after showing a first open's history, before the debounced save: no hole.

    The restart found no received cursor and opened the conversation afresh,
    on the newest page: what came between the first run's page and that one
    was never delivered (the restart soak under CPU load, where a slow restart
    lets more than a page of messages arrive).
    """
    world = server.world
    _, busiest = max(world.conversation_ids(), key=lambda ids: world.latest_index(ids[1]))
    agent_id = next(a for a, c in world.conversation_ids() if c == busiest)
    path = tmp_path / "state.toml"
    seeded = StateStore(path)
    remembered = seeded.server(f"demo:seed={world.seed},rate={world.rate:g}")
    remembered.watched = [busiest]
    remembered.selected = busiest
    remembered.cursors[busiest] = Cursor(agent_id=agent_id)
    seeded.save_now()

    first = Harness(server, path, clock)
    # The debounced save never comes: SIGKILL strikes within its delay.
    first.monitor.state.debounce = 3600.0
    await first.monitor.start()
    await first.until(first.live(busiest))
    on_disk = path.read_bytes()  # what a SIGKILL now would leave
    await first.monitor.close()
    path.write_bytes(on_disk)
    recorded = [json.loads(line) for line in first.record.getvalue().splitlines()]

    # A slow restart: well over a page of messages arrives meanwhile.
    shown_last = world.latest_index(busiest)
    while world.latest_index(busiest) <= shown_last + 3 * monitor_module.HISTORY_SIZE:
        clock.advance(60, server)
    newest = world.message(busiest, world.latest_index(busiest)).id

    second = Harness(server, path, clock)
    await second.monitor.start()
    try:
        await second.until(lambda: newest in second.record.getvalue())
    finally:
        await second.monitor.close()
    recorded += [json.loads(line) for line in second.record.getvalue().splitlines()]

    indices: set[int] = set()
    for row in recorded:
        parsed = world.parse_message_id(row["id"])
        if row["c"] == busiest and parsed is not None:
            indices.add(parsed[1])
    missing = set(range(min(indices), max(indices) + 1)) - indices
    assert not missing, f"{len(missing)} never delivered, from index {min(missing)}"


async def test_the_seen_cursor_stays_while_the_reader_is_back_in_history(
    harness: Harness, server: DemoServer, clock: FakeClock
) -> None:
    # The reader sees the end of a window moved back into history (a jump, or
    # paging back past the window): what arrives meanwhile is not seen.
    monitor = harness.monitor
    current, entry = await harness.open_live()
    cursor = monitor.saved.cursors[current]
    seen_before = cursor.seen
    older = entry.timeline.messages()[:10]
    entry.timeline.move_to(older, at_end=False)
    assert entry.timeline.detached
    before = server.world.latest_index(current)
    clock.advance(300, server)
    after = server.world.latest_index(current)
    assert after > before
    newest = server.world.message(current, after).id
    await harness.until(lambda: cursor.received == newest)
    assert harness.seeing
    assert not monitor.seen_now()
    assert cursor.seen == seen_before
    assert entry.unread == after - before


async def test_an_arrival_put_before_a_sent_message_is_drawn_again_not_also_appended(
    harness: Harness, server: DemoServer, clock: FakeClock
) -> None:
    # A sent message shown from the POST's answer whose stream copy has not come:
    # what the stream delivers meanwhile is older on the server and goes before it,
    # so the log draws the timeline again. Appended as well, it was drawn twice.
    current, entry = await harness.open_live()
    sent = Message.from_api(
        {"id": "m_sent", "role": "agent", "message": "mine", "created_at": "2100-01-01T00:00:00Z"}
    )
    entry.timeline.settle_pending(entry.timeline.add_pending(Pending(key="k", text="mine")), sent)
    harness.events.clear()
    before = server.world.latest_index(current)
    clock.advance(300, server)
    after = server.world.latest_index(current)
    assert after > before
    newest = server.world.message(current, after).id
    await harness.until(lambda: newest in entry.timeline)
    assert ids(entry)[-1] == "m_sent"
    redrawn = [
        e
        for e in harness.events
        if isinstance(e, TimelineReplaced) and e.conversation_id == current
    ]
    appended = [
        item.id
        for e in harness.events
        if isinstance(e, Appended) and e.conversation_id == current
        for item in e.items
        if isinstance(item, Message)
    ]
    assert appended == []
    assert sum(e.arrived for e in redrawn) == after - before


async def test_a_live_image_or_document_gets_its_attachments_as_history_has_them(
    harness: Harness, server: DemoServer, clock: FakeClock
) -> None:
    # The stream's message event has no attachments (the SDK's StreamMessageEvent);
    # the app fetches the message once more, so it looks as it will from history.
    monitor = harness.monitor
    current, entry = await harness.open_live()
    start = server.world.latest_index(current)
    media: list[int] = []
    for _ in range(200):
        clock.advance(300, server)
        latest = server.world.latest_index(current)
        media = [
            n
            for n in range(start + 1, latest + 1)
            if server.world.message(current, n).message_type != "text"
        ]
        if len(media) >= 2:
            break
    assert len(media) >= 2, "the demo world sent no image or document"
    wanted = {server.world.message(current, n).id: server.world.message(current, n) for n in media}
    latest_id = server.world.message(current, server.world.latest_index(current)).id
    await harness.until(lambda: latest_id in harness.delivered.get(current, []))

    def held() -> dict[str, Message]:
        return {m.id: m for m in entry.timeline.messages() if m.id in wanted}

    await harness.until(lambda: all(m.attachments for m in held().values()))
    assert set(held()) == set(wanted)
    for message_id, message in held().items():
        history = Message.from_api(wanted[message_id].to_api())
        assert message.attachments == history.attachments
        assert message.message == history.message
    assert monitor.details.requests == len(wanted)


async def test_a_stream_that_cannot_resume_is_filled_from_history_in_the_app(
    harness: Harness, server: DemoServer, clock: FakeClock
) -> None:
    # A server that refuses every `after`: a drop in the middle of a burst
    # leaves the rest of the burst to the history, and the timeline says so.
    monitor = harness.monitor
    top = monitor.book.flat()[0]
    await harness.until(harness.live(top.id))
    server.faults.kinds = frozenset({"after_refused"})
    latest = server.world.latest_index(top.id)
    server.faults.inject("drop", after_messages=3)
    clock.advance(300, server)
    newest = server.world.latest_index(top.id)
    assert newest - latest > 10
    want = [server.world.message(top.id, n).id for n in range(latest + 1, newest + 1)]
    await harness.until(lambda: harness.delivered.get(top.id, [])[-1:] == want[-1:])
    assert harness.delivered[top.id] == want
    assert ids(top)[-len(want) :] == want
    markers = [i for i in top.timeline.items if isinstance(i, Marker)]
    filled = [m for m in markers if "filled from history" in m.label]
    assert filled == [Marker("resumed", f"reconnected — {len(want) - 3} filled from history ↑")]
    assert not any(m.kind == "gap" for m in markers)
    assert server.faults.injected["after_refused"] == 2
