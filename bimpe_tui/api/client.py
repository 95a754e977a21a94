"""The Console API's calls: listings, one conversation or message, tickets, streams, actions.

`ConsoleClient` is what the rest of the package talks to. It owns the two
transports and what they share (the TLS context, the User-Agent): REST calls
go through its `RestSession` (rest.py: sending, retries, the envelope), the
stream GETs and ticket POSTs through its `StreamTransport` (transport.py).
Here each call's path, parameters and answer model; the plumbing's names are
re-exported for the modules that import them from here.
"""

from __future__ import annotations

import asyncio
import platform
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from .. import __version__
from .errors import MalformedResponseError
from .models import (
    Agent,
    Conversation,
    ConversationDetail,
    Message,
    ModelError,
    Page,
    StreamTicket,
)
from .rest import (
    API_PREFIX,
    DEFAULT_TIMEOUT,
    MAX_REST_BODY,
    Envelope,
    RestSession,
    describe_transport_error,
)
from .transport import EventStreamResponse, StreamTransport, proxy_for

__all__ = [
    "API_PREFIX",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_REST_BODY",
    "TICKETS_AT_ONCE",
    "ConsoleClient",
    "Envelope",
    "describe_transport_error",
    "iter_pages",
    "new_idempotency_key",
]

DEFAULT_BASE_URL = "https://api.bimpe.ai"
DEFAULT_MAX_RETRIES = 2
#: Ticket calls in flight at once (see ConsoleClient.__init__).
TICKETS_AT_ONCE = 8

T = TypeVar("T")


def _seg(value: str) -> str:
    # Ids come from the server or the command line; quoting keeps a hostile
    # id from changing the path.
    return quote(value, safe="")


