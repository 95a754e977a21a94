"""One loopback test-server kit: a scriptable Console API and a raw TCP server.

`LoopbackServer` is a real aiohttp server on 127.0.0.1 (or another loopback
address) that answers every call the app and the stream engine make, so the
client under test runs its real network code over real sockets:

- REST answers come from plain dicts the test fills in (agents,
  conversations, message history), so names and texts can be anything a
  hostile or broken server could send;
- any endpoint can be given queued answers instead (`canned[name]`): a
  `Canned` body (which may echo the request back, as careless servers do) or
  a streamed `Reply` (chunks, then a clean end, a dropped connection or
  silence);
- stream GETs play the `streams` queue of `Reply`s first, then each
  conversation's `frames`;
- ticket calls can be held until the test releases them, to observe how many
  the client has in flight at once;
- every request is recorded, and `wait_until` waits for a condition on what
  the server saw instead of sleeping.

`RawServer` misbehaves below HTTP (silence, garbage, half a response).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import ssl
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from aiohttp import web

PREFIX = "/api/v1/console"
#: A distinctive key: any output that contains it leaked it.
API_KEY = "sk_hostile_Zq8Kx2Vb7Nw4Lp9Tr6Hs"
CREATED = "2026-11-20T09:00:00.000Z"
#: The creation time `frame()` gives a message unless told otherwise.
FRAME_CREATED = "2026-11-23T10:00:00.000Z"

Then = Literal["end", "abort", "hang"]
ENDPOINTS = ("agents", "conversations", "conversation", "messages", "ticket", "stream")


@dataclass
class Reply:
    """A streamed answer: status, headers, chunks written one by one, then `then`.

    `then` is "end" (finish cleanly), "abort" (drop the connection without
    finishing the body) or "hang" (stay open and silent until the server
    stops). `silent` answers nothing at all, not even the status line, until
    the server stops. `sent` and `completed` say how much of it the client took.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/event-stream"})
    chunks: Iterable[bytes] = field(default_factory=list)
    then: Then = "end"
    #: Seconds between chunks: a slow or dripping proxy (0: all at once).
    pace: float = 0.0
    silent: bool = False
    sent: int = 0
    completed: bool = False


