"""The official SDK (bimpeai 0.4.1) is the oracle: it must talk to the demo server unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import bimpeai
import pytest

from bimpe_tui.demo import DEMO_API_KEY, DemoServer

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC).timestamp()
WAIT = 10.0  # upper bound for anything awaited; never a timing assertion


@pytest.fixture
async def server() -> AsyncIterator[DemoServer]:
    async with DemoServer(clock=lambda: NOW, heartbeat_interval=30.0) as srv:
        yield srv


@pytest.fixture
async def client(server: DemoServer) -> AsyncIterator[bimpeai.AsyncBimpeAI]:
    async with bimpeai.AsyncBimpeAI(api_key=DEMO_API_KEY, base_url=server.base_url) as sdk:
        yield sdk


async def collect_stream(
    client: bimpeai.AsyncBimpeAI, agent_id: str, conv: str, after: str, count: int
) -> list[bimpeai.StreamMessageEvent]:
    stream = client.conversations.messages.stream(agent_id, conv, after=after)
    out: list[bimpeai.StreamMessageEvent] = []

    async def take() -> None:
        async for event in stream:
            out.append(event)
            if len(out) == count:
                return

    try:
        await asyncio.wait_for(take(), WAIT)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return out


async def test_sdk_lists_agents_across_pages(
    client: bimpeai.AsyncBimpeAI, server: DemoServer
) -> None:
    first = await client.agents.list(limit=1, sort="name")
    assert first.meta is not None
    assert first.meta.total_count == 3
    assert first.has_next_page
    names = [agent.name async for agent in first]
    assert names == sorted(str(a["name"]) for a in server.world.agents())
    agents = (await client.agents.list()).data
    assert {a.id for a in agents} == {a["id"] for a in server.world.agents()}
    assert all(a.status in {"development", "live", "paused"} for a in agents)


async def test_sdk_lists_conversations_with_filters(
    client: bimpeai.AsyncBimpeAI, server: DemoServer
) -> None:
    seen = 0
    for agent in server.world.agents():
        agent_id = str(agent["id"])
        whatsapp = await client.conversations.list(agent_id, channel="whatsapp")
        assert all(c.channel_type == "whatsapp" for c in whatsapp.data)
        attention = await client.conversations.list(agent_id, needs_attention=True)
        assert all(c.needs_attention for c in attention.data)
        paused = await client.conversations.list(agent_id, is_ai_chat_paused=False)
        assert not any(c.is_ai_chat_paused for c in paused.data)
        seen += len((await client.conversations.list(agent_id, limit=100)).data)
    assert seen == len(server.world.conversation_ids())


async def test_sdk_retrieves_a_conversation(
    client: bimpeai.AsyncBimpeAI, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[5]
    detail = await client.conversations.retrieve(agent_id, conv)
    expected = server.world.conversation_detail(agent_id, conv)
    assert expected is not None
    assert detail.id == conv
    assert detail.full_name == expected["full_name"]
    assert detail.last_message_at == expected["last_message_at"]


async def test_sdk_pages_through_messages(client: bimpeai.AsyncBimpeAI, server: DemoServer) -> None:
    agent_id, conv = server.world.conversation_ids()[2]
    latest = server.world.latest_index(conv)
    page = await client.conversations.messages.list(agent_id, conv, limit=10)
    following = await page.get_next_page()
    assert following is not None
    got = [m.id for m in page.data + following.data]
    assert got == [server.world.message_id(conv, i) for i in range(latest, latest - 20, -1)]
    assert page.meta is not None
    assert page.meta.total_count == latest + 1
    first = page.data[0]
    assert first.created_at == server.world.message(conv, latest).to_api()["created_at"]


async def test_sdk_stream_replays_exactly_after_an_id(
    client: bimpeai.AsyncBimpeAI, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    latest = server.world.latest_index(conv)
    after = server.world.message_id(conv, latest - 7)
    events = await collect_stream(client, agent_id, conv, after, 7)
    expected = [server.world.message(conv, i).to_stream() for i in range(latest - 6, latest + 1)]
    assert [e.model_dump() for e in events] == expected
    assert server.stats["tickets"] == 1
    record = server.stream_requests[-1]
    assert "authorization" not in record.headers
    assert record.query["after"] == after


async def test_sdk_stream_resumes_after_a_clean_close(
    client: bimpeai.AsyncBimpeAI, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    latest = server.world.latest_index(conv)
    after = server.world.message_id(conv, latest - 6)
    server.faults.inject("close", after_messages=3)
    events = await collect_stream(client, agent_id, conv, after, 6)
    assert [e.id for e in events] == [
        server.world.message_id(conv, i) for i in range(latest - 5, latest + 1)
    ]
    # The SDK reconnected with a new ticket and the last id it delivered.
    afters = [r.query["after"] for r in server.stream_requests]
    assert afters == [after, events[2].id]
    assert server.faults.injected == {"close": 1}


async def test_sdk_maps_error_bodies(client: bimpeai.AsyncBimpeAI, server: DemoServer) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    with pytest.raises(bimpeai.NotFoundError) as not_found:
        await client.conversations.retrieve(agent_id, "c_missing")
    assert not_found.value.code == "not_found"
    assert not_found.value.request_id
    with pytest.raises(bimpeai.ValidationError) as invalid:
        await client.conversations.messages.list(agent_id, conv, limit=1000)
    assert invalid.value.field_errors[0]["path"] == "limit"
    async with bimpeai.AsyncBimpeAI(api_key="sk_wrong", base_url=server.base_url) as wrong:
        with pytest.raises(bimpeai.AuthenticationError) as denied:
            await wrong.agents.list()
    assert denied.value.code == "api_key_invalid"
    server.faults.inject("ticket_429")
    with pytest.raises(bimpeai.RateLimitError) as limited:
        await client.conversations.messages.stream_ticket(agent_id, conv, max_retries=0)
    assert limited.value.retry_after == 1
    assert limited.value.remaining == 0


async def test_sync_sdk_lists_agents(server: DemoServer) -> None:
    def list_names() -> list[str]:
        sync = bimpeai.BimpeAI(api_key=DEMO_API_KEY, base_url=server.base_url)
        try:
            return [agent.name for agent in sync.agents.list(sort="name")]
        finally:
            sync.close()

    names = await asyncio.wait_for(asyncio.to_thread(list_names), WAIT)
    assert names == sorted(str(a["name"]) for a in server.world.agents())


async def test_sdk_lists_and_reads_a_newcomer() -> None:
    now = [NOW]
    async with (
        DemoServer(clock=lambda: now[0], heartbeat_interval=30.0) as server,
        bimpeai.AsyncBimpeAI(api_key=DEMO_API_KEY, base_url=server.base_url) as client,
    ):
        world = server.world
        before = {c for _, c in world.conversation_ids()}
        upcoming = [p for p in world.conversation_ids(NOW + 3600) if p[1] not in before]
        agent_id, conv = min(upcoming, key=lambda p: world.time_of(p[1], 0))
        listed = await client.conversations.list(agent_id, limit=100)
        assert conv not in {c.id for c in listed.data}
        now[0] = world.time_of(conv, 5)
        newest = await client.conversations.list(agent_id, sort="-created_at", limit=1)
        assert [c.id for c in newest.data] == [conv]
        detail = await client.conversations.retrieve(agent_id, conv)
        assert detail.last_message_at == world.message(conv, 5).to_api()["created_at"]
        page = await client.conversations.messages.list(agent_id, conv, limit=10)
        assert [m.id for m in page.data] == [world.message_id(conv, i) for i in range(5, -1, -1)]
        server.faults.inject("list_429")
        once = bimpeai.AsyncBimpeAI(api_key=DEMO_API_KEY, base_url=server.base_url, max_retries=0)
        async with once:
            with pytest.raises(bimpeai.RateLimitError) as limited:
                await once.conversations.list(agent_id)
        assert limited.value.retry_after == 1


async def test_sdk_sends_a_message_and_sets_ai_status(
    client: bimpeai.AsyncBimpeAI, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    status = await client.conversations.set_ai_status(agent_id, conv, is_ai_chat_paused=True)
    assert status.is_ai_chat_paused is True
    sent = await client.conversations.messages.send(
        agent_id, conv, message="Staff here: how can I help?", role="assistant"
    )
    assert sent.message == "Staff here: how can I help?"
    assert sent.role == "assistant"
    # The SDK made an Idempotency-Key; the same key again gives the same message back.
    again = await client.conversations.messages.send(
        agent_id, conv, message="once", idempotency_key="oracle-key"
    )
    repeat = await client.conversations.messages.send(
        agent_id, conv, message="once", idempotency_key="oracle-key"
    )
    assert repeat.id == again.id
    assert server.actions.sent_count(conv) == 2
    page = await client.conversations.messages.list(agent_id, conv, limit=2)
    assert [m.id for m in page.data] == [again.id, sent.id]
    status = await client.conversations.set_ai_status(agent_id, conv, is_ai_chat_paused=False)
    assert status.is_ai_chat_paused is False
    with pytest.raises(bimpeai.BadRequestError):
        await client.conversations.messages.send(agent_id, conv, message="")
    with pytest.raises(bimpeai.NotFoundError):
        await client.conversations.set_ai_status(agent_id, "c_unknown", is_ai_chat_paused=True)


async def test_sdk_retrieves_one_message_with_its_attachments(
    client: bimpeai.AsyncBimpeAI, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    latest = server.world.latest_index(conv)
    media = next(
        n for n in range(latest, -1, -1) if server.world.message(conv, n).message_type != "text"
    )
    world_message = server.world.message(conv, media)
    got = await client.conversations.messages.retrieve(agent_id, conv, world_message.id)
    assert got.model_dump(exclude_none=True) == world_message.to_api()
    assert got.attachments
    # The stream's event for it carries exactly the SDK's StreamMessageEvent fields
    # (no attachments), as the real service's does.
    assert set(world_message.to_stream()) == set(bimpeai.StreamMessageEvent.model_fields)
    with pytest.raises(bimpeai.NotFoundError):
        await client.conversations.messages.retrieve(agent_id, conv, "m_nope_1")