class ConsoleClient:
    """Async client of the BimpeAI Console API.

    One instance per process: it owns the connection pools. REST calls are
    retried as the official SDK does; streams are opened by `ResumableStream`
    through `open_event_stream`, which never sends the API key.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        self._user_agent = (
            f"bimpe-tui/{__version__} httpx/{httpx.__version__} Python/{platform.python_version()}"
        )
        # One TLS context for every client: loading the CA bundle costs tens
        # of milliseconds, too much to pay again for each group of streams.
        # Verification stays on; there is no switch to turn it off.
        self._tls = httpx.create_ssl_context()
        self._rest = RestSession(
            api_key,
            base_url.rstrip("/"),
            timeout=timeout,
            max_retries=max_retries,
            user_agent=self._user_agent,
            tls=self._tls,
        )
        # Hundreds of streams starting at once would ask for their tickets
        # together: a few at a time reuse a few kept-alive connections, while
        # all at once open hundreds, overflow the server's listen backlog and
        # wait out a dropped SYN (200 tickets: 0.03-0.07 s at 8 at a time,
        # 1.1 s all at once).
        self._ticket_gate = asyncio.Semaphore(TICKETS_AT_ONCE)
        self._streams = StreamTransport(
            tls=self._tls, user_agent=self._user_agent, proxy=proxy_for(self.base_url)
        )

    @property
    def api_key(self) -> str:
        """The key, for code that must compare or redact it; never print it."""
        return self._rest.api_key

    @property
    def base_url(self) -> str:
        """The server's URL, without a trailing slash."""
        return self._rest.base_url

    @property
    def max_retries(self) -> int:
        """How many times a REST call is retried unless the call says otherwise."""
        return self._rest.max_retries

    async def aclose(self) -> None:
        """Close every connection this client holds."""
        await self._streams.aclose()
        await self._rest.aclose()

    async def __aenter__(self) -> ConsoleClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return self._rest.url(path)

    # -- REST ---------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        max_retries: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        with_streams: bool = False,
    ) -> Envelope:
        """Send one REST call, retrying what the SDK retries, and unwrap the envelope.

        `body` (JSON) and `headers` go unchanged with every attempt: a write's
        Idempotency-Key must be the same on each retry. `with_streams` sends a
        call without a body through the stream transport (see `transport.py`).
        """
        return await self._rest.request(
            method,
            path,
            params=params,
            max_retries=max_retries,
            body=body,
            headers=headers,
            # Looked up at each call: the stream transport is the client's.
            via=self._streams if with_streams else None,
        )

    async def _page(
        self,
        path: str,
        params: dict[str, Any],
        build: Callable[[Any], T],
    ) -> Page[T]:
        envelope = await self.request("GET", path, params=params)
        if not isinstance(envelope.data, list):
            raise MalformedResponseError(
                "list answer has no list in `data`",
                status=envelope.status,
                body=repr(envelope.data).encode(),
            )
        try:
            items = [build(item) for item in envelope.data]
        except ModelError as exc:
            raise MalformedResponseError(str(exc), status=envelope.status, body=b"") from None
        return Page(items=items, meta=envelope.meta)

    async def list_agents(
        self,
        *,
        page: int = 1,
        limit: int | None = None,
        search: str | None = None,
        sort: str | None = None,
    ) -> Page[Agent]:
        """One page of the account's agents."""
        params = {"page": page, "limit": limit, "search": search, "sort": sort}
        return await self._page("/agents", params, Agent.from_api)

    async def list_conversations(
        self,
        agent_id: str,
        *,
        page: int = 1,
        limit: int | None = None,
        search: str | None = None,
        sort: str | None = None,
        channel: str | None = None,
        is_test_channel: bool | None = None,
        is_ai_chat_paused: bool | None = None,
        needs_attention: bool | None = None,
    ) -> Page[Conversation]:
        """One page of an agent's conversations, with the API's filters."""
        params = {
            "page": page,
            "limit": limit,
            "search": search,
            "sort": sort,
            "channel": channel,
            "is_test_channel": is_test_channel,
            "is_ai_chat_paused": is_ai_chat_paused,
            "needs_attention": needs_attention,
        }
        path = f"/agents/{_seg(agent_id)}/conversations"
        return await self._page(path, params, Conversation.from_api)

    async def get_conversation(self, agent_id: str, conversation_id: str) -> ConversationDetail:
        """One conversation with the end user's details."""
        envelope = await self.request(
            "GET", f"/agents/{_seg(agent_id)}/conversations/{_seg(conversation_id)}"
        )
        try:
            return ConversationDetail.from_api(envelope.data)
        except ModelError as exc:
            raise MalformedResponseError(str(exc), status=envelope.status, body=b"") from None

    async def get_message(self, agent_id: str, conversation_id: str, message_id: str) -> Message:
        """One message as the history has it (with its attachments, which the stream's
        message event does not carry)."""
        path = (
            f"/agents/{_seg(agent_id)}/conversations/{_seg(conversation_id)}"
            f"/messages/{_seg(message_id)}"
        )
        envelope = await self.request("GET", path)
        try:
            return Message.from_api(envelope.data)
        except ModelError as exc:
            raise MalformedResponseError(str(exc), status=envelope.status, body=b"") from None

    async def list_messages(
        self,
        agent_id: str,
        conversation_id: str,
        *,
        page: int = 1,
        limit: int | None = None,
        search: str | None = None,
        sort: str | None = None,
    ) -> Page[Message]:
        """One page of a conversation's messages."""
        params = {"page": page, "limit": limit, "search": search, "sort": sort}
        path = f"/agents/{_seg(agent_id)}/conversations/{_seg(conversation_id)}/messages"
        return await self._page(path, params, Message.from_api)

    async def create_stream_ticket(
        self, agent_id: str, conversation_id: str, *, max_retries: int | None = None
    ) -> StreamTicket:
        """A fresh single-use ticket for one stream GET."""
        path = f"/agents/{_seg(agent_id)}/conversations/{_seg(conversation_id)}/stream-ticket"
        async with self._ticket_gate:
            envelope = await self.request("POST", path, max_retries=max_retries, with_streams=True)
        try:
            return StreamTicket.from_api(envelope.data)
        except ModelError as exc:
            raise MalformedResponseError(str(exc), status=envelope.status, body=b"") from None

    # -- streams ------------------------------------------------------------

    @asynccontextmanager
    async def open_event_stream(
        self,
        agent_id: str,
        conversation_id: str,
        *,
        ticket: str,
        after: str | None,
        read_timeout: float,
    ) -> AsyncIterator[EventStreamResponse]:
        """Open the SSE GET with a ticket and no Authorization header.

        Yields the response once it is known to be a 2xx event stream; raises
        the typed API error otherwise. No byte for `read_timeout` seconds
        raises aiohttp's `SocketTimeoutError` (see `transport.py`).
        """
        path = f"/agents/{_seg(agent_id)}/conversations/{_seg(conversation_id)}/stream"
        params = {"ticket": ticket} if after is None else {"ticket": ticket, "after": after}
        async with self._streams.open(
            self.url(path), params, read_timeout=read_timeout
        ) as response:
            yield response

    # -- acting on a conversation --------------------------------------------

    async def set_ai_status(
        self,
        agent_id: str,
        conversation_id: str,
        paused: bool,
        *,
        idempotency_key: str | None = None,
    ) -> bool:
        """Pause (True) or resume the conversation's AI; the server's answer is returned.

        The answer, not `paused`, is what the caller shows: a server may refuse
        or leave the flag as it was.
        """
        path = f"/agents/{_seg(agent_id)}/conversations/{_seg(conversation_id)}/ai-status"
        envelope = await self.request(
            "PATCH",
            path,
            body={"is_ai_chat_paused": paused},
            headers={"Idempotency-Key": idempotency_key or new_idempotency_key()},
        )
        data = envelope.data
        answer = data.get("is_ai_chat_paused") if isinstance(data, dict) else None
        if not isinstance(answer, bool):
            raise MalformedResponseError(
                "ai-status answer has no boolean `is_ai_chat_paused`",
                status=envelope.status,
                body=repr(data).encode(),
            )
        return answer

    async def send_message(
        self,
        agent_id: str,
        conversation_id: str,
        text: str,
        *,
        role: str = "assistant",
        idempotency_key: str | None = None,
    ) -> Message:
        """Post a message into the conversation; returns the message the server created.

        One Idempotency-Key covers every retry of this call (connection lost
        after the server stored the message: the retry gets the same message
        back, not a second one). A caller that retries on its own passes the
        same key again.
        """
        path = f"/agents/{_seg(agent_id)}/conversations/{_seg(conversation_id)}/messages"
        envelope = await self.request(
            "POST",
            path,
            body={"message": text, "role": role},
            headers={"Idempotency-Key": idempotency_key or new_idempotency_key()},
        )
        try:
            return Message.from_api(envelope.data)
        except ModelError as exc:
            raise MalformedResponseError(str(exc), status=envelope.status, body=b"") from None


def new_idempotency_key() -> str:
    """A fresh key for one write (a uuid4, as the official SDK makes them)."""
    return str(uuid.uuid4())


async def iter_pages(fetch: Callable[[int], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    """Every item of a paged list, fetching page after page as it is consumed."""
    page_no = 1
    while True:
        page = await fetch(page_no)
        for item in page.items:
            yield item
        if not page.has_next_page or not page.items:
            return
        page_no += 1
