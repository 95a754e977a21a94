"""The demo API's write endpoints: send a message, pause or resume a conversation's AI."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bimpe_tui.demo.actions import MAX_MESSAGE_CHARS, SENDABLE_ROLES
from bimpe_tui.demo.context import ServerContext
from bimpe_tui.demo.envelope import ApiError, authorize, json_body, ok
from bimpe_tui.demo.rest import find_conversation

__all__ = ["WriteHandlers"]


class WriteHandlers:
    """``POST .../messages`` and ``PATCH .../ai-status`` of the demo server."""

    def __init__(self, server: ServerContext) -> None:
        self._server = server

    async def _start(self, request: web.Request) -> tuple[str, str, dict[str, Any]]:
        server = self._server
        authorize(request, server.api_key)
        if not server.writes_allowed:
            raise ApiError(403, "insufficient_scope", "this API key may not write")
        agent_id, conversation_id = find_conversation(server.world, request)
        return agent_id, conversation_id, await json_body(request)

    async def send_message(self, request: web.Request) -> web.StreamResponse:
        """``POST .../messages`` ``{"message", "role"?}``: 201 and the created Message."""
        server = self._server
        agent_id, conversation_id, body = await self._start(request)
        text = body.get("message")
        role = body.get("role", "assistant")
        errors: list[str] = []
        if not isinstance(text, str) or not text.strip():
            errors.append("message: must be a non-empty string")
        elif len(text) > MAX_MESSAGE_CHARS:
            errors.append(f"message: must be at most {MAX_MESSAGE_CHARS} characters")
        if role not in SENDABLE_ROLES:
            errors.append(f"role: must be one of {', '.join(SENDABLE_ROLES)}")
        if errors:
            raise ApiError(400, "validation_error", errors)
        assert isinstance(text, str)
        assert isinstance(role, str)
        key = request.headers.get("Idempotency-Key") or None
        sent = server.actions.send(conversation_id, agent_id, text, role, key)
        server.stats["sent"] += 1
        server.wake()
        if server.faults.take_send_fault() == "send_lost":
            # Stored, but the answer never arrives: the client must retry with the same
            # key and get this message back, not make a second one.
            server.notify_change()
            transport = request.transport
            if transport is not None:
                transport.abort()
            # aiohttp cancels this handler once it sees the connection gone.
            await server.wait_stopped()
        return ok(sent.message.to_api(), status=201)

    async def set_ai_status(self, request: web.Request) -> web.Response:
        """``PATCH .../ai-status`` ``{"is_ai_chat_paused": bool}``: the flag as it now is."""
        server = self._server
        _, conversation_id, body = await self._start(request)
        paused = body.get("is_ai_chat_paused")
        if not isinstance(paused, bool):
            raise ApiError(400, "validation_error", ["is_ai_chat_paused: must be a boolean"])
        server.actions.set_paused(conversation_id, paused)
        server.wake()
        return ok({"is_ai_chat_paused": paused})
