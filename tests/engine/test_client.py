"""Our REST client against the demo server: envelope, pages, filters, errors, retries."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from functools import partial

import pytest

from bimpe_tui.api.client import ConsoleClient, iter_pages
from bimpe_tui.api.errors import (
    APIConnectionError,
    AuthenticationError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ValidationError,
)
from bimpe_tui.demo.server import DemoServer

FIXED_NOW = 1_795_000_000.0  # 2026-11-18, a fixed clock keeps lists stable


@pytest.fixture
async def still() -> AsyncIterator[DemoServer]:
    """A demo server whose clock stands still."""
    async with DemoServer(seed=7, clock=lambda: FIXED_NOW) as server:
        yield server


@pytest.fixture
async def api(still: DemoServer) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(still.api_key, still.base_url) as client:
        yield client


async def test_agents_and_their_conversations_page_by_page(
    still: DemoServer, api: ConsoleClient
) -> None:
    page = await api.list_agents()
    assert sorted(a.id for a in page.items) == sorted(str(a["id"]) for a in still.world.agents())
    assert page.meta is not None
    assert page.meta.total_count == 3
    for agent in page.items:
        listed = [
            c.id
            async for c in iter_pages(
                partial(
                    lambda agent_id, n: api.list_conversations(agent_id, page=n, limit=2), agent.id
                )
            )
        ]
        world = [str(c["id"]) for c in still.world.conversations(agent.id)]
        assert sorted(listed) == sorted(world)
        assert len(listed) == len(set(listed))


async def test_conversation_filters(still: DemoServer, api: ConsoleClient) -> None:
    flagged = []
    for agent in (await api.list_agents()).items:
        page = await api.list_conversations(agent.id, needs_attention=True, limit=100)
        assert all(c.needs_attention for c in page.items)
        flagged += page.items
        paused = await api.list_conversations(agent.id, is_ai_chat_paused=True)
        assert all(c.is_ai_chat_paused for c in paused.items)
    assert flagged


async def test_one_conversation_in_detail(still: DemoServer, api: ConsoleClient) -> None:
    agent_id, conversation_id = still.world.conversation_ids()[0]
    detail = await api.get_conversation(agent_id, conversation_id)
    assert detail.id == conversation_id
    assert detail.full_name


async def test_messages_newest_first_with_paging(still: DemoServer, api: ConsoleClient) -> None:
    agent_id, conversation_id = still.world.conversation_ids()[0]
    latest = still.world.latest_index(conversation_id)
    first = await api.list_messages(agent_id, conversation_id, limit=5)
    second = await api.list_messages(agent_id, conversation_id, limit=5, page=2)
    ids = [m.id for m in first.items + second.items]
    assert ids == [still.world.message(conversation_id, latest - i).id for i in range(10)]
    assert first.has_next_page


async def test_wrong_key_is_an_authentication_error(still: DemoServer) -> None:
    async with ConsoleClient("sk_wrong_000000000", still.base_url) as api:
        with pytest.raises(AuthenticationError) as caught:
            await api.list_agents()
    assert caught.value.code == "api_key_invalid"
    assert "sk_wrong_000000000" not in str(caught.value)


async def test_validation_error_names_the_field(api: ConsoleClient) -> None:
    with pytest.raises(ValidationError) as caught:
        await api.list_agents(limit=1000)
    assert any(path == "limit" for path, _ in caught.value.field_errors)


async def test_unknown_agent_is_not_found(api: ConsoleClient) -> None:
    with pytest.raises(NotFoundError):
        await api.list_conversations("ag_nobody")


async def test_ticket_503_is_retried_then_succeeds(still: DemoServer, api: ConsoleClient) -> None:
    agent_id, conversation_id = still.world.conversation_ids()[0]
    still.faults.inject("ticket_503")
    ticket = await api.create_stream_ticket(agent_id, conversation_id)
    assert ticket.ticket
    assert still.faults.injected["ticket_503"] == 1


async def test_without_retries_the_typed_error_comes_out(
    still: DemoServer, api: ConsoleClient
) -> None:
    agent_id, conversation_id = still.world.conversation_ids()[0]
    still.faults.inject("ticket_503")
    with pytest.raises(InternalServerError):
        await api.create_stream_ticket(agent_id, conversation_id, max_retries=0)
    still.faults.inject("ticket_429")
    with pytest.raises(RateLimitError) as caught:
        await api.create_stream_ticket(agent_id, conversation_id, max_retries=0)
    assert caught.value.retry_after == 1.0


async def test_429_is_retried_after_the_servers_pause(
    still: DemoServer, api: ConsoleClient
) -> None:
    agent_id, conversation_id = still.world.conversation_ids()[0]
    still.faults.inject("ticket_429")
    assert (await api.create_stream_ticket(agent_id, conversation_id)).ticket


async def test_connection_refused_is_a_connection_error_without_secrets() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    async with ConsoleClient("sk_secret_abcdef123", url, max_retries=0) as api:
        with pytest.raises(APIConnectionError) as caught:
            await api.list_agents()
    assert "sk_secret_abcdef123" not in str(caught.value)
    # Which server, and why (issue 23): not a bare "cannot connect".
    assert f"cannot reach 127.0.0.1:{port} (connection refused)" in str(caught.value)
