"""The demo API's REST handlers: agents, conversations and messages, with query parsing."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from aiohttp import web

from bimpe_tui.demo.context import ServerContext
from bimpe_tui.demo.envelope import ApiError, authorize, ok
from bimpe_tui.demo.world import DemoWorld
from bimpe_tui.rules import CHANNELS

__all__ = ["RestHandlers", "find_conversation", "rate_limited"]

_MAX_LIMIT = 100
_DEFAULT_LIMIT = 20


def rate_limited(message: str) -> ApiError:
    """A 429 as the real service sends it: ``Retry-After: 1`` and the rate-limit headers."""
    reset = int(time.time()) + 1
    return ApiError(
        429,
        "rate_limited",
        message,
        {
            "Retry-After": "1",
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        },
    )


def find_conversation(world: DemoWorld, request: web.Request) -> tuple[str, str]:
    """``(agent_id, conversation_id)`` from the path, or the API's 404."""
    agent_id = request.match_info["agent_id"]
    conversation_id = request.match_info["conversation_id"]
    if world.agent(agent_id) is None:
        raise ApiError(404, "not_found", f"agent {agent_id!r} not found")
    if world.agent_of(conversation_id) != agent_id:
        raise ApiError(404, "not_found", f"conversation {conversation_id!r} not found")
    return agent_id, conversation_id


