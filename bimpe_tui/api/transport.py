"""The transport of streams: aiohttp's client, set up for SSE and its tickets.

REST calls stay on httpx (`client.py`), except the stream ticket's POST, which
goes with the stream it opens: a monitor starting hundreds of streams asks
for hundreds of tickets at once, and 200 cost 0.16 s of wall time and 0.14 s
of CPU through httpx against 0.04 s and 0.02 s here. A stream is one GET read for
hours, where the per-read cost decides everything: aiohttp's C parser and
thin read path cost a fraction of httpx's h11 + httpcore + anyio layers (the
README's design section has the figures). aiohttp's defaults do not suit a
stream and each is overridden here:

- `ClientTimeout(total=300)` would cut every stream at five minutes: there is
  no total. The watchdog of silence is `_SilenceWatch`, not `sock_read`.
- Redirects are followed by default: never here (`allow_redirects=False`).
- The connector allows 100 connections: a monitor of 200 conversations needs
  200, so there is no limit.
- `trust_env=True` would also read `~/.netrc` and send its password as an
  Authorization header: a stream carries no credential but its ticket, so the
  environment's proxy is looked up here instead, the way httpx does for REST.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import aiohttp
from yarl import URL

from .errors import (
    APIError,
    MalformedResponseError,
    connect_failure_reason,
    error_from_response,
    unreachable,
)

#: The largest error body read from a refused stream GET.
ERROR_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class EventStreamResponse:
    """A stream GET answered 2xx with an event stream: its headers and its bytes."""

    status: int
    headers: Mapping[str, str]
    #: The body as it arrives (decompressed), chunk by chunk.
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True, slots=True)
class PlainAnswer:
    """A short answer read whole: what `ConsoleClient` unwraps as an envelope."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, NO_PROXY, ...), if any."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


#: Transport failures in plain words, most specific first, and whether each
#: is silence (no byte in time). No URL is ever part of the words: a stream
#: URL carries its ticket.
_FAILURE_WORDS: tuple[tuple[type[BaseException], str, bool], ...] = (
    (aiohttp.ClientConnectorCertificateError, "the server's TLS certificate is not trusted", False),
    (aiohttp.ClientSSLError, "TLS handshake failed", False),
    (aiohttp.ClientConnectorDNSError, "cannot connect (host name not found)", False),
    (aiohttp.ClientConnectorError, "cannot connect", False),
    (aiohttp.ConnectionTimeoutError, "connection timed out", False),
    (aiohttp.ServerTimeoutError, "no data in time", True),
    (aiohttp.ClientPayloadError, "connection lost mid-message", False),
    (aiohttp.ServerDisconnectedError, "connection lost mid-message", False),
    (aiohttp.ClientConnectionResetError, "connection reset", False),
    (aiohttp.ClientOSError, "connection reset", False),
    (aiohttp.ClientResponseError, "the server's answer could not be read", False),
    (aiohttp.ClientError, "network error", False),
)


#: The failures that are a server not reached: said with its host and port.
_UNREACHABLE = (aiohttp.ClientConnectorDNSError, aiohttp.ClientConnectorError)


def describe_stream_failure(exc: BaseException) -> tuple[str, bool] | None:
    """Plain words for a stream transport failure, and whether it was silence.

    None when `exc` is not a transport failure. A certificate the machine
    does not trust is said as such, never as a timeout or "cannot connect"; a
    server that cannot be reached is named by host and port
    (`cannot reach 127.0.0.1:9 (connection refused)`).
    """
    for kind, words, silence in _FAILURE_WORDS:
        if isinstance(exc, kind):
            if kind in _UNREACHABLE and isinstance(exc, aiohttp.ClientConnectorError):
                # Which server could not be reached, and why: "cannot connect" alone
                # leaves the user guessing at a typo in the URL or a server that is down.
                reason = (
                    "host name not found"
                    if isinstance(exc, aiohttp.ClientConnectorDNSError)
                    else connect_failure_reason(exc.os_error)
                )
                return unreachable(exc.host, exc.port, reason), silence
            return words, silence
    return None


