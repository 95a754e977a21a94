"""A small real Console API on 127.0.0.1 that serves hostile content.

It answers every call the app makes (agents, conversations, one conversation,
messages, stream ticket, stream) from plain dicts the test fills in, so names,
previews and message texts can be anything a hostile or broken server could
send. Any endpoint can be given queued canned answers instead (error pages,
bodies that echo the request back, redirects), and every request is recorded
so a test can check what reached the server (and what did not).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.state import StateStore

PREFIX = "/api/v1/console"
#: A distinctive key: any output that contains it leaked it.
API_KEY = "sk_hostile_Zq8Kx2Vb7Nw4Lp9Tr6Hs"
CREATED = "2026-11-20T09:00:00.000Z"


@dataclass
class Canned:
    """One queued answer to an endpoint.

    In `body`, `{url}`, `{auth}`, `{token}` and `{ticket}` are replaced by the
    request's URL, its Authorization header, the bearer token alone and the
    ticket query value: a server that echoes the request into its errors.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    url: str
    headers: dict[str, str]


def envelope(data: Any, *, has_next_page: bool = False) -> bytes:
    """A success body in the Console API's envelope."""
    meta = {
        "total_count": len(data) if isinstance(data, list) else 1,
        "page_count": 1,
        "current_page": 1,
        "limit": 100,
        "has_next_page": has_next_page,
        "has_previous_page": False,
    }
    return json.dumps({"message": "ok", "data": data, "meta": meta}).encode()


def error_body(message: Any, code: str = "internal_error") -> bytes:
    return json.dumps({"message": message, "code": code}).encode()


def agent(agent_id: str, name: str = "Agent", **extra: Any) -> dict[str, Any]:
    return {
        "id": agent_id,
        "name": name,
        "description": "",
        "created_at": CREATED,
        "updated_at": CREATED,
        "status": "live",
        **extra,
    }


def conversation(conversation_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": conversation_id,
        "channel_type": "webchat",
        "is_test_channel": False,
        "is_ai_chat_paused": False,
        "needs_attention": False,
        "created_at": CREATED,
        "updated_at": CREATED,
        "channel_user_id": f"u_{conversation_id}",
        "channel_user_username": f"user {conversation_id}",
        "last_message_at": CREATED,
        "last_message_preview": "hello",
        **extra,
    }


def message(message_id: str, text: Any = "hi", **extra: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "role": "customer",
        "message": text,
        "message_type": "text",
        "created_at": CREATED,
        **extra,
    }


def sse_frame(data: dict[str, Any] | bytes, event: str = "message") -> bytes:
    """One event-stream frame; `data` as JSON, or raw bytes as they are."""
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    ident = data.get("id") if isinstance(data, dict) else None
    head = f"id: {ident}\n".encode() if isinstance(ident, str) else b""
    return head + f"event: {event}\n".encode() + b"data: " + payload + b"\n\n"