@dataclass
class Canned:
    """One whole-body answer.

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


# -- bodies and frames ---------------------------------------------------------


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
    """An error body as the Console API sends it."""
    return json.dumps({"message": message, "code": code}).encode()


def error_reply(status: int, message: str, code: str, **headers: str) -> Reply:
    """A JSON error answer to a stream GET (or any endpoint)."""
    return Reply(
        status=status,
        headers={"Content-Type": "application/json", **headers},
        chunks=[error_body(message, code)],
    )


def agent(agent_id: str, name: str = "Agent", **extra: Any) -> dict[str, Any]:
    """An Agent as the API lists it."""
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
    """A Conversation as the API lists it."""
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
    """A Message as the history endpoint returns it."""
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


def frame(
    message_id: str,
    text: str = "hi",
    event: str = "message",
    *,
    created_at: str = FRAME_CREATED,
) -> bytes:
    """A well-formed message frame of conversation c_1."""
    data = {
        "id": message_id,
        "conversation_id": "c_1",
        "role": "customer",
        "message": text,
        "message_type": "text",
        "created_at": created_at,
    }
    return sse_frame(data, event)


def heartbeat(ts: int = 1_795_000_000) -> bytes:
    """A heartbeat frame."""
    return b'event: heartbeat\ndata: {"ts": ' + str(ts).encode() + b"}\n\n"


# -- the server ------------------------------------------------------------------


class LoopbackServer:
    """The Console API over aiohttp on a loopback address, serving what the test put in."""

    def __init__(
        self,
        api_key: str = API_KEY,
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.tls = tls
        self.agents: list[dict[str, Any]] = []
        self.conversations: dict[str, list[dict[str, Any]]] = defaultdict(list)
        #: Per conversation, newest first (as the API pages them).
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        #: Scripted answers to stream GETs, for any conversation, played first.
        self.streams: deque[Reply] = deque()
        #: Per conversation, the chunks each further stream connection gets.
        self.frames: dict[str, deque[list[bytes]]] = defaultdict(deque)
        #: Queued answers per endpoint (see ENDPOINTS), served before anything else.
        self.canned: dict[str, deque[Canned | Reply]] = defaultdict(deque)
        self.requests: list[Seen] = []
        self.stream_queries: list[dict[str, str]] = []
        self.stream_headers: list[dict[str, str]] = []
        #: Every ticket issued, in order.
        self.tickets: list[str] = []
        #: End each `frames` stream after its chunks instead of keeping it open.
        self.end_streams = False
        #: Hold every ticket call until `release_ticket()`.
        self.hold_tickets = False
        self.tickets_in_flight = 0
        self.peak_tickets_in_flight = 0
        self.base_url = ""
        self.port = 0
        self._held: deque[asyncio.Future[None]] = deque()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._changed = asyncio.Condition()

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

    def add_streams(self, replies: Iterable[Reply]) -> None:
        """Queue answers for the next stream GETs, whatever the conversation."""
        self.streams.extend(replies)

    def release_ticket(self) -> None:
        """Let the oldest held ticket call be answered."""
        self._held.popleft().set_result(None)

    @property
    def held_tickets(self) -> int:
        """Ticket calls waiting for `release_ticket()`."""
        return len(self._held)

    async def wait_until(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        """Wait until `predicate()` holds; it is checked after every request the server sees."""
        async with asyncio.timeout(limit), self._changed:
            await self._changed.wait_for(predicate)

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
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self.tls)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.port = port
        self.base_url = f"{'https' if self.tls else 'http'}://{host}:{port}"

    async def stop(self) -> None:
        self._stopping.set()
        for held in self._held:
            if not held.done():
                held.set_result(None)
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- plumbing ----------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _seen(self, request: web.Request) -> None:
        self.requests.append(
            Seen(request.method, str(request.rel_url), {k: v for k, v in request.headers.items()})
        )
        await self._notify()

    async def _canned(self, name: str, request: web.Request) -> web.StreamResponse | None:
        queue = self.canned.get(name)
        if not queue:
            return None
        answer = queue.popleft()
        if isinstance(answer, Reply):
            return await self._play(request, answer)
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

    async def _play(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.silent:
            await self._stopping.wait()
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        await response.prepare(request)
        try:
            for chunk in reply.chunks:
                if reply.pace and reply.sent:
                    await asyncio.sleep(reply.pace)  # the server's pace, not a test's wait
                await response.write(chunk)
                reply.sent += len(chunk)
        except (ConnectionError, RuntimeError):
            # The client went away before taking it all.
            return response
        if reply.then == "abort":
            assert request.transport is not None
            request.transport.abort()
            return response
        if reply.then == "hang":
            await self._stopping.wait()
            return response
        reply.completed = True
        await response.write_eof()
        return response

    def _authorised(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return web.Response(
            status=401,
            body=error_body("API key is invalid", "api_key_invalid"),
            content_type="application/json",
        )

    # -- the endpoints -------------------------------------------------------------

    async def _agents(self, request: web.Request) -> web.StreamResponse:
        await self._seen(request)
        return (
            self._authorised(request)
            or await self._canned("agents", request)
            or web.Response(body=envelope(self.agents), content_type="application/json")
        )

    async def _conversations(self, request: web.Request) -> web.StreamResponse:
        await self._seen(request)
        data = self.conversations.get(request.match_info["agent"], [])
        return (
            self._authorised(request)
            or await self._canned("conversations", request)
            or web.Response(body=envelope(data), content_type="application/json")
        )

    async def _conversation(self, request: web.Request) -> web.StreamResponse:
        await self._seen(request)
        refused = self._authorised(request) or await self._canned("conversation", request)
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

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        await self._seen(request)
        refused = self._authorised(request) or await self._canned("messages", request)
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

    async def _ticket(self, request: web.Request) -> web.StreamResponse:
        self.tickets_in_flight += 1
        self.peak_tickets_in_flight = max(self.peak_tickets_in_flight, self.tickets_in_flight)
        try:
            if self.hold_tickets:
                held = asyncio.get_running_loop().create_future()
                self._held.append(held)
                await self._seen(request)
                await held
            else:
                await self._seen(request)
            refused = self._authorised(request) or await self._canned("ticket", request)
            if refused is not None:
                return refused
            ticket = f"tk_loop_{secrets.token_hex(12)}"
            self.tickets.append(ticket)
            return web.Response(
                status=201,
                body=envelope({"ticket": ticket, "expires_in": 60}),
                content_type="application/json",
            )
        finally:
            self.tickets_in_flight -= 1
            await self._notify()

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self.stream_queries.append(dict(request.query))
        self.stream_headers.append({k.lower(): v for k, v in request.headers.items()})
        await self._seen(request)
        canned = await self._canned("stream", request)
        if canned is not None:
            return canned
        if request.query.get("ticket") not in self.tickets:
            return web.Response(
                status=401,
                body=error_body("invalid ticket", "unauthorized"),
                content_type="application/json",
            )
        if self.streams:
            return await self._play(request, self.streams.popleft())
        queue = self.frames.get(request.match_info["conv"])
        chunks = queue.popleft() if queue else []
        return await self._play(
            request, Reply(chunks=chunks, then="end" if self.end_streams else "hang")
        )


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
