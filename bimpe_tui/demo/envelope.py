"""The demo API's answers on the wire: the success envelope, error bodies and auth."""

from __future__ import annotations

import contextvars
import hmac
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

__all__ = ["ApiError", "authorize", "dumps", "json_body", "ok", "request_id"]

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("demo_request_id", default="")
"""The request id of the request being answered.

Set by the server's middleware for the handler running in the same task (no per-request
storage key needed, which keeps older aiohttp versions quiet too).
"""


def dumps(obj: object) -> str:
    """Compact JSON that keeps non-ASCII text as is, as the API writes it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class ApiError(Exception):
    """Raised by handlers; rendered as the API's error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str | list[str],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def ok(data: object, meta: dict[str, object] | None = None, status: int = 200) -> web.Response:
    """The success envelope ``{"message": "ok", "data": ..., "meta"?: ...}``."""
    body: dict[str, object] = {"message": "ok", "data": data}
    if meta is not None:
        body["meta"] = meta
    return web.json_response(body, status=status, dumps=dumps)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or the API's 400 ``bad_request``."""
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "bad_request", "body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "body must be a JSON object")
    return body


def authorize(request: web.Request, api_key: str) -> None:
    """Raise the API's 401 unless the request carries ``Authorization: Bearer <api_key>``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "api_key_missing", "API key is missing")
    if not hmac.compare_digest(token.encode(), api_key.encode()):
        raise ApiError(401, "api_key_invalid", "API key is invalid")
