"""One REST call, sent, retried and unwrapped: the plumbing under `ConsoleClient`.

`RestSession` owns the httpx client and the API key: it sends a call, retries
it as the official SDK does, reads at most `MAX_REST_BODY` of the answer and
turns it into an `Envelope` or a typed error. Which calls there are, and
what their answers hold, is the client's (client.py).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import httpx

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
from .models import PageMeta
from .retry import honour_retry_after, is_retryable, sdk_backoff
from .transport import StreamTransport, describe_stream_failure

__all__ = [
    "API_PREFIX",
    "DEFAULT_TIMEOUT",
    "MAX_REST_BODY",
    "Envelope",
    "RestSession",
    "describe_transport_error",
]

API_PREFIX = "/api/v1/console"
DEFAULT_TIMEOUT = 30.0
#: The largest REST answer read: a bigger one is refused, never held in memory.
MAX_REST_BODY = 16 * 2**20


class Envelope:
    """A successful answer: `data`, pagination `meta`, and the request id."""

    __slots__ = ("data", "meta", "request_id", "status")

    def __init__(self, data: Any, meta: PageMeta | None, request_id: str, status: int) -> None:
        self.data = data
        self.meta = meta
        self.request_id = request_id
        self.status = status


def _query(params: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = "true" if value is True else "false" if value is False else str(value)
    return out


class RestSession:
    """REST calls with the API key: sent, retried as the SDK does, unwrapped.

    Calls go through httpx, except those sent `via` a stream transport (the
    stream ticket's POST: see `transport.py`).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float,
        max_retries: int,
        user_agent: str,
        tls: ssl.SSLContext,
    ) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.max_retries = max_retries
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        # Redirects are never followed: a 301 to another host must not take
        # the Authorization header with it.
        self.http = httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            headers={"User-Agent": user_agent},
            verify=tls,
        )

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return f"{self.base_url}{API_PREFIX}{path}"

    async def aclose(self) -> None:
        """Close the httpx client's connections."""
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        max_retries: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        via: StreamTransport | None = None,
    ) -> Envelope:
        """Send one REST call, retrying what the SDK retries, and unwrap the envelope.

        `body` (JSON) and `headers` go unchanged with every attempt: a write's
        Idempotency-Key must be the same on each retry. `via` sends a call
        without a body through that stream transport instead of httpx.
        """
        retries = self.max_retries if max_retries is None else max_retries
        request_id = str(uuid.uuid4())
        attempt = 0
        while True:
            try:
                if via is not None:
                    return await self._send_with_streams(
                        via, method, path, params or {}, request_id
                    )
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
            "Authorization": f"Bearer {self.api_key}",
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
            async with self.http.stream(
                method, self.url(path), params=_query(params), headers=headers, content=content
            ) as response:
                body = await _read_capped(response, MAX_REST_BODY + 1)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(f"{method} {path}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"{method} {path}: {describe_transport_error(exc)}") from exc
        return unwrap(response.status_code, response.headers, body, request_id)

    async def _send_with_streams(
        self,
        streams: StreamTransport,
        method: str,
        path: str,
        params: dict[str, Any],
        request_id: str,
    ) -> Envelope:
        query = f"?{urlencode(_query(params))}" if params else ""
        try:
            answer = await streams.call(
                method,
                self.url(path) + query,
                self._headers(request_id),
                answer_within=self.timeout.read or DEFAULT_TIMEOUT,
                limit=MAX_REST_BODY + 1,
            )
        except TimeoutError as exc:
            raise APITimeoutError(f"{method} {path}: no answer in time") from exc
        except aiohttp.ClientError as exc:
            described = describe_stream_failure(exc)
            words = described[0] if described is not None else "network error"
            raise APIConnectionError(f"{method} {path}: {words}") from exc
        return unwrap(answer.status, answer.headers, answer.body, request_id)


def unwrap(status: int, headers: Mapping[str, str], body: bytes, request_id: str) -> Envelope:
    """An answer read whole made an `Envelope`, or the typed error it is."""
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
