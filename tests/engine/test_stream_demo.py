"""The stream engine against the demo server: every fault, exactly once, in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bimpe_tui.api import reader as reader_module
from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.sse import SSEEvent, SSEParser
from bimpe_tui.api.stream import ResumableStream, StreamEvent
from bimpe_tui.demo.faults import FaultPlan
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.demo.world import AdjustableClock
from tests.streamkit import collect, count_messages, messages, states, statuses


def busiest(server: DemoServer, n: int = 1, need: int = 600) -> list[tuple[str, str]]:
    """The `n` fastest conversations with 100 messages behind and `need` still to come.

    Conversations end now (the demo world gives them lives), so the most messages so
    far no longer means the fastest, and a fast one may be about to end: on a clock
    that runs, only the long conversation is sure to go on (for LONG_OVERRUN more).
    """
    world = server.world

    def pace(conversation_id: str) -> float:
        return world.time_of(conversation_id, 100) - world.time_of(conversation_id, 0)

    def left(conversation_id: str) -> int:
        final = world.final_index(conversation_id)
        return need if final is None else final - world.latest_index(conversation_id)

    ranked = sorted(
        (
            ids
            for ids in world.conversation_ids()
            if world.latest_index(ids[1]) >= 100 and left(ids[1]) >= need
        ),
        key=lambda ids: pace(ids[1]),
    )
    assert len(ranked) >= n
    return ranked[:n]


def expected_ids(server: DemoServer, conversation_id: str, after_index: int, n: int) -> list[str]:
    return [server.world.message(conversation_id, after_index + 1 + i).id for i in range(n)]


def start_point(server: DemoServer, conversation_id: str, back: int = 20) -> int:
    return server.world.latest_index(conversation_id) - back


@pytest.mark.parametrize(
    "faults",
    [
        ["drop"],
        ["cut"],
        ["close"],
        ["silent"],
        ["drop", "stream_401"],
        ["drop", "ticket_503"],
        ["drop", "ticket_429"],
        ["drop", "after_410"],
    ],
    ids=lambda kinds: "+".join(kinds),
)
async def test_each_fault_delivers_every_message_once_in_order(
    demo: DemoServer, client: ConsoleClient, faults: list[str]
) -> None:
    agent_id, conversation_id = busiest(demo)[0]
    start = start_point(demo, conversation_id)
    first, *later = faults
    demo.faults.inject(first, after_messages=5)
    stream = ResumableStream(
        client,
        agent_id,
        conversation_id,
        after=demo.world.message(conversation_id, start).id,
        read_timeout=1.0,
        base_delay=0.05,
    )

    def inject_later(events: list[StreamEvent]) -> bool:
        # The request-level fault hits the reconnection, not the first connect.
        if later and events and getattr(events[-1], "state", None) == "reconnecting":
            demo.faults.inject(later.pop())
        return len(messages(events)) >= 30

    events = await collect(stream, inject_later)
    assert [m.id for m in messages(events)] == expected_ids(demo, conversation_id, start, 30)
    for kind in faults:
        assert demo.faults.injected[kind] == 1, kind
    assert "reconnecting" in states(events) or "gap_possible" in states(events)
    assert "gave_up" not in states(events)


async def test_every_connection_gets_a_fresh_ticket_and_no_key(
    demo: DemoServer, client: ConsoleClient
) -> None:
    agent_id, conversation_id = busiest(demo)[0]
    start = start_point(demo, conversation_id)
    demo.faults.inject("drop", count=2, after_messages=3)
    after = demo.world.message(conversation_id, start).id
    stream = ResumableStream(client, agent_id, conversation_id, after=after, base_delay=0.05)
    events = await collect(stream, count_messages(12))
    delivered = [m.id for m in messages(events)]
    records = list(demo.stream_requests)
    assert len(records) == 3
    tickets = [r.query["ticket"] for r in records]
    assert len(set(tickets)) == 3
    # Each connection resumes after the last message delivered before it.
    assert [r.query.get("after") for r in records] == [after, delivered[2], delivered[5]]
    for record in records:
        assert "authorization" not in record.headers
        assert record.headers.get("accept") == "text/event-stream"
        assert demo.api_key not in record.query_string


async def test_first_open_without_after_starts_live(
    demo: DemoServer, client: ConsoleClient
) -> None:
    agent_id, conversation_id = busiest(demo)[0]
    latest = demo.world.latest_index(conversation_id)
    stream = ResumableStream(client, agent_id, conversation_id)
    events = await collect(stream, count_messages(2))
    first = messages(events)[0]
    parsed = demo.world.parse_message_id(first.id)
    assert parsed is not None
    assert parsed[1] > latest
    assert "after" not in demo.stream_requests[0].query


async def test_resume_after_an_iso_time_replays_and_reports_the_count(
    demo: DemoServer, client: ConsoleClient
) -> None:
    agent_id, conversation_id = busiest(demo)[0]
    start = start_point(demo, conversation_id, back=10)
    since = demo.world.message(conversation_id, start).to_stream()["created_at"]
    assert isinstance(since, str)
    stream = ResumableStream(client, agent_id, conversation_id, after=since)
    events = await collect(stream, lambda ev: "resumed" in states(ev) and len(messages(ev)) > 12)
    assert [m.id for m in messages(events)] == expected_ids(
        demo, conversation_id, start, len(messages(events))
    )
    resumed = next(s for s in statuses(events) if s.state == "resumed")
    assert resumed.after == since
    assert resumed.replayed is not None
    assert resumed.replayed >= 10


class _HeartbeatCounter(SSEParser):
    """The engine's parser, counting the heartbeat frames it parsed off the wire."""

    parsed = 0
    enough = asyncio.Event()

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        events = super().feed(chunk)
        _HeartbeatCounter.parsed += sum(1 for e in events if e.event == "heartbeat")
        if _HeartbeatCounter.parsed >= 3:
            # Set while parsing; the test task runs only once the engine has
            # handled this chunk's events and waits for the next chunk.
            _HeartbeatCounter.enough.set()
        return events


