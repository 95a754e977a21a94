"""A tiny real HTTP server on 127.0.0.1 that plays scripted answers.

For the few cases the demo server cannot produce on purpose (malformed
frames, wrong content types, redirects): it still speaks over real sockets,
so the client under test runs its real network code.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web

PREFIX = "/api/v1/console"
API_KEY = "sk_scripted_test_key_123456"


@dataclass
class Reply:
    """One scripted answer to a stream GET (or ticket POST)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/event-stream"})
    chunks: list[bytes] = field(default_factory=list)
    #: After the chunks: "end" finishes cleanly, "abort" drops the connection,
    #: "hang" keeps it open and silent.
    then: str = "end"


def frame(message_id: str, text: str = "hi", event: str = "message") -> bytes:
    """A well-formed message frame."""
    data = json.dumps(
        {
            "id": message_id,
            "conversation_id": "c_1",
            "role": "customer",
            "message": text,
            "message_type": "text",
            "created_at": "2026-11-23T10:00:00.000Z",
        }
    )
    return f"id: {message_id}\nevent: {event}\ndata: {data}\n\n".encode()


class ScriptedServer:
    """Serves tickets freely and plays `streams` replies in order to stream GETs."""

    def __init__(self) -> None:
        self.streams: deque[Reply] = deque()
        self.tickets: deque[Reply] = deque()
        self.stream_queries: list[dict[str, str]] = []
        self.stream_headers: list[dict[str, str]] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._ticket_no = 0
        self._hanging: list[asyncio.Event] = []

    def add_streams(self, replies: Iterable[Reply]) -> None:
        self.streams.extend(replies)

    async def start(self) -> None:
        app = web.Application()
        base = PREFIX + "/agents/{agent}/conversations/{conv}"
        app.router.add_post(base + "/stream-ticket", self._ticket)
        app.router.add_get(base + "/stream", self._stream)
        app.router.add_get(PREFIX + "/agents", self._agents)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for event in self._hanging:
            event.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _agents(self, request: web.Request) -> web.StreamResponse:
        reply = self.tickets.popleft() if self.tickets else Reply(status=200)
        return web.Response(status=reply.status, body=b"".join(reply.chunks), headers=reply.headers)

    async def _ticket(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response(
                {"message": "invalid API key", "code": "api_key_invalid"}, status=401
            )
        if self.tickets:
            reply = self.tickets.popleft()
            return web.Response(
                status=reply.status, body=b"".join(reply.chunks), headers=reply.headers
            )
        self._ticket_no += 1
        return web.json_response(
            {"message": "ok", "data": {"ticket": f"tk_{self._ticket_no}", "expires_in": 60}},
            status=201,
        )

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self.stream_queries.append(dict(request.query))
        self.stream_headers.append({k.lower(): v for k, v in request.headers.items()})
        reply = self.streams.popleft() if self.streams else Reply(then="hang")
        if reply.status != 200 or not reply.headers.get("Content-Type", "").startswith(
            "text/event-stream"
        ):
            return web.Response(
                status=reply.status, body=b"".join(reply.chunks), headers=reply.headers
            )
        response = web.StreamResponse(status=200, headers=reply.headers)
        await response.prepare(request)
        for chunk in reply.chunks:
            await response.write(chunk)
        if reply.then == "abort":
            assert request.transport is not None
            request.transport.abort()
            return response
        if reply.then == "hang":
            done = asyncio.Event()
            self._hanging.append(done)
            await done.wait()
        await response.write_eof()
        return response
