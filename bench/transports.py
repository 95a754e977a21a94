"""Stream transports measured beside the one the engine uses (aiohttp's client).

`httpx_client` gives a `ConsoleClient` whose stream GETs go through httpx, the
way the engine did before (streams spread 20 per `httpx.AsyncClient`, since
httpcore's pool does work that grows with the square of its connections).
Everything above the transport (parser, decoding, bookkeeping) is the engine's
own, so the difference between the two rows is the transport alone (the
ticket POST included, which also moved from httpx to aiohttp).
Bench-only: no failure handling beyond what a healthy loopback run needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.transport import EventStreamResponse, PlainAnswer

STREAMS_PER_CLIENT = 20


class HttpxStreams:
    """The stream half of a `ConsoleClient` on httpx: the engine's transport until aiohttp."""

    def __init__(self, user_agent: str, tls: Any) -> None:
        self._user_agent = user_agent
        self._tls = tls
        self._clients: list[httpx.AsyncClient] = []
        self._load: dict[int, int] = {}
        self.open_streams = 0

    def _lease(self) -> httpx.AsyncClient:
        client = next((c for c in self._clients if self._load[id(c)] < STREAMS_PER_CLIENT), None)
        if client is None:
            client = httpx.AsyncClient(
                follow_redirects=False,
                headers={"User-Agent": self._user_agent},
                limits=httpx.Limits(max_connections=STREAMS_PER_CLIENT * 2),
                verify=self._tls,
            )
            self._clients.append(client)
            self._load[id(client)] = 0
        self._load[id(client)] += 1
        return client

    @asynccontextmanager
    async def open(
        self, url: str, params: dict[str, str], *, read_timeout: float
    ) -> AsyncIterator[EventStreamResponse]:
        """The stream GET on httpx, yielding what the engine reads."""
        client = self._lease()
        timeout = httpx.Timeout(read_timeout, connect=min(read_timeout, 10.0))
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        self.open_streams += 1
        try:
            async with client.stream(
                "GET", url, params=params, headers=headers, timeout=timeout
            ) as response:
                response.raise_for_status()
                yield EventStreamResponse(
                    response.status_code, response.headers, response.aiter_bytes()
                )
        finally:
            self.open_streams -= 1
            self._load[id(client)] -= 1

    async def call(
        self, method: str, url: str, headers: Mapping[str, str], *, answer_within: float, limit: int
    ) -> PlainAnswer:
        """A ticket POST on httpx, as the engine made it before tickets moved to aiohttp."""
        client = self._lease()
        self._load[id(client)] -= 1
        response = await client.request(method, url, headers=dict(headers), timeout=answer_within)
        return PlainAnswer(response.status_code, response.headers, response.content[:limit])

    async def aclose(self) -> None:
        """Close every httpx client."""
        for client in self._clients:
            await client.aclose()
        self._clients = []


def httpx_client(api_key: str, base_url: str) -> ConsoleClient:
    """A `ConsoleClient` whose streams go through httpx instead of aiohttp."""
    client = ConsoleClient(api_key, base_url)
    # The transport is the one part swapped: a private attribute on purpose,
    # the product has one stream transport and no switch for it.
    client._streams = HttpxStreams(client._user_agent, client._tls)  # type: ignore[assignment]
    return client