async def test_heartbeats_are_consumed_not_delivered(
    server: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo clock stands still, so the server sends heartbeats and nothing else.
    monkeypatch.setattr(reader_module, "SSEParser", _HeartbeatCounter)
    _HeartbeatCounter.parsed = 0
    _HeartbeatCounter.enough = asyncio.Event()
    agent_id, conversation_id = busiest(server)[0]
    async with ConsoleClient(server.api_key, server.base_url) as api:
        stream = ResumableStream(api, agent_id, conversation_id)
        waiter = asyncio.ensure_future(collect(stream, limit=30))
        async with asyncio.timeout(10):
            await _HeartbeatCounter.enough.wait()
        await stream.aclose()
        events = await waiter
    assert _HeartbeatCounter.parsed >= 3
    assert server.stats["heartbeats"] >= 3
    # Not one of them came out as a message, nor as a frame that failed to be one.
    assert messages(events) == []
    assert states(events) == ["connecting", "live"]
    assert stream.last_activity is not None


async def test_unknown_conversation_gives_up(demo: DemoServer, client: ConsoleClient) -> None:
    agent_id, _ = busiest(demo)[0]
    events = await collect(ResumableStream(client, agent_id, "c_does_not_exist"))
    assert statuses(events)[-1].describe() == "gave up: conversation not found"


async def test_refused_key_gives_up_with_that_cause(demo: DemoServer) -> None:
    agent_id, conversation_id = busiest(demo)[0]
    async with ConsoleClient("sk_not_the_demo_key_42", demo.base_url) as api:
        events = await collect(ResumableStream(api, agent_id, conversation_id))
    final = statuses(events)[-1]
    assert final.state == "gave_up"
    assert "API key was refused" in (final.cause or "")
    assert "sk_not_the_demo_key_42" not in final.describe()


async def test_expired_ticket_leads_to_a_new_one(demo: DemoServer, client: ConsoleClient) -> None:
    agent_id, conversation_id = busiest(demo)[0]
    start = start_point(demo, conversation_id)
    demo.faults.inject("stream_401")
    stream = ResumableStream(
        client,
        agent_id,
        conversation_id,
        after=demo.world.message(conversation_id, start).id,
        base_delay=0.05,
    )
    events = await collect(stream, count_messages(5))
    assert [m.id for m in messages(events)] == expected_ids(demo, conversation_id, start, 5)
    reconnect = next(s for s in statuses(events) if s.state == "reconnecting")
    assert reconnect.cause == "stream ticket refused (401)"


async def test_closing_the_iterator_closes_the_connection(
    demo: DemoServer, client: ConsoleClient
) -> None:
    agent_id, conversation_id = busiest(demo)[0]
    stream = ResumableStream(client, agent_id, conversation_id)
    async with asyncio.timeout(10):
        async for event in stream:
            if getattr(event, "state", None) == "live":
                break
        assert demo.active_streams == 1
        await stream.aclose()
        await demo.wait_until(lambda: demo.active_streams == 0)


@pytest.mark.long(25)
async def test_long_chaos_run_delivers_exactly_the_servers_messages() -> None:
    faults = FaultPlan.chaos(rate=6.0, seed=11)
    # A fixed start (then real time): which four conversations are fast and far from
    # their end does not depend on the day the test runs.
    clock = AdjustableClock(start=datetime(2026, 11, 23, 10, 0, tzinfo=UTC).timestamp())
    async with DemoServer(
        seed=3, rate=100.0, heartbeat_interval=0.2, faults=faults, clock=clock
    ) as server:
        async with ConsoleClient(server.api_key, server.base_url, max_retries=0) as api:
            targets = busiest(server, 4)
            runs = []
            for agent_id, conversation_id in targets:
                start = start_point(server, conversation_id, back=100)
                stream = ResumableStream(
                    api,
                    agent_id,
                    conversation_id,
                    after=server.world.message(conversation_id, start).id,
                    # As the app does from its state file: the time of the
                    # resume point, in case chaos refuses the very first `after`.
                    after_created_at=server.world.message(conversation_id, start).created_at_iso,
                    read_timeout=1.0,
                    base_delay=0.05,
                    max_retries=30,
                )
                runs.append((conversation_id, start, stream))
            results = await asyncio.gather(
                *(collect(s, count_messages(300), limit=120) for _, _, s in runs)
            )
        injected = sum(server.faults.injected.values())
    for (conversation_id, start, _), events in zip(runs, results, strict=True):
        got = [m.id for m in messages(events)]
        assert got == expected_ids(server, conversation_id, start, 300)
    assert injected >= 100, server.faults.injected


async def test_a_refused_first_resume_point_is_found_in_history(
    demo: DemoServer, client: ConsoleClient
) -> None:
    # Only the id is known (as with `tail --after ID`): the engine looks its
    # time up in the history and resumes from there, so nothing is lost.
    agent_id, conversation_id = busiest(demo)[0]
    start = start_point(demo, conversation_id)
    demo.faults.inject("after_410")
    stream = ResumableStream(
        client, agent_id, conversation_id, after=demo.world.message(conversation_id, start).id
    )
    events = await collect(stream, count_messages(25))
    assert [m.id for m in messages(events)] == expected_ids(demo, conversation_id, start, 25)
    gap = next(s for s in statuses(events) if s.state == "gap_possible")
    assert "resuming from its time" in (gap.cause or "")
