"""Tests for the demo server over real sockets: REST, tickets, streams and fault injection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from bimpe_tui.demo import DEMO_API_KEY, DemoServer, FaultPlan, parse_fault_spec
from bimpe_tui.demo.faults import FAULT_KINDS
from bimpe_tui.demo.scripts import ESCALATION
from bimpe_tui.demo.server import API_PREFIX
from bimpe_tui.demo.world import AdjustableClock, format_iso

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC).timestamp()
WAIT = 5.0  # generous upper bound for anything we wait for; never a timing assertion
AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
REPO = Path(__file__).resolve().parents[2]


# --- helpers -----------------------------------------------------------------------------


class FrameReader:
    """Reads raw SSE frames from an httpx streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.aiter_bytes()
        self.buffer = b""
        self.raw: list[bytes] = []

    async def _next(self) -> dict[str, str]:
        while b"\n\n" not in self.buffer:
            self.buffer += await anext(self._chunks)
        raw, self.buffer = self.buffer.split(b"\n\n", 1)
        self.raw.append(raw + b"\n\n")
        fields: dict[str, str] = {}
        for line in raw.decode().split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = value
        return fields

    async def frame(self) -> dict[str, str]:
        """The next frame (raises StopAsyncIteration at a clean end)."""
        return await asyncio.wait_for(self._next(), WAIT)

    async def messages(self, count: int) -> list[dict[str, str]]:
        """The next ``count`` message frames, skipping heartbeats."""
        out: list[dict[str, str]] = []
        while len(out) < count:
            frame = await self.frame()
            if frame.get("event") == "message":
                out.append(frame)
        return out


async def wait_until(server: DemoServer, predicate: Callable[[], bool]) -> None:
    """Wait (bounded) until the server's state satisfies ``predicate``."""
    await asyncio.wait_for(server.wait_until(predicate), WAIT)


@pytest.fixture
async def server() -> AsyncIterator[DemoServer]:
    async with DemoServer(clock=lambda: NOW, heartbeat_interval=30.0) as srv:
        yield srv


