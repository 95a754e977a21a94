"""The demo server's writes: sent messages join history and stream, a paused AI is quiet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import bimpeai
import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.demo.server import DemoServer
from tests.apptools import FakeClock

WAIT = 10.0  # upper bound for anything awaited; never a timing assertion


@pytest.fixture
async def api(server: DemoServer) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server.api_key, server.base_url) as client:
        yield client


@pytest.fixture
async def sdk(server: DemoServer) -> AsyncIterator[bimpeai.AsyncBimpeAI]:
    async with bimpeai.AsyncBimpeAI(api_key=server.api_key, base_url=server.base_url) as client:
        yield client


class Reader:
    """The SDK's stream of one conversation, read in the background."""

    def __init__(self, sdk: bimpeai.AsyncBimpeAI, agent_id: str, conv: str, after: str) -> None:
        self.events: list[bimpeai.StreamMessageEvent] = []
        self._changed = asyncio.Event()
        self._stream = sdk.conversations.messages.stream(agent_id, conv, after=after)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self._stream:
            self.events.append(event)
            self._changed.set()

    async def until(self, count: int) -> list[bimpeai.StreamMessageEvent]:
        async def wait() -> None:
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), WAIT)
        return self.events

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._stream.aclose()  # type: ignore[attr-defined]


def tolu(server: DemoServer) -> tuple[str, str]:
    """The first regular: a message every ~5 s, customer then assistant."""
    return server.world.conversation_ids()[0]


async def newest_id(api: ConsoleClient, agent_id: str, conv: str) -> str:
    return (await api.list_messages(agent_id, conv, limit=1)).items[0].id


async def test_a_sent_message_enters_the_stream_once_then_the_world_goes_on(
    server: DemoServer, api: ConsoleClient, sdk: bimpeai.AsyncBimpeAI, clock: FakeClock
) -> None:
    agent_id, conv = tolu(server)
    reader = Reader(sdk, agent_id, conv, await newest_id(api, agent_id, conv))
    try:
        sent = await api.send_message(agent_id, conv, "A person here: how can I help?")
        events = await reader.until(1)
        assert events[0].id == sent.id
        assert events[0].message == sent.message
        clock.advance(6, server)
        events = await reader.until(2)
        assert events[1].id.startswith("m_")
        assert [e.id for e in events].count(sent.id) == 1
    finally:
        await reader.close()
    # History shows the same order; resuming after the sent id goes on with the world.
    page = await api.list_messages(agent_id, conv, limit=2)
    assert [m.id for m in page.items] == [events[1].id, sent.id]
    resumed = Reader(sdk, agent_id, conv, sent.id)
    try:
        assert (await resumed.until(1))[0].id == events[1].id
    finally:
        await resumed.close()


async def test_a_paused_ai_stops_replying_until_resumed(
    server: DemoServer, api: ConsoleClient, sdk: bimpeai.AsyncBimpeAI, clock: FakeClock
) -> None:
    agent_id, conv = tolu(server)
    reader = Reader(sdk, agent_id, conv, await newest_id(api, agent_id, conv))
    try:
        assert await api.set_ai_status(agent_id, conv, True) is True
        clock.advance(60, server)  # about 12 world messages
        await reader.until(4)
        # The customers' messages still come; the assistant's do not.
        await api.list_messages(agent_id, conv)  # a round trip: the stream caught up
        paused = list(reader.events)
        assert paused
        assert all(e.role != "assistant" for e in paused)
        assert await api.set_ai_status(agent_id, conv, False) is False
        clock.advance(60, server)
        events = await reader.until(len(paused) + 4)
        assert any(e.role == "assistant" for e in events[len(paused) :])
    finally:
        await reader.close()
    history = (await api.list_messages(agent_id, conv, limit=100)).items
    ids = [m.id for m in history]
    assert len(ids) == len(set(ids))
    assert {e.id for e in events} <= set(ids)


async def test_other_conversations_stay_a_function_of_seed_and_clock(
    server: DemoServer, api: ConsoleClient, clock: FakeClock
) -> None:
    agent_id, conv = tolu(server)
    await api.set_ai_status(agent_id, conv, True)
    await api.send_message(agent_id, conv, "hello")
    clock.advance(120, server)
    async with DemoServer(seed=7, clock=clock) as fresh:
        for other_agent, other in server.world.conversation_ids()[1:]:
            ours = await api.list_messages(other_agent, other, limit=20)
            async with ConsoleClient(fresh.api_key, fresh.base_url) as theirs_api:
                theirs = await theirs_api.list_messages(other_agent, other, limit=20)
            assert [m.id for m in ours.items] == [m.id for m in theirs.items]


async def test_sending_clears_attention_and_shows_in_the_list(
    server: DemoServer, api: ConsoleClient
) -> None:
    flagged = [
        (a, c)
        for a, c in server.world.conversation_ids()
        if any(x.id == c and x.needs_attention for x in (await api.list_conversations(a)).items)
    ]
    agent_id, conv = flagged[0]
    await api.send_message(agent_id, conv, "On it.")
    listed = {c.id: c for c in (await api.list_conversations(agent_id, limit=100)).items}
    assert listed[conv].needs_attention is False
    assert listed[conv].last_message_preview == "On it."


async def test_same_key_other_body_is_a_conflict(server: DemoServer, api: ConsoleClient) -> None:
    from bimpe_tui.api.errors import ConflictError

    agent_id, conv = tolu(server)
    await api.send_message(agent_id, conv, "one", idempotency_key="same")
    with pytest.raises(ConflictError):
        await api.send_message(agent_id, conv, "two", idempotency_key="same")


async def test_a_hidden_reply_is_neither_in_history_nor_the_lists_preview(
    server: DemoServer, api: ConsoleClient, clock: FakeClock
) -> None:
    agent_id, conv = tolu(server)
    world = server.world
    await api.set_ai_status(agent_id, conv, True)
    hidden = world.latest_index(conv) + 1
    while world.message(conv, hidden).role != "assistant":
        hidden += 1
    clock.now = world.time_of(conv, hidden)
    assert world.latest_index(conv) == hidden
    reply = world.message(conv, hidden)
    listed = {c.id: c for c in (await api.list_conversations(agent_id, limit=100)).items}
    assert listed[conv].last_message_preview == world.message(conv, hidden - 1).message[:120]
    newest = (await api.list_messages(agent_id, conv, limit=1)).items[0]
    assert newest.id == world.message(conv, hidden - 1).id
    assert newest.id != reply.id
