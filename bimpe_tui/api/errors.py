"""Typed errors of the Console API, mapped from HTTP status and error `code`."""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Mapping
from typing import Any

from ..redact import redact
from ..safe_text import escaped

#: How much of an unexpected body an error keeps, so a 1 MB HTML page never
#: ends up in a log line or on the screen.
BODY_PREVIEW_BYTES = 200
#: Longest server-given message an error's text repeats.
MESSAGE_PREVIEW_CHARS = 300


def printable(text: str, limit: int = MESSAGE_PREVIEW_CHARS) -> str:
    """Server-given text made safe for one line of a terminal or log.

    Unsafe characters (see `safe_text`) are spelled out (`\\x1b`, `\\u202e`),
    tabs and newlines become spaces, the text is cut to `limit`
    characters, and anything shaped like a key, a bearer token or a ticket
    in a query string is masked: a server that echoes the request must not
    make an error message carry the credentials.
    """
    # Masked before it is cut, so a cut cannot leave the head of a key.
    text = redact(text[: limit * 4])
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return escaped(cut)


#: What a failed connect's errno means, in the words a status line uses.
_CONNECT_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ETIMEDOUT: "connection timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ECONNRESET: "connection reset",
    errno.EADDRNOTAVAIL: "address not available",
}


def connect_failure_reason(exc: BaseException | None) -> str | None:
    """Why a connection could not be made, from the OS error under ``exc``, if any.

    Walks the chain of causes (an HTTP library wraps the socket's error, sometimes
    twice): a name that does not resolve, then the first error with an errno.
    """
    seen = exc
    for _ in range(10):  # a chain is short; a cycle must not loop forever
        if seen is None:
            return None
        if isinstance(seen, socket.gaierror):
            return "host name not found"
        if isinstance(seen, OSError) and seen.errno is not None:
            known = _CONNECT_REASONS.get(seen.errno)
            if known is not None:
                return known
            return printable(str(seen.strerror or seen).lower(), 80)
        seen = seen.__cause__ or seen.__context__
    return None


def unreachable(host: str | None, port: int | None, reason: str | None) -> str:
    """``cannot reach 127.0.0.1:9 (connection refused)``: where, and why if known.

    Only the host and port are named: never a URL's path or query (a stream URL
    carries its ticket) or its user part, and never a header (the key is in one).
    """
    if not host:
        return f"cannot connect ({reason})" if reason else "cannot connect"
    shown = f"[{host}]" if ":" in host else host
    where = printable(shown if port is None else f"{shown}:{port}", 300)
    return f"cannot reach {where} ({reason})" if reason else f"cannot reach {where}"


def body_preview(body: bytes) -> str:
    """The first bytes of a body as text, secrets masked (before the cut)."""
    head = body[: BODY_PREVIEW_BYTES * 2].decode("utf-8", "replace")
    return redact(head)[:BODY_PREVIEW_BYTES]


class BimpeError(Exception):
    """Base class of every error bimpe-tui raises about the service."""


class APIConnectionError(BimpeError):
    """The request never got an HTTP answer: refused, reset, DNS, TLS..."""


class APITimeoutError(APIConnectionError):
    """The request got no answer within its timeout."""


class MalformedResponseError(BimpeError):
    """The server answered, but not with a Console API envelope.

    Carries the status and the first bytes of the body so the user can tell a
    proxy's HTML page from a broken server.
    """

    def __init__(self, reason: str, *, status: int, body: bytes) -> None:
        self.status = status
        self.body_preview = body_preview(body)
        super().__init__(f"{printable(reason)} (HTTP {status}): {self.body_preview!r}")


class APIError(BimpeError):
    """An error answer of the Console API: status, `code`, message, request id."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        code = f" {printable(self.code, 40)}" if self.code else ""
        bare = f"HTTP {self.status}"
        if not self.message or self.message == bare:
            # The server gave no words of its own: "HTTP 400: HTTP 400" says nothing more.
            return f"{bare}{code}"
        return f"{bare}{code}: {printable(self.message)}"


class BadRequestError(APIError):
    """400."""


class ValidationError(BadRequestError):
    """400 with code `validation_error`; `field_errors` holds (path, text) pairs."""

    def __init__(self, message: str, *, field_errors: list[tuple[str, str]], **kw: Any) -> None:
        self.field_errors = field_errors
        super().__init__(message, **kw)


class AuthenticationError(APIError):
    """401: the key (or, on a stream, the ticket) was refused."""


class PermissionDeniedError(APIError):
    """403."""


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409: never retried."""


class GoneError(APIError):
    """410."""


class RateLimitError(APIError):
    """429, with the server's `Retry-After` and rate-limit headers when given."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None,
        limit: int | None,
        remaining: int | None,
        reset_at: int | None,
        **kw: Any,
    ) -> None:
        self.retry_after = retry_after
        self.limit = limit
        self.remaining = remaining
        self.reset_at = reset_at
        super().__init__(message, **kw)


class InternalServerError(APIError):
    """5xx other than 501."""


class NotImplementedByServerError(APIError):
    """501: never retried."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    501: NotImplementedByServerError,
}


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> APIError:
    """Build the typed error for a non-2xx answer, whatever its body holds."""
    parsed: Any = None
    if body:
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            # RecursionError: JSON nested deeper than the parser's stack.
            parsed = None
    fields: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    raw_message = fields.get("message")
    message = _message_text(raw_message)
    if message is None:
        preview = body_preview(body).strip()
        message = preview if preview and parsed is None and status >= 500 else f"HTTP {status}"
    code = fields.get("code") if isinstance(fields.get("code"), str) else None
    request_id = headers.get("x-request-id") or _str_or_none(fields.get("request_id"))
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "request_id": request_id,
        "body": parsed,
    }
    if status == 400 and code == "validation_error":
        return ValidationError(message, field_errors=_field_errors(raw_message), **common)
    if status == 429:
        return RateLimitError(
            message,
            retry_after=parse_retry_after(headers.get("retry-after")),
            limit=_int_or_none(headers.get("x-ratelimit-limit")),
            remaining=_int_or_none(headers.get("x-ratelimit-remaining")),
            reset_at=_int_or_none(headers.get("x-ratelimit-reset")),
            **common,
        )
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIError
    return cls(message, **common)


def parse_retry_after(raw: str | None) -> float | None:
    """Seconds from a `Retry-After` header; HTTP dates and junk give None."""
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    # NaN and negatives are junk, not an instruction to wait.
    return value if value >= 0 and value == value else None


def _message_text(raw: Any) -> str | None:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        return "; ".join(str(item) for item in raw)
    return None


def _field_errors(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        return []
    out: list[tuple[str, str]] = []
    for entry in raw:
        path, sep, text = str(entry).partition(":")
        out.append((path.strip(), text.strip()) if sep else ("", str(entry)))
    return out


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None