@pytest.fixture
async def api(server: DemoServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as client:
        yield client


@pytest.fixture
async def bare(server: DemoServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no Authorization header, as the stream GET must be made."""
    async with httpx.AsyncClient(base_url=server.base_url + API_PREFIX) as client:
        yield client


@contextlib.asynccontextmanager
async def serving(
    **options: Any,
) -> AsyncIterator[tuple[DemoServer, httpx.AsyncClient, httpx.AsyncClient]]:
    """A demo server made with ``options``, and the clients the ``api`` and ``bare``
    fixtures give for it: (server, api, bare)."""
    async with (
        DemoServer(**options) as server,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as api,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX) as bare,
    ):
        yield server, api, bare


def conv_path(agent_id: str, conv: str) -> str:
    return f"/agents/{agent_id}/conversations/{conv}"


async def new_ticket(api: httpx.AsyncClient, agent_id: str, conv: str) -> str:
    response = await api.post(conv_path(agent_id, conv) + "/stream-ticket")
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["ticket"])


@contextlib.asynccontextmanager
async def open_stream(
    api: httpx.AsyncClient,
    bare: httpx.AsyncClient,
    agent_id: str,
    conv: str,
    *,
    after: str | None = None,
    expect: int = 200,
) -> AsyncIterator[httpx.Response]:
    params = {"ticket": await new_ticket(api, agent_id, conv)}
    if after is not None:
        params["after"] = after
    async with bare.stream("GET", conv_path(agent_id, conv) + "/stream", params=params) as resp:
        assert resp.status_code == expect
        yield resp


def expected_frame(server: DemoServer, conv: str, index: int) -> bytes:
    message = server.world.message(conv, index)
    data = json.dumps(message.to_stream(), ensure_ascii=False, separators=(",", ":"))
    return f"id: {message.id}\nevent: message\ndata: {data}\n\n".encode()


async def stream_into_fault(
    api: httpx.AsyncClient,
    bare: httpx.AsyncClient,
    server: DemoServer,
    fault: str,
    count: int,
    ending: type[BaseException] | tuple[type[BaseException], ...],
) -> tuple[str, int, FrameReader, list[dict[str, str]]]:
    """Replay the first conversation from ten back with ``fault`` due after ``count`` messages.

    Reads the ``count`` messages, then the next frame must end in ``ending``. Returns the
    conversation, its latest index, the reader (what it still buffers) and the frames read.
    """
    agent_id, conv = server.world.conversation_ids()[0]
    latest = server.world.latest_index(conv)
    server.faults.inject(fault, after_messages=count)
    after = server.world.message_id(conv, latest - 10)
    async with open_stream(api, bare, agent_id, conv, after=after) as resp:
        reader = FrameReader(resp)
        frames = await reader.messages(count)
        with pytest.raises(ending):
            await reader.frame()
    return conv, latest, reader, frames


def busy(server: DemoServer) -> tuple[str, str]:
    """The conversation with the most messages."""
    return max(server.world.conversation_ids(), key=lambda p: server.world.latest_index(p[1]))


# --- REST --------------------------------------------------------------------------------


async def test_agents_envelope_and_request_id(api: httpx.AsyncClient) -> None:
    response = await api.get("/agents")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"]
    body = response.json()
    assert body["message"] == "ok"
    assert len(body["data"]) == 3
    assert body["meta"] == {
        "total_count": 3,
        "page_count": 1,
        "current_page": 1,
        "limit": 20,
        "has_next_page": False,
        "has_previous_page": False,
    }
    echoed = await api.get("/agents", headers={"X-Request-Id": "req_from_client"})
    assert echoed.headers["x-request-id"] == "req_from_client"


async def test_agents_pagination_search_and_sort(api: httpx.AsyncClient) -> None:
    by_name = (await api.get("/agents", params={"sort": "name"})).json()["data"]
    names = [a["name"] for a in by_name]
    assert names == sorted(names, key=str.casefold)
    reverse = (await api.get("/agents", params={"sort": "-name"})).json()["data"]
    assert [a["name"] for a in reverse] == names[::-1]
    page2 = (await api.get("/agents", params={"sort": "name", "limit": 1, "page": 2})).json()
    assert [a["id"] for a in page2["data"]] == [by_name[1]["id"]]
    assert page2["meta"]["page_count"] == 3
    assert page2["meta"]["has_next_page"] is True
    assert page2["meta"]["has_previous_page"] is True
    beyond = (await api.get("/agents", params={"page": 9})).json()
    assert beyond["data"] == []
    assert beyond["meta"]["has_next_page"] is False
    found = (await api.get("/agents", params={"search": "KITCHEN"})).json()
    assert [a["name"] for a in found["data"]] == ["Mama Ebi's Kitchen"]
    assert found["meta"]["total_count"] == 1


async def test_conversations_filters_and_default_order(
    api: httpx.AsyncClient, server: DemoServer
) -> None:
    agents = [str(a["id"]) for a in server.world.agents()]
    everything = []
    for agent_id in agents:
        body = (await api.get(f"/agents/{agent_id}/conversations")).json()
        stamps = [c["last_message_at"] for c in body["data"]]
        assert stamps == sorted(stamps, reverse=True)
        everything += body["data"]
    assert len(everything) == len(server.world.conversation_ids())

    async def filtered(params: dict[str, str]) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for agent_id in agents:
            response = await api.get(f"/agents/{agent_id}/conversations", params=params)
            assert response.status_code == 200
            out += response.json()["data"]
        return out

    whatsapp = await filtered({"channel": "whatsapp"})
    assert whatsapp
    assert all(c["channel_type"] == "whatsapp" for c in whatsapp)
    tests = await filtered({"is_test_channel": "true"})
    assert tests
    assert all(str(c["channel_type"]).startswith("test_") for c in tests)
    real = await filtered({"is_test_channel": "false"})
    assert len(tests) + len(real) == len(everything)
    paused = await filtered({"is_ai_chat_paused": "true"})
    assert {c["id"] for c in paused} == {c["id"] for c in everything if c["is_ai_chat_paused"]}
    assert sum(not server.world.is_newcomer(str(c["id"])) for c in paused) == 1
    attention = await filtered({"needs_attention": "true"})
    assert {c["id"] for c in attention} == {c["id"] for c in everything if c["needs_attention"]}
    username = str(everything[0]["channel_user_username"])
    assert [c["id"] for c in await filtered({"search": username.upper()})] == [everything[0]["id"]]


async def test_conversation_detail_and_not_found(
    api: httpx.AsyncClient, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    response = await api.get(conv_path(agent_id, conv))
    assert response.status_code == 200
    body = response.json()
    assert "meta" not in body
    assert body["data"] == server.world.conversation_detail(agent_id, conv)
    assert {"full_name", "email", "phone_number", "profile_picture"} <= body["data"].keys()
    other_agent = next(a for a, _ in server.world.conversation_ids() if a != agent_id)
    for path in (
        conv_path(agent_id, "c_nope"),
        conv_path(other_agent, conv),
        conv_path("ag_nope", conv),
        "/agents/ag_nope/conversations",
        conv_path(agent_id, "c_nope") + "/messages",
        "/no/such/route",
    ):
        missing = await api.get(path)
        assert missing.status_code == 404, path
        assert missing.json()["code"] == "not_found"
        assert missing.json()["request_id"] == missing.headers["x-request-id"]
    ticket = await api.post(conv_path(agent_id, "c_nope") + "/stream-ticket")
    assert ticket.status_code == 404


async def test_messages_paging_newest_first(api: httpx.AsyncClient, server: DemoServer) -> None:
    agent_id, conv = server.world.conversation_ids()[4]
    latest = server.world.latest_index(conv)
    url = conv_path(agent_id, conv) + "/messages"
    page1 = (await api.get(url, params={"limit": 5})).json()
    page2 = (await api.get(url, params={"limit": 5, "page": 2})).json()
    assert page1["meta"]["total_count"] == latest + 1
    assert page1["meta"]["page_count"] == -(-(latest + 1) // 5)
    expected = [server.world.message(conv, i).to_api() for i in range(latest, latest - 10, -1)]
    assert page1["data"] + page2["data"] == expected
    oldest = (await api.get(url, params={"limit": 3, "sort": "created_at"})).json()
    assert [m["id"] for m in oldest["data"]] == [server.world.message_id(conv, i) for i in range(3)]
    last_page = page1["meta"]["page_count"]
    tail = (await api.get(url, params={"limit": 5, "page": last_page})).json()
    assert tail["data"][-1]["id"] == server.world.message_id(conv, 0)
    assert tail["meta"]["has_next_page"] is False


async def test_messages_search_reaches_back_to_the_first_message(
    api: httpx.AsyncClient, server: DemoServer
) -> None:
    # Conversations now have a beginning, so search covers all of one (it used to stop
    # 2,000 messages back, when histories reached back to the world's epoch).
    world = server.world
    long = world.long_conversation()
    assert long is not None
    for agent_id, conv in (world.conversation_ids()[0], long):
        latest = world.latest_index(conv)
        needle = "jollof" if conv != long[1] else "order"
        expected = [
            world.message(conv, i).id
            for i in range(latest, -1, -1)
            if needle in world.message(conv, i).message.casefold()
        ]
        url = conv_path(agent_id, conv) + "/messages"
        body = (await api.get(url, params={"search": needle.title()})).json()
        assert body["meta"]["total_count"] == len(expected) > 0
        assert [m["id"] for m in body["data"]] == expected[:20]
        last = body["meta"]["page_count"]
        tail = (await api.get(url, params={"search": needle, "page": last, "limit": 20})).json()
        assert tail["data"][-1]["id"] == expected[-1]
        oldest = (
            await api.get(url, params={"search": needle, "sort": "created_at", "limit": 1})
        ).json()
        assert [m["id"] for m in oldest["data"]] == expected[-1:]


async def test_auth_errors(server: DemoServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url + API_PREFIX) as client:
        missing = await client.get("/agents")
        wrong = await client.get("/agents", headers={"Authorization": "Bearer sk_wrong"})
        basic = await client.get("/agents", headers={"Authorization": "Basic abc"})
        agent_id, conv = server.world.conversation_ids()[0]
        ticket = await client.post(conv_path(agent_id, conv) + "/stream-ticket")
    assert missing.status_code == wrong.status_code == basic.status_code == 401
    assert missing.json()["code"] == "api_key_missing"
    assert basic.json()["code"] == "api_key_missing"
    assert wrong.json()["code"] == "api_key_invalid"
    assert isinstance(wrong.json()["message"], str)
    assert wrong.json()["request_id"] == wrong.headers["x-request-id"]
    assert ticket.status_code == 401


async def test_validation_errors_list_every_problem(
    api: httpx.AsyncClient, server: DemoServer
) -> None:
    agent_id, _ = server.world.conversation_ids()[0]
    response = await api.get(
        f"/agents/{agent_id}/conversations",
        params={
            "page": "0",
            "limit": "500",
            "channel": "sms",
            "is_test_channel": "yes",
            "sort": "colour",
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    paths = [entry.split(":", 1)[0] for entry in body["message"]]
    assert paths == ["page", "limit", "sort", "channel", "is_test_channel"]
    assert all(": " in entry for entry in body["message"])
    bad_page = await api.get("/agents", params={"page": "two"})
    assert bad_page.json()["message"] == ["page: must be an integer"]


# --- tickets -----------------------------------------------------------------------------


async def test_ticket_shape(api: httpx.AsyncClient, server: DemoServer) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    response = await api.post(conv_path(agent_id, conv) + "/stream-ticket")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["ticket"].startswith("tk_")
    assert data["expires_in"] == 60
    assert server.stats["tickets"] == 1


async def stream_status(
    bare: httpx.AsyncClient, agent_id: str, conv: str, params: dict[str, str]
) -> tuple[int, dict[str, str]]:
    async with bare.stream("GET", conv_path(agent_id, conv) + "/stream", params=params) as resp:
        if resp.status_code != 200:
            await resp.aread()
            return resp.status_code, resp.json()
        return 200, {}


async def test_tickets_are_single_use(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    ticket = await new_ticket(api, agent_id, conv)
    assert await stream_status(bare, agent_id, conv, {"ticket": ticket}) == (200, {})
    status, body = await stream_status(bare, agent_id, conv, {"ticket": ticket})
    assert status == 401
    assert body["code"] == "unauthorized"
    assert body["message"] == "stream ticket is invalid, used or expired"


async def test_expired_missing_and_foreign_tickets_are_refused(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    (agent_id, conv), (other_agent, other_conv) = server.world.conversation_ids()[:2]
    expired = await new_ticket(api, agent_id, conv)
    server.expire_tickets()
    assert (await stream_status(bare, agent_id, conv, {"ticket": expired}))[0] == 401
    assert (await stream_status(bare, agent_id, conv, {}))[0] == 401
    assert (await stream_status(bare, agent_id, conv, {"ticket": "tk_made_up"}))[0] == 401
    foreign = await new_ticket(api, other_agent, other_conv)
    assert (await stream_status(bare, agent_id, conv, {"ticket": foreign}))[0] == 401
    # The refused attempt used it up.
    assert (await stream_status(bare, other_agent, other_conv, {"ticket": foreign}))[0] == 401


# --- streams -----------------------------------------------------------------------------


async def test_replay_after_message_id_is_exact(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[6]
    latest = server.world.latest_index(conv)
    after = server.world.message_id(conv, latest - 5)
    async with open_stream(api, bare, agent_id, conv, after=after) as resp:
        assert resp.headers["content-type"] == "text/event-stream"
        assert resp.headers["cache-control"] == "no-cache"
        reader = FrameReader(resp)
        frames = await reader.messages(5)
    assert [f["id"] for f in frames] == [
        server.world.message_id(conv, i) for i in range(latest - 4, latest + 1)
    ]
    assert reader.raw == [expected_frame(server, conv, i) for i in range(latest - 4, latest + 1)]
    assert server.stats["frames"] == 5
    record = server.stream_requests[-1]
    assert record.query["after"] == after
    assert "authorization" not in record.headers
    assert record.query_string.startswith("ticket=tk_")


@pytest.mark.parametrize("style", ["ms", "offset"])
async def test_replay_after_timestamp(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer, style: str
) -> None:
    agent_id, conv = server.world.conversation_ids()[1]
    latest = server.world.latest_index(conv)
    stamp = str(server.world.message(conv, latest - 3).to_api()["created_at"])
    if style == "offset":
        west_africa = timezone(timedelta(hours=1))
        stamp = datetime.fromisoformat(stamp).astimezone(west_africa).isoformat()
        assert stamp.endswith("+01:00")
    async with open_stream(api, bare, agent_id, conv, after=stamp) as resp:
        frames = await FrameReader(resp).messages(3)
    assert [f["id"] for f in frames] == [
        server.world.message_id(conv, i) for i in range(latest - 2, latest + 1)
    ]


async def test_replay_from_before_a_conversation_began_starts_at_its_first_message(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    # Conversations have a beginning: a time before it replays from message 0, and
    # an ended one replays to its last message and then sends only heartbeats.
    world = server.world
    agent_id, conv = min(world.conversation_ids()[:15], key=lambda p: world.latest_index(p[1]))
    latest = world.latest_index(conv)
    before = format_iso(world.time_of(conv, 0) - 3600)
    async with open_stream(api, bare, agent_id, conv, after=before) as resp:
        frames = await FrameReader(resp).messages(latest + 1)
    assert [f["id"] for f in frames] == [world.message_id(conv, i) for i in range(latest + 1)]
    # The seat's previous conversation ended before this one began; still streamed by id.
    seat = [c for _, c in world.conversation_ids()].index(conv)
    _, ended = world.conversation_ids(world.time_of(conv, 0) - 0.001)[seat]
    final = world.final_index(ended)
    assert final is not None
    assert world.latest_index(ended) == final
    after = world.message_id(ended, final - 2)
    async with open_stream(api, bare, agent_id, ended, after=after) as resp:
        frames = await FrameReader(resp).messages(2)
    assert [f["id"] for f in frames] == [world.message_id(ended, i) for i in (final - 1, final)]


async def test_unknown_after_id_is_gone(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    (agent_id, conv), (_, other_conv) = server.world.conversation_ids()[:2]
    latest = server.world.latest_index(conv)
    for after in (
        "m_x",
        server.world.message_id(other_conv, 3),
        server.world.message_id(conv, latest + 10),
    ):
        ticket = await new_ticket(api, agent_id, conv)
        status, body = await stream_status(bare, agent_id, conv, {"ticket": ticket, "after": after})
        assert status == 410
        assert body["code"] == "not_found"
        assert body["message"] == f"after: unknown message id {after!r}"


async def test_live_messages_arrive_as_the_clock_passes_them() -> None:
    async with serving(rate=200.0, heartbeat_interval=30.0) as (server, api, bare):
        agent_id, conv = busy(server)
        opened_at = time.time()
        async with open_stream(api, bare, agent_id, conv) as resp:
            frames = await FrameReader(resp).messages(4)
    indices = [server.world.parse_message_id(f["id"]) for f in frames]
    assert [i[0] for i in indices if i] == [conv] * 4
    numbers = [i[1] for i in indices if i]
    assert numbers == list(range(numbers[0], numbers[0] + 4))
    # Live means: nothing from before the stream opened.
    assert server.world.time_of(conv, numbers[0]) > opened_at - 1.0


async def test_heartbeats_when_nothing_else_is_sent() -> None:
    async with serving(clock=lambda: NOW, heartbeat_interval=0.05) as (server, api, bare):
        agent_id, conv = server.world.conversation_ids()[0]
        async with open_stream(api, bare, agent_id, conv) as resp:
            reader = FrameReader(resp)
            frames = [await reader.frame(), await reader.frame()]
    assert all(f == {"event": "heartbeat", "data": f'{{"ts":{int(NOW)}}}'} for f in frames)
    assert reader.raw[0] == f'event: heartbeat\ndata: {{"ts":{int(NOW)}}}\n\n'.encode()
    assert server.stats["heartbeats"] >= 2


async def test_a_manual_clock_and_wake_deliver_new_messages() -> None:
    now = [NOW]
    async with serving(clock=lambda: now[0], heartbeat_interval=30.0) as (server, api, bare):
        agent_id, conv = busy(server)
        latest = server.world.latest_index(conv)
        async with open_stream(api, bare, agent_id, conv) as resp:
            reader = FrameReader(resp)
            await wait_until(server, lambda: server.active_streams == 1)
            now[0] = server.world.time_of(conv, latest + 2)
            server.wake()
            frames = await reader.messages(2)
    assert [f["id"] for f in frames] == [
        server.world.message_id(conv, latest + 1),
        server.world.message_id(conv, latest + 2),
    ]


async def test_a_large_replay_is_batched(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    agent_id, conv = busy(server)
    latest = server.world.latest_index(conv)
    count = 5000
    after = server.world.message_id(conv, latest - count)
    async with open_stream(api, bare, agent_id, conv, after=after) as resp:
        reader = FrameReader(resp)
        frames = await reader.messages(count)
    assert frames[-1]["id"] == server.world.message_id(conv, latest)
    assert len({f["id"] for f in frames}) == count
    assert server.stats["frames"] == count


# --- faults ------------------------------------------------------------------------------


async def test_ticket_429_fault(api: httpx.AsyncClient, server: DemoServer) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    server.faults.inject("ticket_429")
    limited = await api.post(conv_path(agent_id, conv) + "/stream-ticket")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert limited.headers["retry-after"] == "1"
    assert limited.headers["x-ratelimit-limit"] == "60"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) > 0
    assert server.faults.injected == {"ticket_429": 1}
    assert (await api.post(conv_path(agent_id, conv) + "/stream-ticket")).status_code == 201


async def test_ticket_503_fault(api: httpx.AsyncClient, server: DemoServer) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    server.faults.inject("ticket_503", 2)
    for _ in range(2):
        failed = await api.post(conv_path(agent_id, conv) + "/stream-ticket")
        assert failed.status_code == 503
        assert failed.json()["code"] == "internal_error"
    assert server.faults.injected["ticket_503"] == 2
    assert (await api.post(conv_path(agent_id, conv) + "/stream-ticket")).status_code == 201


async def test_stream_401_fault_consumes_a_valid_ticket(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    server.faults.inject("stream_401")
    ticket = await new_ticket(api, agent_id, conv)
    status, body = await stream_status(bare, agent_id, conv, {"ticket": ticket})
    assert (status, body["code"]) == (401, "unauthorized")
    assert server.faults.injected["stream_401"] == 1
    assert (await stream_status(bare, agent_id, conv, {"ticket": ticket}))[0] == 401
    fresh = await new_ticket(api, agent_id, conv)
    assert (await stream_status(bare, agent_id, conv, {"ticket": fresh}))[0] == 200


async def test_after_410_fault_only_hits_id_cursors(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    known = server.world.message_id(conv, server.world.latest_index(conv) - 1)
    stamp = str(server.world.message(conv, 5).to_api()["created_at"])
    server.faults.inject("after_410")
    by_time = {"ticket": await new_ticket(api, agent_id, conv), "after": stamp}
    assert (await stream_status(bare, agent_id, conv, by_time))[0] == 200
    assert server.faults.pending == ["after_410"]
    by_id = {"ticket": await new_ticket(api, agent_id, conv), "after": known}
    status, body = await stream_status(bare, agent_id, conv, by_id)
    assert status == 410
    assert body == {
        "message": f"after: unknown message id {known!r}",
        "code": "not_found",
        "request_id": body["request_id"],
    }
    assert server.faults.injected == {"after_410": 1}


async def test_after_refused_refuses_every_after_by_id_and_by_time(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    server.faults.kinds = frozenset({"after_refused"})
    agent_id, conv = server.world.conversation_ids()[0]
    known = server.world.message_id(conv, server.world.latest_index(conv) - 1)
    stamp = str(server.world.message(conv, 5).to_api()["created_at"])
    for after in (known, stamp, known):
        query = {"ticket": await new_ticket(api, agent_id, conv), "after": after}
        status, body = await stream_status(bare, agent_id, conv, query)
        assert (status, body["code"]) == (400, "bad_request")
        assert "after" in body["message"]
    live = {"ticket": await new_ticket(api, agent_id, conv)}
    assert (await stream_status(bare, agent_id, conv, live))[0] == 200
    assert server.faults.injected == {"after_refused": 3}


async def test_drop_fault_aborts_between_frames(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    conv, latest, reader, frames = await stream_into_fault(
        api, bare, server, "drop", 2, (httpx.RemoteProtocolError, httpx.ReadError)
    )
    assert [f["id"] for f in frames] == [
        server.world.message_id(conv, latest - 9),
        server.world.message_id(conv, latest - 8),
    ]
    assert reader.buffer == b""
    assert server.faults.injected == {"drop": 1}


async def test_cut_fault_leaves_an_incomplete_frame(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    conv, latest, reader, frames = await stream_into_fault(
        api, bare, server, "cut", 1, (httpx.RemoteProtocolError, httpx.ReadError)
    )
    assert frames[0]["id"] == server.world.message_id(conv, latest - 9)
    whole = expected_frame(server, conv, latest - 8)
    assert reader.buffer
    assert whole.startswith(reader.buffer)
    assert len(reader.buffer) < len(whole)
    assert b"\n\n" not in reader.buffer
    assert server.faults.injected == {"cut": 1}


async def test_silent_fault_stops_everything_but_keeps_the_connection() -> None:
    async with serving(clock=lambda: NOW, heartbeat_interval=0.05) as (server, api, bare):
        agent_id, conv = server.world.conversation_ids()[0]
        async with open_stream(api, bare, agent_id, conv) as resp:
            reader = FrameReader(resp)
            assert (await reader.frame())["event"] == "heartbeat"
            server.faults.inject("silent", after_messages=0)
            await wait_until(server, lambda: server.faults.injected["silent"] == 1)
            heartbeats = server.stats["heartbeats"]
            # Asserting an absence: several heartbeat intervals pass with nothing sent.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader._next(), 0.4)
            assert server.stats["heartbeats"] == heartbeats
            assert server.active_streams == 1
        # The client left: the silent handler notices and goes away quietly.
        await wait_until(server, lambda: server.active_streams == 0)


async def test_close_fault_ends_the_stream_cleanly(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    _, _, reader, frames = await stream_into_fault(
        api, bare, server, "close", 3, StopAsyncIteration
    )
    assert len(frames) == 3
    assert reader.buffer == b""
    assert server.faults.injected == {"close": 1}


async def test_queued_stream_faults_fire_in_order_across_connections(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    after = server.world.message_id(conv, server.world.latest_index(conv) - 20)
    server.faults.inject("close", 2, after_messages=1)
    for _ in range(2):
        async with open_stream(api, bare, agent_id, conv, after=after) as resp:
            reader = FrameReader(resp)
            assert len(await reader.messages(1)) == 1
            with pytest.raises(StopAsyncIteration):
                await reader.frame()
    assert server.faults.injected == {"close": 2}
    assert server.faults.pending == []


async def test_chaos_applies_mid_stream_faults(
    api: httpx.AsyncClient, bare: httpx.AsyncClient, server: DemoServer
) -> None:
    # A very high rate makes a mid-stream fault due almost at once on an idle stream.
    server.faults = FaultPlan(kinds=["close"], rate=200.0, seed=1)
    agent_id, conv = server.world.conversation_ids()[0]
    async with open_stream(api, bare, agent_id, conv) as resp:
        with pytest.raises(StopAsyncIteration):
            await FrameReader(resp).frame()
    assert server.faults.injected["close"] == 1


async def test_disconnects_are_quiet(
    api: httpx.AsyncClient,
    bare: httpx.AsyncClient,
    server: DemoServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent_id, conv = busy(server)
    after = server.world.message_id(conv, server.world.latest_index(conv) - 50_000)
    with caplog.at_level(logging.DEBUG):
        async with open_stream(api, bare, agent_id, conv, after=after) as resp:
            await FrameReader(resp).messages(10)
        await wait_until(server, lambda: server.active_streams == 0)
        async with open_stream(api, bare, agent_id, conv) as resp:
            await wait_until(server, lambda: server.active_streams == 1)
        await wait_until(server, lambda: server.active_streams == 0)
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == []


async def test_stop_closes_open_streams_promptly() -> None:
    server = DemoServer(clock=lambda: NOW, heartbeat_interval=30.0)
    await server.start()
    async with (
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as api,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX) as bare,
    ):
        agent_id, conv = server.world.conversation_ids()[0]
        async with contextlib.AsyncExitStack() as stack:
            readers = []
            for _ in range(3):
                resp = await stack.enter_async_context(open_stream(api, bare, agent_id, conv))
                readers.append(FrameReader(resp))
            await wait_until(server, lambda: server.active_streams == 3)
            server.faults.inject("silent", after_messages=0)
            await wait_until(server, lambda: server.faults.injected["silent"] == 1)
            await asyncio.wait_for(server.stop(), WAIT)
            assert server.active_streams == 0
            assert not server.running
            for reader in readers:
                with pytest.raises((StopAsyncIteration, httpx.TransportError)):
                    await reader.frame()
    await server.stop()  # idempotent


async def test_restart_shows_the_same_world() -> None:
    async with DemoServer(clock=lambda: NOW) as first:
        port = first.port
        async with httpx.AsyncClient(base_url=first.base_url + API_PREFIX, headers=AUTH) as c:
            before = (await c.get("/agents")).json()["data"]
    async with (
        DemoServer(clock=lambda: NOW, port=port) as second,
        httpx.AsyncClient(base_url=second.base_url + API_PREFIX, headers=AUTH) as c,
    ):
        after = (await c.get("/agents")).json()["data"]
    assert before == after


# --- fault plan --------------------------------------------------------------------------


def test_parse_fault_spec() -> None:
    plan = parse_fault_spec("drop, cut,silent", rate=0.5, seed=3)
    assert plan.kinds == {"drop", "cut", "silent"}
    assert (plan.rate, plan.seed) == (0.5, 3)
    # `all` is every fault of chance; a server that never resumes is named on its own.
    assert parse_fault_spec("all", rate=0.1, seed=0).kinds == set(FAULT_KINDS) - {"after_refused"}
    assert "after_refused" in parse_fault_spec("all,after_refused", rate=0.1, seed=0).kinds
    assert parse_fault_spec("", rate=0.1, seed=0).kinds == set()
    with pytest.raises(ValueError, match="bogus"):
        parse_fault_spec("drop,bogus", rate=0.1, seed=0)
    with pytest.raises(ValueError, match="nope"):
        parse_fault_spec("all,nope", rate=0.1, seed=0)


def test_fault_plan_is_off_by_default_and_seeded() -> None:
    off = FaultPlan()
    assert not off.chaos_enabled
    assert off.take_ticket_fault() is None
    assert off.next_chaos_delay() is None

    def draws(plan: FaultPlan) -> list[object]:
        out: list[object] = []
        for _ in range(200):
            out.append(plan.take_ticket_fault())
            out.append(plan.take_stream_request_fault(after_is_id=True))
            out.append(plan.next_chaos_delay())
        return out

    a, b = FaultPlan.chaos(rate=0.1, seed=5), FaultPlan.chaos(rate=0.1, seed=5)
    assert draws(a) == draws(b)
    assert a.injected == b.injected
    # About min(0.25, 2 * rate) = 20% of requests fail.
    assert 40 < sum(a.injected[k] for k in ("ticket_429", "ticket_503")) < 120
    with pytest.raises(ValueError, match="unknown fault"):
        a.inject("explode")


def test_queued_faults_respect_after_messages() -> None:
    plan = FaultPlan()
    plan.inject("drop", after_messages=3)
    plan.inject("stream_401")
    assert plan.queued_stream_threshold() == 3
    assert plan.take_queued_stream_fault(2) is None
    assert plan.take_queued_stream_fault(3) == "drop"
    assert plan.take_stream_request_fault(after_is_id=False) == "stream_401"
    assert plan.injected == {"drop": 1, "stream_401": 1}


# --- standalone --------------------------------------------------------------------------


async def test_run_standalone_prints_one_line_and_exits_cleanly_on_sigint() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = "from bimpe_tui.demo import run_standalone; raise SystemExit(run_standalone())"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("BimpeAI demo server on http://127.0.0.1:")
        assert line.endswith(f"  (api key: {DEMO_API_KEY})\n")
        base = line.split()[4]
        async with httpx.AsyncClient(base_url=base + API_PREFIX, headers=AUTH) as client:
            assert (await client.get("/agents")).status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert out == b""
    assert b"Traceback" not in err


# --- for benchmarks: bench world, control endpoints, replay cache -------------------------


async def test_bench_world_is_served_across_pages() -> None:
    async with (
        DemoServer(clock=lambda: NOW, bench_conversations=150) as server,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as api,
    ):
        agents = (await api.get("/agents")).json()["data"]
        assert [a["name"] for a in agents] == ["Bench Shop"]
        path = f"/agents/{agents[0]['id']}/conversations"
        first = (await api.get(path, params={"limit": 100})).json()
        second = (await api.get(path, params={"limit": 100, "page": 2})).json()
        ids = [c["id"] for c in first["data"] + second["data"]]
        assert first["meta"]["total_count"] == 150
        assert sorted(ids) == sorted(c for _, c in server.world.conversation_ids())


async def test_control_endpoints_are_off_by_default(api: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=api.base_url.join("/"), headers=AUTH) as root:
        response = await root.post("/_demo/faults", json={"kind": "drop"})
    assert response.status_code == 404


async def test_control_clock_moves_the_world_and_wakes_streams() -> None:
    clock = AdjustableClock(start=NOW, speed=0)
    async with (
        DemoServer(clock=clock, control=True, heartbeat_interval=30.0) as server,
        httpx.AsyncClient(base_url=server.base_url, headers=AUTH) as root,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as api,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX) as bare,
    ):
        agent_id, conv = server.world.conversation_ids()[0]
        latest = server.world.latest_index(conv)
        async with open_stream(api, bare, agent_id, conv) as resp:
            reader = FrameReader(resp)
            due = server.world.time_of(conv, latest + 3)
            moved = await root.post("/_demo/clock", json={"now": due})
            assert moved.status_code == 200
            assert moved.json()["data"] == {"now": due, "speed": 0.0}
            frames = await reader.messages(3)
        assert [f["id"] for f in frames] == [
            server.world.message_id(conv, latest + n) for n in (1, 2, 3)
        ]
        advanced = (await root.post("/_demo/clock", json={"advance": 5})).json()["data"]
        assert advanced["now"] == due + 5
        fast = (await root.post("/_demo/clock", json={"speed": 2.5})).json()["data"]
        assert fast["speed"] == 2.5
        bad = await root.post("/_demo/clock", json={"now": "soon", "speed": -1})
        assert bad.status_code == 400
        assert bad.json()["message"] == ["now: must be a number", "speed: must not be negative"]
        assert (await root.post("/_demo/clock", content=b"[1]")).status_code == 400
        assert (await root.post("/_demo/clock", content=b"{")).status_code == 400


async def test_control_clock_needs_an_adjustable_clock() -> None:
    async with (
        DemoServer(clock=lambda: NOW, control=True) as server,
        httpx.AsyncClient(base_url=server.base_url, headers=AUTH) as root,
    ):
        response = await root.post("/_demo/clock", json={"advance": 1})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


async def test_control_faults_and_stats() -> None:
    async with (
        DemoServer(clock=lambda: NOW, control=True, heartbeat_interval=30.0) as server,
        httpx.AsyncClient(base_url=server.base_url) as anonymous,
        httpx.AsyncClient(base_url=server.base_url, headers=AUTH) as root,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as api,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX) as bare,
    ):
        refused = await anonymous.post("/_demo/faults", json={"kind": "drop"})
        assert refused.status_code == 401
        assert (await anonymous.get("/_demo/stats")).status_code == 401
        bad = await root.post("/_demo/faults", json={"kind": "boom", "count": -1})
        assert bad.status_code == 400
        assert len(bad.json()["message"]) == 2
        queued = await root.post("/_demo/faults", json={"kind": "drop", "after_messages": 0})
        assert queued.json()["data"] == {"pending": ["drop"]}
        agent_id, conv = server.world.conversation_ids()[0]
        async with open_stream(api, bare, agent_id, conv) as resp:
            reader = FrameReader(resp)
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await reader.frame()
        stats = (await root.get("/_demo/stats")).json()["data"]
        assert stats["injected"] == {"drop": 1}
        assert stats["streams"] == 1
        assert stats["tickets"] == 1
        assert "replay_cache_bytes" not in stats


async def test_replay_cache_serves_the_same_bytes() -> None:
    async with (
        DemoServer(clock=lambda: NOW, replay_cache_bytes=64 * 1024 * 1024) as cached,
        httpx.AsyncClient(base_url=cached.base_url + API_PREFIX, headers=AUTH) as capi,
        httpx.AsyncClient(base_url=cached.base_url + API_PREFIX) as cbare,
    ):
        agent_id, conv = busy(cached)
        latest = cached.world.latest_index(conv)
        count = 9000  # crosses block boundaries
        after = cached.world.message_id(conv, latest - count)
        for _ in range(2):  # cold, then from the cache
            async with open_stream(capi, cbare, agent_id, conv, after=after) as resp:
                reader = FrameReader(resp)
                frames = await reader.messages(count)
            assert [f["id"] for f in frames] == [
                cached.world.message_id(conv, n) for n in range(latest - count + 1, latest + 1)
            ]
            for n in (0, 1, 4095, 4096, count - 1):
                assert reader.raw[n] == expected_frame(cached, conv, latest - count + 1 + n)
        assert cached.stats["frames"] == 2 * count
        assert cached.stream_hub.frame_cache is not None
        assert 0 < cached.stream_hub.frame_cache.size <= 64 * 1024 * 1024


async def test_replay_cache_stops_exactly_at_a_queued_fault() -> None:
    async with serving(clock=lambda: NOW, replay_cache_bytes=1) as (server, api, bare):
        agent_id, conv = busy(server)
        latest = server.world.latest_index(conv)
        server.faults.inject("drop", after_messages=2500)
        after = server.world.message_id(conv, latest - 5000)
        async with open_stream(api, bare, agent_id, conv, after=after) as resp:
            reader = FrameReader(resp)
            frames = await reader.messages(2500)
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await reader.frame()
        assert frames[-1]["id"] == server.world.message_id(conv, latest - 2500)
        # A cache smaller than one block still keeps the block in use.
        assert server.stream_hub.frame_cache is not None
        assert len(server.stream_hub.frame_cache._blocks) == 1


def test_demo_server_cli_bench_flags() -> None:
    from bimpe_tui.cli import build_parser

    args = build_parser().parse_args(
        [
            "demo-server",
            "--bench-conversations",
            "200",
            "--bench-period",
            "0.05",
            "--control",
            "--replay-cache",
            "256",
        ]
    )
    assert (args.bench_conversations, args.bench_period, args.control, args.replay_cache) == (
        200,
        0.05,
        True,
        256,
    )
    plain = build_parser().parse_args(["demo-server"])
    assert (plain.bench_conversations, plain.control, plain.replay_cache) == (0, False, 0)


# --- newcomers and list faults -----------------------------------------------------------


class Clock:
    """A clock the test sets."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def listed_ids(api: httpx.AsyncClient, agent_id: str, **params: str) -> list[str]:
    response = await api.get(f"/agents/{agent_id}/conversations", params={"limit": "100", **params})
    assert response.status_code == 200, response.text
    return [str(c["id"]) for c in response.json()["data"]]


def first_escalation(server: DemoServer, after: float) -> tuple[str, str, int]:
    """A newcomer whose customer asks for a person after ``after``: agent, id, message index."""
    world = server.world
    for step in range(48):
        for agent_id, conv in world.conversation_ids(after + step * 1800):
            if not world.is_newcomer(conv):
                continue
            final = world.final_index(conv)
            assert final is not None
            for index in range(0, final + 1, 2):
                if world.message(conv, index).message == ESCALATION.customer:
                    if world.time_of(conv, index) > after:
                        return agent_id, conv, index
                    break
    raise AssertionError("no escalation in a day")


async def test_newcomers_appear_in_the_list_as_the_clock_moves() -> None:
    clock = Clock()
    async with (
        DemoServer(clock=clock, heartbeat_interval=30.0) as server,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as api,
    ):
        world = server.world
        before = {c for _, c in world.conversation_ids()}
        upcoming = [p for p in world.conversation_ids(NOW + 3600) if p[1] not in before]
        agent_id, conv = min(upcoming, key=lambda p: world.time_of(p[1], 0))
        assert conv not in await listed_ids(api, agent_id)
        assert (await api.get(conv_path(agent_id, conv))).status_code == 404
        clock.now = world.time_of(conv, 0)
        listed = await listed_ids(api, agent_id)
        assert conv in listed
        assert (await listed_ids(api, agent_id, sort="-created_at"))[0] == conv
        detail = (await api.get(conv_path(agent_id, conv))).json()["data"]
        assert detail["created_at"] == detail["last_message_at"]
        messages = (await api.get(conv_path(agent_id, conv) + "/messages")).json()
        assert messages["meta"]["total_count"] == 1
        assert messages["data"] == [world.message(conv, 0).to_api()]
        # Everything listed at a clock is what conversation_ids() says at that clock.
        everything = []
        for agent in world.agents():
            everything += await listed_ids(api, str(agent["id"]))
        assert sorted(everything) == sorted(c for _, c in world.conversation_ids())


async def test_a_newcomer_needing_attention_sorts_and_filters() -> None:
    clock = Clock()
    async with (
        DemoServer(clock=clock, heartbeat_interval=30.0) as server,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as api,
    ):
        agent_id, conv, index = first_escalation(server, NOW)
        clock.now = server.world.time_of(conv, index) - 0.001
        assert conv not in await listed_ids(api, agent_id, needs_attention="true")
        clock.now = server.world.time_of(conv, index)
        assert conv in await listed_ids(api, agent_id, needs_attention="true")
        assert conv not in await listed_ids(api, agent_id, needs_attention="false")
        assert (await listed_ids(api, agent_id, sort="-updated_at"))[0] == conv
        assert (await listed_ids(api, agent_id, sort="-last_message_at"))[0] == conv
        # A staff member's answer clears it.
        final = server.world.final_index(conv)
        assert final is not None
        answer = next(
            i
            for i in range(index + 1, final + 1, 2)
            if server.world.message(conv, i).role == "restaurant_user"
        )
        clock.now = server.world.time_of(conv, answer)
        assert conv not in await listed_ids(api, agent_id, needs_attention="true")


async def test_a_newcomer_stream_ends_with_heartbeats() -> None:
    clock = Clock()
    async with serving(clock=clock, heartbeat_interval=0.05) as (server, api, bare):
        world = server.world
        agent_id, conv = next(p for p in world.conversation_ids() if world.is_newcomer(p[1]))
        final = world.final_index(conv)
        assert final is not None
        clock.now = world.time_of(conv, final) + 60
        after = world.message_id(conv, final - 2)
        async with open_stream(api, bare, agent_id, conv, after=after) as resp:
            reader = FrameReader(resp)
            frames = [await reader.frame() for _ in range(4)]
    assert [f.get("id") for f in frames[:2]] == [
        world.message_id(conv, final - 1),
        world.message_id(conv, final),
    ]
    assert [f["event"] for f in frames[2:]] == ["heartbeat", "heartbeat"]
    assert reader.raw[:2] == [expected_frame(server, conv, i) for i in (final - 1, final)]


async def test_list_faults_answer_429_and_503(api: httpx.AsyncClient, server: DemoServer) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    server.faults.inject("list_429")
    limited = await api.get("/agents")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.json()["code"] == "rate_limited"
    assert limited.json()["request_id"] == limited.headers["x-request-id"]
    server.faults.inject("list_503")
    down = await api.get(f"/agents/{agent_id}/conversations")
    assert down.status_code == 503
    assert down.json()["code"] == "internal_error"
    # Only list calls take them: tickets, details and messages go through.
    server.faults.inject("list_429")
    assert (await api.get(conv_path(agent_id, conv))).status_code == 200
    assert (await api.get(conv_path(agent_id, conv) + "/messages")).status_code == 200
    await new_ticket(api, agent_id, conv)
    assert (await api.get(f"/agents/{agent_id}/conversations")).status_code == 429
    assert (await api.get(f"/agents/{agent_id}/conversations")).status_code == 200
    assert server.faults.injected == {"list_429": 2, "list_503": 1}


async def test_chaos_list_faults_strike_some_list_calls() -> None:
    plan = FaultPlan(kinds=["list_429", "list_503"], rate=0.2, seed=4)
    async with (
        DemoServer(clock=lambda: NOW, heartbeat_interval=30.0, faults=plan) as server,
        httpx.AsyncClient(base_url=server.base_url + API_PREFIX, headers=AUTH) as api,
    ):
        agent_id, conv = server.world.conversation_ids()[0]
        statuses: Counter[int] = Counter()
        for _ in range(60):
            statuses[(await api.get("/agents")).status_code] += 1
            statuses[(await api.get(f"/agents/{agent_id}/conversations")).status_code] += 1
        assert (await api.get(conv_path(agent_id, conv))).status_code == 200
    assert set(statuses) == {200, 429, 503}
    # min(0.25, 2 * rate) of list calls fail.
    assert 10 < statuses[429] + statuses[503] < 60
    assert sum(plan.injected.values()) == statuses[429] + statuses[503]


def test_list_faults_leave_the_stream_faults_of_a_seed_unchanged() -> None:
    def draws(plan: FaultPlan, with_lists: bool) -> list[object]:
        out: list[object] = []
        for _ in range(100):
            if with_lists:
                plan.take_list_fault()
            out.append(plan.take_ticket_fault())
            out.append(plan.take_stream_request_fault(after_is_id=True))
            out.append(plan.next_chaos_delay())
            out.append(plan.take_chaos_stream_fault())
        return out

    quiet, busy_lists = FaultPlan.chaos(rate=0.1, seed=9), FaultPlan.chaos(rate=0.1, seed=9)
    assert draws(quiet, False) == draws(busy_lists, True)
    assert {"list_429", "list_503"} <= set(FAULT_KINDS)
    assert {"list_429", "list_503"} & set(busy_lists.injected)
