"""Our client's writes against the demo server: pause/resume, send, keys, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.errors import NotFoundError, PermissionDeniedError, ValidationError
from bimpe_tui.demo.server import DemoServer
from tests.apptools import FakeClock


@pytest.fixture
async def api(server: DemoServer) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server.api_key, server.base_url, max_retries=2) as client:
        yield client


def first_conversation(server: DemoServer) -> tuple[str, str]:
    return server.world.conversation_ids()[0]


async def test_pause_and_resume_return_the_servers_answer(
    server: DemoServer, api: ConsoleClient
) -> None:
    agent_id, conv = first_conversation(server)
    assert await api.set_ai_status(agent_id, conv, True) is True
    listed = {c.id: c for c in (await api.list_conversations(agent_id, limit=100)).items}
    assert listed[conv].is_ai_chat_paused is True
    assert await api.set_ai_status(agent_id, conv, False) is False
    detail = await api.get_conversation(agent_id, conv)
    assert detail.is_ai_chat_paused is False


async def test_send_returns_the_created_message_and_history_has_it(
    server: DemoServer, api: ConsoleClient, clock: FakeClock
) -> None:
    agent_id, conv = first_conversation(server)
    sent = await api.send_message(agent_id, conv, "Hello from staff\nline two")
    assert sent.role == "assistant"
    assert sent.message == "Hello from staff\nline two"
    clock.advance(0.001, server)
    page = await api.list_messages(agent_id, conv, limit=5)
    assert page.items[0].id == sent.id
    assert page.items[0].message == sent.message


async def test_every_write_carries_an_idempotency_key(
    server: DemoServer, api: ConsoleClient
) -> None:
    agent_id, conv = first_conversation(server)
    first = await api.send_message(agent_id, conv, "once", idempotency_key="k-1")
    again = await api.send_message(agent_id, conv, "once", idempotency_key="k-1")
    assert again.id == first.id
    assert server.actions.sent_count(conv) == 1
    other = await api.send_message(agent_id, conv, "twice")
    assert other.id != first.id


async def test_a_lost_answer_is_retried_with_the_same_key_and_sends_once(
    server: DemoServer, api: ConsoleClient
) -> None:
    agent_id, conv = first_conversation(server)
    server.faults.inject("send_lost")
    sent = await api.send_message(agent_id, conv, "only one of me")
    assert server.faults.injected["send_lost"] == 1
    assert server.actions.sent_count(conv) == 1
    assert sent.message == "only one of me"


@pytest.mark.parametrize("text", ["", "   ", "x" * 4097])
async def test_validation_errors(server: DemoServer, api: ConsoleClient, text: str) -> None:
    agent_id, conv = first_conversation(server)
    with pytest.raises(ValidationError) as caught:
        await api.send_message(agent_id, conv, text)
    assert caught.value.field_errors[0][0] == "message"
    assert server.actions.sent_count(conv) == 0


async def test_unknown_conversation_is_404(server: DemoServer, api: ConsoleClient) -> None:
    agent_id, _ = first_conversation(server)
    with pytest.raises(NotFoundError):
        await api.send_message(agent_id, "c_nope", "hi")
    with pytest.raises(NotFoundError):
        await api.set_ai_status(agent_id, "c_nope", True)


async def test_a_read_only_key_gets_insufficient_scope(clock: FakeClock) -> None:
    async with (
        DemoServer(clock=clock, writes_allowed=False) as server,
        ConsoleClient(server.api_key, server.base_url) as api,
    ):
        agent_id, conv = first_conversation(server)
        with pytest.raises(PermissionDeniedError) as caught:
            await api.send_message(agent_id, conv, "hi")
        assert caught.value.code == "insufficient_scope"
        with pytest.raises(PermissionDeniedError):
            await api.set_ai_status(agent_id, conv, True)
