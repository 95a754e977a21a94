"""The Console API over httpx: envelope, typed errors, retries, pages, tickets."""

from __future__ import annotations

import asyncio
import json
import platform
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import httpx

from .. import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    MalformedResponseError,
    RateLimitError,
    connect_failure_reason,
    error_from_response,
    unreachable,
)
from .models import (
    Agent,
    Conversation,
    ConversationDetail,
    Message,
    ModelError,
    Page,
    PageMeta,
    StreamTicket,
)
from .retry import honour_retry_after, is_retryable, sdk_backoff
from .transport import EventStreamResponse, StreamTransport, describe_stream_failure, proxy_for

DEFAULT_BASE_URL = "https://api.bimpe.ai"
API_PREFIX = "/api/v1/console"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
#: The largest REST answer read: a bigger one is refused, never held in memory.
MAX_REST_BODY = 16 * 2**20
#: Ticket calls in flight at once (see ConsoleClient.__init__).
TICKETS_AT_ONCE = 8

T = TypeVar("T")


class Envelope:
    """A successful answer: `data`, pagination `meta`, and the request id."""

    __slots__ = ("data", "meta", "request_id", "status")

    def __init__(self, data: Any, meta: PageMeta | None, request_id: str, status: int) -> None:
        self.data = data
        self.meta = meta
        self.request_id = request_id
        self.status = status


def _seg(value: str) -> str:
    # Ids come from the server or the command line; quoting keeps a hostile
    # id from changing the path.
    return quote(value, safe="")


def _query(params: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = "true" if value is True else "false" if value is False else str(value)
    return out


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
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._user_agent = (
            f"bimpe-tui/{__version__} httpx/{httpx.__version__} Python/{platform.python_version()}"
        )
        # One TLS context for every client: loading the CA bundle costs tens
        # of milliseconds, too much to pay again for each group of streams.
        # Verification stays on; there is no switch to turn it off.
        self._tls = httpx.create_ssl_context()
        # Redirects are never followed: a 301 to another host must not take
        # the Authorization header with it.
        self._http = httpx.AsyncClient(
            timeout=self._timeout,
            follow_redirects=False,
            headers={"User-Agent": self._user_agent},
            verify=self._tls,
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
        return self._api_key

    async def aclose(self) -> None:
        """Close every connection this client holds."""
        await self._streams.aclose()
        await self._http.aclose()

    async def __aenter__(self) -> ConsoleClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return f"{self.base_url}{API_PREFIX}{path}"

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
        retries = self.max_retries if max_retries is None else max_retries
        request_id = str(uuid.uuid4())
        attempt = 0
        while True:
            try:
                if with_streams:
                    return await self._send_with_streams(method, path, params or {}, request_id)
                return await self._send_once(
                    method, path, params or {}, request_id, body=body, extra=headers
                )
            except (APIError, APIConnectionError, MalformedResponseError) as error:
                if attempt >= retries or not is_retryable(error):
                    raise
                delay: float | None = None
                if isinstance(error, RateLimitError):
                    delay = honour_retry_after(error.retry_after)
                await asyncio.sleep(sdk_backoff(attempt) if delay is None else delay)
                attempt += 1

    def _headers(self, request_id: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "X-Request-Id": request_id,
        }

    async def _send_once(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        request_id: str,
        *,
        body: Any = None,
        extra: dict[str, str] | None = None,
    ) -> Envelope:
        headers = {**(extra or {}), **self._headers(request_id)}
        content: bytes | None = None
        if body is not None:
            content = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            async with self._http.stream(
                method, self.url(path), params=_query(params), headers=headers, content=content
            ) as response:
                body = await _read_capped(response, MAX_REST_BODY + 1)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(f"{method} {path}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"{method} {path}: {describe_transport_error(exc)}") from exc
        return self._unwrap(response.status_code, response.headers, body, request_id)

    async def _send_with_streams(
        self, method: str, path: str, params: dict[str, Any], request_id: str
    ) -> Envelope:
        query = f"?{urlencode(_query(params))}" if params else ""
        try:
            answer = await self._streams.call(
                method,
                self.url(path) + query,
                self._headers(request_id),
                answer_within=self._timeout.read or DEFAULT_TIMEOUT,
                limit=MAX_REST_BODY + 1,
            )
        except TimeoutError as exc:
            raise APITimeoutError(f"{method} {path}: no answer in time") from exc
        except aiohttp.ClientError as exc:
            described = describe_stream_failure(exc)
            words = described[0] if described is not None else "network error"
            raise APIConnectionError(f"{method} {path}: {words}") from exc
        return self._unwrap(answer.status, answer.headers, answer.body, request_id)

    def _unwrap(
        self, status: int, headers: Mapping[str, str], body: bytes, request_id: str
    ) -> Envelope:
        if len(body) > MAX_REST_BODY:
            raise MalformedResponseError(
                f"answer larger than {MAX_REST_BODY // 2**20} MiB", status=status, body=body[:200]
            )
        if 300 <= status < 400:
            target = urlsplit(headers.get("location", "")).netloc or "elsewhere"
            raise APIError(
                f"the server redirected to {target}; not followed, so the key stays here",
                status=status,
            )
        if not 200 <= status < 300:
            raise error_from_response(status, body, headers)
        try:
            parsed = json.loads(body) if body else None
        except (ValueError, RecursionError):
            raise MalformedResponseError("answer is not JSON", status=status, body=body) from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("message"), str):
            raise MalformedResponseError(
                "answer is not a Console API envelope", status=status, body=body
            )
        return Envelope(
            data=parsed.get("data"),
            meta=PageMeta.from_api(parsed.get("meta")),
            request_id=headers.get("x-request-id") or request_id,
            status=status,
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


async def _read_capped(response: httpx.Response, limit: int = 64 * 1024) -> bytes:
    """Read an error body, but never more than `limit` bytes of it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def describe_transport_error(exc: BaseException) -> str:
    """Plain words for a network failure, with no URL (URLs carry tickets)."""
    if _caused_by(exc, ssl.SSLCertVerificationError):
        # httpx reports it as a ConnectError: "cannot connect" would send
        # the user looking at the network instead of the certificate.
        return "the server's TLS certificate is not trusted"
    if isinstance(exc, httpx.ConnectTimeout):
        return unreachable(*_host_and_port(exc), "connection timed out")
    if isinstance(exc, httpx.ReadTimeout):
        return "no data in time"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return unreachable(*_host_and_port(exc), connect_failure_reason(exc))
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection lost mid-message"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "connection reset"
    if isinstance(exc, httpx.NetworkError):
        return "network error"
    return type(exc).__name__


def _host_and_port(exc: httpx.RequestError) -> tuple[str | None, int | None]:
    """Where the failed request was going (a default port made explicit)."""
    try:
        url = exc.request.url
    except RuntimeError:  # an error raised without its request
        return None, None
    return url.host or None, url.port or {"http": 80, "https": 443}.get(url.scheme)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # a chain is short; a cycle must not loop forever
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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