class HostileServer:
    """The Console API over aiohttp on 127.0.0.1, serving whatever the test put in."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.agents: list[dict[str, Any]] = []
        self.conversations: dict[str, list[dict[str, Any]]] = defaultdict(list)
        #: Per conversation, newest first (as the API pages them).
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        #: Per conversation, the chunks each stream connection gets, in order.
        self.frames: dict[str, deque[list[bytes]]] = defaultdict(deque)
        #: Queued answers per endpoint: agents, conversations, conversation,
        #: messages, ticket, stream.
        self.canned: dict[str, deque[Canned]] = defaultdict(deque)
        self.requests: list[Seen] = []
        self.tickets: list[str] = []
        #: End each stream after its chunks instead of keeping it open.
        self.end_streams = False
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    def add(
        self,
        agent_dict: dict[str, Any],
        conversation_dict: dict[str, Any],
        messages: Iterable[dict[str, Any]] = (),
        frames: Iterable[bytes] = (),
    ) -> None:
        """One conversation (its agent added once), its history (oldest first), its stream."""
        if all(a["id"] != agent_dict["id"] for a in self.agents):
            self.agents.append(agent_dict)
        self.conversations[agent_dict["id"]].append(conversation_dict)
        conversation_id = conversation_dict["id"]
        self.messages[conversation_id] = list(reversed(list(messages)))
        chunks = list(frames)
        if chunks:
            self.frames[conversation_id].append(chunks)

    async def start(self) -> None:
        app = web.Application(client_max_size=1024)
        base = PREFIX + "/agents/{agent}/conversations/{conv}"
        app.router.add_get(PREFIX + "/agents", self._agents)
        app.router.add_get(PREFIX + "/agents/{agent}/conversations", self._conversations)
        app.router.add_get(base, self._conversation)
        app.router.add_get(base + "/messages", self._messages)
        app.router.add_post(base + "/stream-ticket", self._ticket)
        app.router.add_get(base + "/stream", self._stream)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> HostileServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the endpoints ---------------------------------------------------------

    def _seen(self, request: web.Request) -> None:
        self.requests.append(
            Seen(request.method, str(request.rel_url), {k: v for k, v in request.headers.items()})
        )

    def _canned(self, name: str, request: web.Request) -> web.Response | None:
        queue = self.canned.get(name)
        if not queue:
            return None
        answer = queue.popleft()
        auth = request.headers.get("Authorization", "")
        echoes = {
            b"{url}": str(request.url),
            b"{auth}": auth,
            b"{token}": auth.removeprefix("Bearer "),
            b"{ticket}": request.query.get("ticket", ""),
        }
        body = answer.body
        for placeholder, value in echoes.items():
            body = body.replace(placeholder, value.encode())
        return web.Response(status=answer.status, body=body, headers=answer.headers)

    def _authorised(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return web.Response(
            status=401,
            body=error_body("API key is invalid", "api_key_invalid"),
            content_type="application/json",
        )

    async def _agents(self, request: web.Request) -> web.Response:
        self._seen(request)
        return (
            self._authorised(request)
            or self._canned("agents", request)
            or web.Response(body=envelope(self.agents), content_type="application/json")
        )

    async def _conversations(self, request: web.Request) -> web.Response:
        self._seen(request)
        data = self.conversations.get(request.match_info["agent"], [])
        return (
            self._authorised(request)
            or self._canned("conversations", request)
            or web.Response(body=envelope(data), content_type="application/json")
        )

    async def _conversation(self, request: web.Request) -> web.Response:
        self._seen(request)
        refused = self._authorised(request) or self._canned("conversation", request)
        if refused is not None:
            return refused
        for item in self.conversations.get(request.match_info["agent"], []):
            if item["id"] == request.match_info["conv"]:
                return web.Response(body=envelope(item), content_type="application/json")
        return web.Response(
            status=404,
            body=error_body("conversation not found", "not_found"),
            content_type="application/json",
        )

    async def _messages(self, request: web.Request) -> web.Response:
        self._seen(request)
        refused = self._authorised(request) or self._canned("messages", request)
        if refused is not None:
            return refused
        items = self.messages.get(request.match_info["conv"], [])
        page = int(request.query.get("page", "1"))
        limit = int(request.query.get("limit", "50"))
        chunk = items[(page - 1) * limit : page * limit]
        more = page * limit < len(items)
        return web.Response(
            body=envelope(chunk, has_next_page=more), content_type="application/json"
        )

    async def _ticket(self, request: web.Request) -> web.Response:
        self._seen(request)
        refused = self._authorised(request) or self._canned("ticket", request)
        if refused is not None:
            return refused
        ticket = f"tk_hostile_{secrets.token_hex(12)}"
        self.tickets.append(ticket)
        return web.Response(
            status=201,
            body=envelope({"ticket": ticket, "expires_in": 60}),
            content_type="application/json",
        )

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self._seen(request)
        canned = self._canned("stream", request)
        if canned is not None:
            return canned
        if request.query.get("ticket") not in self.tickets:
            return web.Response(
                status=401,
                body=error_body("invalid ticket", "unauthorized"),
                content_type="application/json",
            )
        queue = self.frames.get(request.match_info["conv"])
        chunks = queue.popleft() if queue else []
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for chunk in chunks:
            await response.write(chunk)
        if not self.end_streams:
            # Stay open and quiet until the server stops.
            await self._stopping.wait()
        return response


def hostile_app(server: HostileServer, state_path: Path, **stream_options: Any) -> BimpeApp:
    """The real app pointed at a hostile server, with short stream timeouts."""
    options: dict[str, Any] = {"base_delay": 0.05, "read_timeout": 30.0}
    options.update(stream_options)
    return BimpeApp(
        AppConfig(
            state=StateStore(state_path, debounce=0.05),
            api_key=server.api_key,
            base_url=server.base_url,
            stream_options=options,
            tz=UTC,
        )
    )


def strip_texts(strips: Iterable[Any]) -> list[str]:
    """The plain text of rendered Strips (what the terminal would be sent, minus styles)."""
    return ["".join(segment.text for segment in strip) for strip in strips]


def widget_lines(widget: Any) -> list[Any]:
    """Every line a widget renders for its current size, as Strips."""
    return [widget.render_line(y) for y in range(widget.size.height)]


class RawServer:
    """A bare TCP server on 127.0.0.1 that misbehaves below HTTP.

    `mode`: "silent" accepts and never sends a byte; "headers" sends a
    response head promising a body, then nothing; "close" closes at once;
    "garbage" answers with bytes that are not HTTP; "count" only counts
    connections (a redirect target that must never be reached).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.accepted = 0
        self.received = b""
        self.base_url = ""
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> RawServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        if self.mode == "close":
            writer.close()
            return
        try:
            self.received += await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        if self.mode == "garbage":
            writer.write(b"\x00\xffSSH-2.0-not-http\r\n\r\n")
            await writer.drain()
            writer.close()
        elif self.mode == "headers":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
            await writer.drain()
        # "silent", "headers", "count": keep the connection open, say nothing more.


@contextlib.contextmanager
def recursion_is_a_failure() -> Iterator[None]:
    """Turn an escaped RecursionError into a one-line test failure.

    (pytest would otherwise format a thousand-frame traceback, which takes seconds.)
    """
    try:
        yield
    except RecursionError:
        pytest.fail("a RecursionError escaped (deeply nested input)", pytrace=False)