class StreamTransport:
    """One aiohttp session carrying every stream GET of a `ConsoleClient`.

    The session is made on first use, inside the running loop (aiohttp
    wants that), and closed by `aclose()`.
    """

    def __init__(self, *, tls: ssl.SSLContext, user_agent: str, proxy: str | None) -> None:
        self._tls = tls
        self._user_agent = user_agent
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        #: Streams open now (a figure the tests and the bench read).
        self.open_streams = 0

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=0, ssl=self._tls)
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self._user_agent},
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=False,
            )
        return session

    @asynccontextmanager
    async def open(
        self,
        url: str,
        params: dict[str, str],
        *,
        read_timeout: float,
    ) -> AsyncIterator[EventStreamResponse]:
        """GET `url` as an event stream; raise the typed error unless it is one.

        `url` is already percent-encoded (ids are quoted by the caller), so
        it is taken as is: re-quoting could turn an id's `%2F` into a `/`.
        """
        target = URL(f"{url}?{urlencode(params)}", encoded=True)
        # No sock_read: aiohttp would move a timer on every chunk (4 us each,
        # 1.5 % of a core at 4,000 msg/s); `_SilenceWatch` looks once in a while.
        timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=min(read_timeout, 10.0), sock_read=None
        )
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        try:
            async with asyncio.timeout(read_timeout):
                response = await self._get_session().get(
                    target,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                    proxy=self._proxy,
                )
        except TimeoutError:
            raise aiohttp.SocketTimeoutError("no answer to the stream GET in time") from None
        self.open_streams += 1
        try:
            status = response.status
            if not 200 <= status < 300:
                body = await _read_capped(response)
                if 300 <= status < 400:
                    where = urlsplit(response.headers.get("location", "")).netloc or "elsewhere"
                    raise APIError(f"the stream redirected to {where}; not followed", status=status)
                raise error_from_response(status, body, response.headers)
            content_type = response.headers.get("content-type", "")
            if not content_type.lower().startswith("text/event-stream"):
                body = await _read_capped(response)
                raise MalformedResponseError(
                    f"stream answered with content type {content_type or 'none'!r}",
                    status=status,
                    body=body,
                )
            watch = _SilenceWatch(response, read_timeout)
            try:
                yield EventStreamResponse(status, response.headers, response.content.iter_any())
            except aiohttp.ClientError as exc:
                if watch.fired:
                    raise aiohttp.SocketTimeoutError("no data in time") from exc
                raise
            finally:
                watch.cancel()
            if watch.fired:
                # Closing the connection may read as a clean end: it was not.
                raise aiohttp.SocketTimeoutError("no data in time")
        finally:
            self.open_streams -= 1
            # close(), not release(): a stream left mid-body must drop its
            # connection at once rather than wait to be read to the end.
            response.close()

    async def call(
        self, method: str, url: str, headers: Mapping[str, str], *, answer_within: float, limit: int
    ) -> PlainAnswer:
        """One short request (a stream ticket), its body read up to `limit` bytes.

        Transport failures raise aiohttp's exceptions (see `describe_stream_failure`);
        no answer within `answer_within` seconds raises `TimeoutError`.
        """
        async with asyncio.timeout(answer_within):
            async with self._get_session().request(
                method,
                URL(url, encoded=True),
                headers=headers,
                allow_redirects=False,
                proxy=self._proxy,
            ) as response:
                chunks: list[bytes] = []
                size = 0
                while size < limit and (chunk := await response.content.read(limit - size)):
                    chunks.append(chunk)
                    size += len(chunk)
                return PlainAnswer(response.status, response.headers, b"".join(chunks))

    async def aclose(self) -> None:
        """Close the session and every connection it holds."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class _SilenceWatch:
    """Closes a stream that received no byte for `limit` seconds.

    It looks at the body's byte count a few times per `limit` instead of
    moving a timer on every chunk: a stream is cut between `limit` and
    1.25 x `limit` after its last byte, and the reader sees a timeout.
    """

    def __init__(self, response: aiohttp.ClientResponse, limit: float) -> None:
        self.fired = False
        self._response = response
        self._limit = limit
        self._period = min(1.0, limit / 4)
        self._loop = asyncio.get_running_loop()
        self._seen = response.content.total_bytes
        self._since = self._loop.time()
        self._handle = self._loop.call_later(self._period, self._check)

    def _check(self) -> None:
        now = self._loop.time()
        total = self._response.content.total_bytes
        if total != self._seen:
            self._seen, self._since = total, now
        elif now - self._since >= self._limit:
            self.fired = True
            self._response.close()
            return
        self._handle = self._loop.call_later(self._period, self._check)

    def cancel(self) -> None:
        """Stop watching (the stream is over)."""
        self._handle.cancel()


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while size < ERROR_BODY_LIMIT:
            chunk = await response.content.read(ERROR_BODY_LIMIT - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except aiohttp.ClientError:
        pass  # An error answer cut short still says its status.
    return b"".join(chunks)
