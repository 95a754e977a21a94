"""The app's core shows a new message whatever its `created_at` (issue 22, item 1).

A server node whose clock runs 2 s behind sends a new message created "before"
the last one delivered. The engine delivers a new id (tests/engine/test_engine_edges.py);
these tests follow it on into the `Monitor`: nothing between the stream and the
timeline (a history cut, a cursor compared by time, the timeline's repeats) may
drop it. Counted where it leaves the stream (the tap, before the timeline drops
repeats), where it leaves the core (its `Appended` events), and in the timeline.

Over real sockets: a loopback server whose stream connections the test writes
to as it goes, so each message is sent only once the one before was delivered.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bimpe_tui.api.models import Message
from bimpe_tui.api.stream import canonical_time
from bimpe_tui.book import Entry, Marker, Timeline
from bimpe_tui.monitor import (
    Appended,
    Connection,
    Monitor,
    MonitorConfig,
    MonitorEvent,
    StatusChanged,
)
from bimpe_tui.state import StateStore
from tests.loopback import (
    API_KEY,
    LoopbackServer,
    Reply,
    agent,
    conversation,
    frame,
    heartbeat,
    message,
)

#: Creation times a few minutes before now: the server's `Date` answers after
#: them all, so right after a reconnect a message created before the resume
#: point may belong to a replay (the engine's probe holds it) and is not
#: taken for news by its time alone.
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def at(second: int) -> str:
    """A creation time, `second` seconds after BASE, in the API's form."""
    return canonical_time(BASE + timedelta(seconds=second))


#: The conversation's history, m_1 to m_5, a second apart.
HISTORY = [message(f"m_{i}", created_at=at(i)) for i in range(1, 6)]


@dataclass
class Feed(Reply):
    """A stream connection the test writes to as it goes: bytes, or None to drop it."""

    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    attached: asyncio.Event = field(default_factory=asyncio.Event)

    def send(self, *chunks: bytes) -> None:
        for chunk in chunks:
            self.queue.put_nowait(chunk)

    def drop(self) -> None:
        self.queue.put_nowait(None)

    async def opened(self, limit: float = 10.0) -> None:
        async with asyncio.timeout(limit):
            await self.attached.wait()


