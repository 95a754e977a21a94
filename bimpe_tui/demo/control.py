"""The demo server's bench-only control endpoints: move the clock, queue faults, read stats."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from bimpe_tui.demo.clock import AdjustableClock
from bimpe_tui.demo.context import ServerContext
from bimpe_tui.demo.envelope import ApiError, authorize, json_body, ok
from bimpe_tui.demo.faults import FAULT_KINDS
from bimpe_tui.demo.pump import StreamHub

__all__ = ["ControlHandlers"]


class ControlHandlers:
    """``/_demo/clock``, ``/_demo/faults`` and ``/_demo/stats`` of the demo server."""

    def __init__(self, server: ServerContext, hub: StreamHub) -> None:
        self._server = server
        self._hub = hub

    async def _body(self, request: web.Request) -> dict[str, Any]:
        authorize(request, self._server.api_key)
        return await json_body(request)

    async def clock(self, request: web.Request) -> web.Response:
        """``{"now"?: epoch s, "advance"?: s, "speed"?: x}``: move or re-pace the clock."""
        body = await self._body(request)
        clock = self._server.world.clock
        if not isinstance(clock, AdjustableClock):
            raise ApiError(409, "conflict", "this server's clock cannot be moved")
        values: dict[str, float | None] = {}
        errors: list[str] = []
        for name in ("now", "advance", "speed"):
            value = body.get(name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                errors.append(f"{name}: must be a number")
                value = None
            values[name] = None if value is None else float(value)
        speed = values["speed"]
        if speed is not None and speed < 0:
            errors.append("speed: must not be negative")
        if errors:
            raise ApiError(400, "validation_error", errors)
        now = clock.set(now=values["now"], advance=values["advance"] or 0.0, speed=speed)
        self._server.wake()
        return ok({"now": now, "speed": clock.speed})

    async def faults(self, request: web.Request) -> web.Response:
        """``{"kind": str, "count"?: n, "after_messages"?: n}``: queue one-shot faults."""
        body = await self._body(request)
        kind = body.get("kind")
        count = body.get("count", 1)
        after = body.get("after_messages", 1)
        errors: list[str] = []
        if kind not in FAULT_KINDS:
            errors.append(f"kind: must be one of {', '.join(FAULT_KINDS)}")
        for name, value in (("count", count), ("after_messages", after)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                errors.append(f"{name}: must be a whole number, 0 or more")
        if errors:
            raise ApiError(400, "validation_error", errors)
        plan = self._server.faults
        plan.inject(str(kind), count, after_messages=after)
        return ok({"pending": plan.pending})

    async def stats(self, request: web.Request) -> web.Response:
        """Counters of what the server did, and how many streams are open."""
        server = self._server
        authorize(request, server.api_key)
        stats: dict[str, object] = dict(server.stats)
        stats["active_streams"] = server.active_streams
        stats["injected"] = dict(server.faults.injected)
        cache = self._hub.frame_cache
        if cache is not None:
            stats["replay_cache_bytes"] = cache.size
        return ok(stats)