class RestHandlers:
    """The read-only REST endpoints of the demo server, over its world."""

    def __init__(self, server: ServerContext) -> None:
        self._server = server

    def _list_fault(self) -> None:
        """Answer a list call with an injected 429 or 503, if the fault plan says so."""
        fault = self._server.faults.take_list_fault()
        if fault == "list_429":
            raise rate_limited("too many requests, retry later")
        if fault == "list_503":
            raise ApiError(503, "internal_error", "service temporarily unavailable")

    async def list_agents(self, request: web.Request) -> web.Response:
        """``GET /agents``."""
        authorize(request, self._server.api_key)
        self._list_fault()
        query = _Query(request)
        page, limit = query.paging()
        search = query.text("search")
        sort = query.sort(("name", "created_at", "updated_at"), "-created_at")
        query.raise_errors()
        agents = self._server.world.agents()
        if search:
            needle = search.casefold()
            agents = [a for a in agents if needle in str(a["name"]).casefold()]
        _sort_dicts(agents, sort)
        data, meta = _paginate(agents, page, limit)
        return ok(data, meta)

    async def list_conversations(self, request: web.Request) -> web.Response:
        """``GET /agents/{agent_id}/conversations``."""
        authorize(request, self._server.api_key)
        self._list_fault()
        query = _Query(request)
        page, limit = query.paging()
        search = query.text("search")
        sort = query.sort(
            ("last_message_at", "created_at", "updated_at", "channel_user_username"),
            "-last_message_at",
        )
        channel = query.choice("channel", CHANNELS)
        flags = {
            name: query.boolean(name)
            for name in ("is_test_channel", "is_ai_chat_paused", "needs_attention")
        }
        query.raise_errors()
        world = self._server.world
        agent_id = request.match_info["agent_id"]
        if world.agent(agent_id) is None:
            raise ApiError(404, "not_found", f"agent {agent_id!r} not found")
        actions = self._server.actions
        items = [actions.decorate(c) for c in world.conversations(agent_id)]
        if channel is not None:
            items = [c for c in items if c["channel_type"] == channel]
        for name, wanted in flags.items():
            if wanted is not None:
                items = [c for c in items if c[name] is wanted]
        if search:
            needle = search.casefold()
            fields = ("channel_user_username", "channel_user_id", "last_message_preview")
            items = [c for c in items if any(needle in str(c[f] or "").casefold() for f in fields)]
        _sort_dicts(items, sort)
        data, meta = _paginate(items, page, limit)
        return ok(data, meta)

    async def get_conversation(self, request: web.Request) -> web.Response:
        """``GET /agents/{agent_id}/conversations/{conversation_id}``."""
        authorize(request, self._server.api_key)
        world = self._server.world
        agent_id, conversation_id = find_conversation(world, request)
        detail = world.conversation_detail(agent_id, conversation_id)
        if detail is not None:
            detail = self._server.actions.decorate(detail)
        return ok(detail)

    async def list_messages(self, request: web.Request) -> web.Response:
        """``GET /agents/{agent_id}/conversations/{conversation_id}/messages``."""
        authorize(request, self._server.api_key)
        if self._server.faults.take_history_fault() == "history_503":
            raise ApiError(503, "internal_error", "service temporarily unavailable")
        query = _Query(request)
        page, limit = query.paging()
        search = query.text("search")
        sort = query.sort(("created_at",), "-created_at")
        query.raise_errors()
        world = self._server.world
        _, conversation_id = find_conversation(world, request)
        latest = world.latest_index(conversation_id)
        newest_first = sort.startswith("-")
        offset = (page - 1) * limit
        actions = self._server.actions
        if actions.touched(conversation_id):
            return self._touched_messages(
                conversation_id, latest, search, newest_first, page, limit
            )
        if search:
            # The whole conversation, back to its first message: lives are bounded.
            hits = world.search(conversation_id, search, latest)
            if newest_first:
                hits.reverse()
            total = len(hits)
            indices: Sequence[int] = hits[offset : offset + limit]
        else:
            # Pages are index arithmetic; the history is never materialised.
            total = latest + 1
            if newest_first:
                top = latest - offset
                indices = range(top, max(-1, top - limit), -1)
            else:
                indices = range(offset, min(total, offset + limit))
        data = [world.message(conversation_id, i).to_api() for i in indices]
        return ok(data, _meta(total, page, limit))

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /agents/{agent_id}/conversations/{conversation_id}/messages/{message_id}``."""
        authorize(request, self._server.api_key)
        _, conversation_id = find_conversation(self._server.world, request)
        message_id = request.match_info["message_id"]
        found = self._server.actions.find_message(conversation_id, message_id)
        if found is None:
            raise ApiError(404, "not_found", f"message {message_id!r} not found")
        return ok(found)

    def _touched_messages(
        self,
        conversation_id: str,
        latest: int,
        search: str | None,
        newest_first: bool,
        page: int,
        limit: int,
    ) -> web.Response:
        """Pages of a conversation users acted on: the world's part, then the run's."""
        actions = self._server.actions
        k0, tail = actions.tail(conversation_id, latest)
        total = k0 + len(tail)
        offset = (page - 1) * limit

        def item_at(position: int) -> dict[str, object]:
            if position < k0:
                return actions.api_message(conversation_id, position)
            return actions.api_message(conversation_id, tail[position - k0])

        if search:
            needle = search.casefold()
            # The whole conversation, back to its first message, as for the others.
            found = [p for p in range(total) if needle in str(item_at(p)["message"]).casefold()]
            if newest_first:
                found.reverse()
            data = [item_at(p) for p in found[offset : offset + limit]]
            return ok(data, _meta(len(found), page, limit))
        if newest_first:
            top = total - 1 - offset
            positions: Sequence[int] = range(top, max(-1, top - limit), -1)
        else:
            positions = range(offset, min(total, offset + limit))
        return ok([item_at(p) for p in positions], _meta(total, page, limit))


class _Query:
    """Reads and validates query parameters, collecting "path: text" errors."""

    def __init__(self, request: web.Request) -> None:
        self._query = request.query
        self.errors: list[str] = []

    def text(self, name: str) -> str | None:
        value = self._query.get(name)
        return value if value else None

    def _integer(self, name: str, default: int, low: int, high: int | None) -> int:
        raw = self._query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.errors.append(f"{name}: must be an integer")
            return default
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.errors.append(f"{name}: must be {bound}")
            return default
        return value

    def paging(self) -> tuple[int, int]:
        page = self._integer("page", 1, 1, None)
        limit = self._integer("limit", _DEFAULT_LIMIT, 1, _MAX_LIMIT)
        return page, limit

    def sort(self, fields: Sequence[str], default: str) -> str:
        raw = self._query.get("sort")
        if not raw:
            return default
        if raw.removeprefix("-") not in fields:
            allowed = ", ".join(f"{f}, -{f}" for f in fields)
            self.errors.append(f"sort: must be one of {allowed}")
            return default
        return raw

    def choice(self, name: str, options: Sequence[str]) -> str | None:
        raw = self._query.get(name)
        if raw is None:
            return None
        if raw not in options:
            self.errors.append(f"{name}: must be one of {', '.join(options)}")
            return None
        return raw

    def boolean(self, name: str) -> bool | None:
        raw = self._query.get(name)
        if raw is None:
            return None
        if raw not in ("true", "false"):
            self.errors.append(f"{name}: must be true or false")
            return None
        return raw == "true"

    def raise_errors(self) -> None:
        if self.errors:
            raise ApiError(400, "validation_error", list(self.errors))


def _meta(total: int, page: int, limit: int) -> dict[str, object]:
    page_count = math.ceil(total / limit)
    return {
        "total_count": total,
        "page_count": page_count,
        "current_page": page,
        "limit": limit,
        "has_next_page": page < page_count,
        "has_previous_page": page > 1,
    }


def _paginate(
    items: list[dict[str, object]], page: int, limit: int
) -> tuple[list[dict[str, object]], dict[str, object]]:
    start = (page - 1) * limit
    return items[start : start + limit], _meta(len(items), page, limit)


def _sort_dicts(items: list[dict[str, object]], sort: str) -> None:
    key = sort.removeprefix("-")
    descending = sort.startswith("-")
    present = [i for i in items if i.get(key) is not None]
    missing = [i for i in items if i.get(key) is None]
    present.sort(key=lambda item: str(item[key]).casefold(), reverse=descending)
    # Items without a value (a conversation with no message yet) always come last.
    items[:] = present + missing