class FeedServer(LoopbackServer):
    """The scripted loopback server; a `Feed` among its stream replies is played live."""

    def __init__(self) -> None:
        super().__init__()
        self.feeds: list[Feed] = []
        #: Holds the answer to the next history page after listing it (see _messages).
        self.page_gate: asyncio.Event | None = None
        self.page_listed = asyncio.Event()

    def feed(self) -> Feed:
        """Queue a stream connection the test writes to."""
        answer = Feed()
        self.feeds.append(answer)
        self.add_streams([answer])
        return answer

    async def _play(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if not isinstance(reply, Feed):
            return await super()._play(request, reply)
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        await response.prepare(request)
        reply.attached.set()
        try:
            while (chunk := await reply.queue.get()) is not None:
                await response.write(chunk)
                reply.sent += len(chunk)
        except (ConnectionError, RuntimeError):
            return response  # the client went away
        if request.transport is not None:
            request.transport.abort()
        return response

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        # The page is listed now; with a gate, it is answered once the test opens it.
        response = await super()._messages(request)
        gate, self.page_gate = self.page_gate, None
        if gate is not None:
            self.page_listed.set()
            await gate.wait()
        return response

    async def stop(self) -> None:
        if self.page_gate is not None:
            self.page_gate.set()
        for answer in self.feeds:
            answer.drop()  # no connection left hanging for the runner to time out
        await super().stop()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    """Agent ag_1 with one conversation, c_1, and its history m_1 to m_5."""
    loopback = FeedServer()
    loopback.add(agent("ag_1"), conversation("c_1"), HISTORY)
    await loopback.start()
    try:
        yield loopback
    finally:
        await loopback.stop()


class Core:
    """A Monitor on the loopback server: every event it emitted, and what it delivered."""

    def __init__(self, server: FeedServer, state_path: Path) -> None:
        self.events: list[MonitorEvent] = []
        #: Per conversation, the ids as they left the stream (before the timeline
        #: drops repeats).
        self.tapped: dict[str, list[str]] = {}
        self.changed = asyncio.Event()
        self.monitor = Monitor(
            MonitorConfig(
                state=StateStore(state_path, debounce=0.05),
                connection=Connection.to(server.base_url, API_KEY),
                stream_options={"base_delay": 0.01, "read_timeout": 10.0},
                record=io.StringIO(),
                tap=self._tap,
                refresh_interval=0,
            ),
            self._emit,
        )

    def _emit(self, event: MonitorEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def _tap(self, conversation_id: str, messages: Sequence[Message]) -> None:
        self.tapped.setdefault(conversation_id, []).extend(m.id for m in messages)
        self.changed.set()  # a batch the timeline drops whole emits no event

    async def until(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def entry(self) -> Entry:
        return self.monitor.book.entries["c_1"]

    async def delivered(self, message_id: str) -> None:
        """Wait until `message_id` has left the stream (a failure if it never does)."""
        try:
            await self.until(lambda: message_id in self.tapped.get("c_1", []))
        except TimeoutError:
            pytest.fail(f"{message_id} never left the stream: {self.tapped}", pytrace=False)

    async def attached(self) -> None:
        """Wait until c_1 has its history in and its stream connected."""

        def check() -> bool:
            entry = self.monitor.book.get("c_1")
            return (
                entry is not None
                and entry.history_loaded
                and entry.status is not None
                and entry.status.state in ("live", "resumed")
            )

        await self.until(check)

    def appended(self) -> list[str]:
        """The ids the core announced as appended to c_1's timeline, in order."""
        return [
            item.id
            for e in self.events
            if isinstance(e, Appended) and e.conversation_id == "c_1"
            for item in e.items
            if isinstance(item, Message)
        ]

    def shown(self) -> list[str]:
        """The ids c_1's timeline holds, in order."""
        return [m.id for m in self.entry().timeline.messages()]

    def statuses(self) -> list[StatusChanged]:
        """c_1's statuses, in order."""
        return [
            e for e in self.events if isinstance(e, StatusChanged) and e.conversation_id == "c_1"
        ]

    def said(self) -> str:
        """Every status of c_1 and every marker in its timeline, in words."""
        statuses = [e.status.describe() for e in self.statuses()]
        markers = [i.label for i in self.entry().timeline.items if isinstance(i, Marker)]
        return " | ".join(statuses + markers)

    def received(self) -> tuple[str | None, str | None]:
        """c_1's received cursor: the id and time the next stream resumes after."""
        cursor = self.monitor.saved.cursors["c_1"]
        return cursor.received, cursor.received_at


@pytest.fixture
async def core(server: FeedServer, tmp_path: Path) -> AsyncIterator[Core]:
    """The core watching c_1 (the only conversation: opened at start)."""
    watcher = Core(server, tmp_path / "state.toml")
    try:
        yield watcher
    finally:
        await watcher.monitor.close()


async def test_a_live_message_from_a_node_2_s_behind_reaches_the_timeline(
    server: FeedServer, core: Core
) -> None:
    stream = server.feed()
    await core.monitor.start()
    await stream.opened()
    await core.attached()
    assert server.stream_queries[0]["after"] == "m_5"
    stream.send(heartbeat(), frame("m_6", created_at=at(6)))  # nothing to replay: live
    await core.delivered("m_6")
    assert core.received() == ("m_6", at(6))
    # A new message from a node 2 s behind: created before m_6, delivered after it.
    stream.send(frame("m_7", created_at=at(4)))
    await core.delivered("m_7")
    assert core.received() == ("m_7", at(4))
    stream.send(frame("m_8", created_at=at(7)))
    await core.delivered("m_8")

    # Once as it left the stream, once as it left the core, once in the timeline.
    assert core.tapped["c_1"] == ["m_6", "m_7", "m_8"]
    assert core.appended() == ["m_6", "m_7", "m_8"]
    assert core.shown() == ["m_1", "m_2", "m_3", "m_4", "m_5", "m_6", "m_7", "m_8"]
    assert core.received() == ("m_8", at(7))
    assert "already shown" not in core.said()
    assert [s.status.state for s in core.statuses()] == ["connecting", "live", "resumed"]


@pytest.mark.parametrize("replays", [False, True], ids=["honours-after", "ignores-after"])
async def test_a_skewed_message_right_after_a_reconnect_reaches_the_timeline(
    server: FeedServer, core: Core, replays: bool
) -> None:
    first = server.feed()
    await core.monitor.start()
    await first.opened()
    await core.attached()
    first.send(heartbeat(), frame("m_6", created_at=at(6)))
    await core.delivered("m_6")
    assert core.received() == ("m_6", at(6))

    # The server drops the connection; the stream resumes after m_6.
    second = server.feed()
    first.drop()
    await second.opened()
    assert server.stream_queries[1]["after"] == "m_6"
    if replays:
        # A server that ignores `after` sends the conversation again from its
        # start: all of it shown (m_1 to m_5 from the history, m_6 by the stream).
        second.send(*(frame(f"m_{i}", created_at=at(i)) for i in range(1, 7)))
    # The first new message comes from a node 2 s behind: created before the
    # resume point, never shown. The server then goes quiet (a heartbeat): no
    # more replay is coming.
    second.send(frame("m_7", created_at=at(4)), heartbeat())
    await core.delivered("m_7")
    assert core.received() == ("m_7", at(4))
    second.send(frame("m_8", created_at=at(7)))
    await core.delivered("m_8")

    assert core.tapped["c_1"] == ["m_6", "m_7", "m_8"]
    assert core.appended() == ["m_6", "m_7", "m_8"]
    assert core.shown() == ["m_1", "m_2", "m_3", "m_4", "m_5", "m_6", "m_7", "m_8"]
    states = [s.status.state for s in core.statuses()]
    skipped = [s.status for s in core.statuses() if s.status.state == "frame_skipped"]
    if replays:
        # What came again is said to be shown, and it was: m_1 to m_4 (m_5 and
        # m_6, the stream's own, are dropped by id without a word).
        assert [s.cause for s in skipped] == [
            "the server sent 4 messages from before the resume point again "
            "(it ignored `after`): dropped, already shown"
        ]
    else:
        assert skipped == []
        assert "already shown" not in core.said()
    assert "gap_possible" not in states
    resumed = [s.status for s in core.statuses() if s.status.state == "resumed"]
    assert [(s.after, s.replayed) for s in resumed] == [("m_5", 0), ("m_6", 1)]
    assert "reconnected — 1 replayed ↑" in core.said()


async def test_a_skewed_message_that_came_while_the_reader_was_back_in_history_stays(
    server: FeedServer, core: Core
) -> None:
    # The reader scrolls back past the window, which lets go of its newest end;
    # coming back to the end fetches the newest page again. That page is listed
    # just before a new message from a node 2 s behind arrives, and answered
    # after: the message follows the page, though created before its newest.
    server.messages["c_1"] = [message(f"m_{i}", created_at=at(i)) for i in range(60, 0, -1)]
    stream = server.feed()
    await core.monitor.start()
    await stream.opened()
    await core.attached()
    stream.send(heartbeat())
    entry = core.entry()
    assert core.shown() == [f"m_{i}" for i in range(11, 61)]
    # The reader pages back ten older ones into a window of 55: its newest five go.
    entry.timeline.limit = 55
    older = [Message.from_api(message(f"m_{i}", created_at=at(i))) for i in range(1, 11)]
    entry.timeline.prepend(older)
    assert entry.timeline.detached
    assert core.shown() == [f"m_{i}" for i in range(1, 56)]

    server.page_gate = gate = asyncio.Event()
    assert core.monitor.return_to_newest("c_1")
    async with asyncio.timeout(10):
        await server.page_listed.wait()
    skewed = message("m_61", created_at=at(58))  # 2 s before m_60
    server.messages["c_1"].insert(0, skewed)
    stream.send(frame("m_61", created_at=at(58)))
    await core.delivered("m_61")
    assert core.received() == ("m_61", at(58))
    gate.set()
    await core.until(lambda: not entry.timeline.detached)

    assert core.tapped["c_1"] == ["m_61"]
    assert core.shown() == [f"m_{i}" for i in range(11, 62)]
    # What the reader sees again is told as new: nothing else to count.
    assert entry.timeline.last_message is not None
    assert entry.timeline.last_message.id == "m_61"


def test_a_refill_newer_than_every_arrival_puts_none_after_it() -> None:
    # The other side of telling arrivals by ids: the newest page holds neither
    # an arrival nor the message delivered before them (the stream lags more
    # than a page behind the listing). The arrivals are older than the page:
    # put after it, they would stand out of order; the stream brings the page's
    # own messages again, dropped as repeats.
    def made(i: int) -> Message:
        return Message.from_api(message(f"m_{i}", created_at=at(i)))

    timeline = Timeline(limit=8)
    timeline.add(made(i) for i in range(10, 16))
    timeline.prepend(made(i) for i in range(5, 10))
    assert timeline.detached
    timeline.add([made(16)])
    timeline.refill([made(i) for i in range(30, 20, -1)])
    assert [m.id for m in timeline.messages()] == [f"m_{i}" for i in range(23, 31)]
    assert timeline.add([made(30), made(31)]) == [made(31)]
