"""An embedded stand-in for the BimpeAI Agent Console API, served by aiohttp on 127.0.0.1."""

from __future__ import annotations

import array
import asyncio
import bisect
import collections
import contextlib
import contextvars
import hmac
import json
import math
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from bimpe_tui.demo.faults import FAULT_KINDS, FaultPlan, parse_fault_spec
from bimpe_tui.demo.world import AdjustableClock, DemoWorld, parse_iso_ms

__all__ = [
    "API_PREFIX",
    "CONTROL_PREFIX",
    "DEMO_API_KEY",
    "DemoServer",
    "StreamRequestRecord",
    "parse_fault_spec",
    "run_standalone",
]

DEMO_API_KEY = "sk_demo_bimpe_tui_0000000000000000"
"""The API key the demo server accepts unless told otherwise."""
API_PREFIX = "/api/v1/console"
"""Every endpoint lives under this path."""
CONTROL_PREFIX = "/_demo"
"""The control endpoints (clock, faults, stats), served only with ``control=True``."""

_BATCH_BYTES = 64 * 1024
# Replays served from the frame cache: blocks of this many messages, written in batches
# this big (fewer, larger writes are what lets the server outrun any client).
_REPLAY_BLOCK = 4096
_REPLAY_BATCH_BYTES = 256 * 1024
# A backlog at least this long is worth encoding whole blocks for.
_REPLAY_MIN_BACKLOG = 1024
# Idle streams re-check the world at least this often, so a clock that jumps (a test's
# manual clock) is noticed even without wake().
_MAX_IDLE_WAIT = 1.0
_SHUTDOWN_TIMEOUT = 0.5
_FLUSH_POLL = 0.005
_FLUSH_POLLS = 100
_SEARCH_WINDOW = 2000
_MAX_LIMIT = 100
_DEFAULT_LIMIT = 20
_CHANNELS = (
    "whatsapp",
    "webchat",
    "telephony",
    "test_whatsapp",
    "test_webchat",
    "test_telephony",
)
_TICKET_INVALID = "stream ticket is invalid, used or expired"
# Set by the middleware for the handler running in the same task (no per-request storage
# key needed, which keeps older aiohttp versions quiet too).
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("demo_request_id", default="")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class StreamRequestRecord:
    """What one stream GET looked like on the wire."""

    path: str
    query_string: str
    query: dict[str, str]
    headers: dict[str, str]
    """Request headers with lower-cased names."""


@dataclass(slots=True)
class _Ticket:
    agent_id: str
    conversation_id: str
    expires_at: float


class _ApiError(Exception):
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


# A cached block: its frames back to back, and where each starts (plus the total length).
_Block = tuple[bytes, "array.array[int]"]


class _FrameCache:
    """Encoded message frames of whole blocks of messages, least recently used first out.

    Frames are a pure function of the world, so a cached block never goes stale. Replaying
    a backlog from the cache costs a slice per batch instead of formatting every frame,
    which keeps the server faster than any client it is measured against.
    """

    def __init__(self, encode: Callable[[str, int, int], list[bytes]], max_bytes: int) -> None:
        self._encode = encode
        self.max_bytes = max_bytes
        self.size = 0
        self._blocks: collections.OrderedDict[tuple[str, int], _Block] = collections.OrderedDict()

    def has(self, conversation_id: str, index: int) -> bool:
        """Whether the block holding message ``index`` is cached."""
        return (conversation_id, index // _REPLAY_BLOCK) in self._blocks

    def _block(self, conversation_id: str, block_no: int) -> _Block:
        key = (conversation_id, block_no)
        block = self._blocks.get(key)
        if block is not None:
            self._blocks.move_to_end(key)
            return block
        start = block_no * _REPLAY_BLOCK
        frames = self._encode(conversation_id, start, start + _REPLAY_BLOCK)
        offsets = array.array("Q", [0])
        total = 0
        for frame in frames:
            total += len(frame)
            offsets.append(total)
        block = (b"".join(frames), offsets)
        self._blocks[key] = block
        self.size += total
        while self.size > self.max_bytes and len(self._blocks) > 1:
            _, (old, _) = self._blocks.popitem(last=False)
            self.size -= len(old)
        return block

    def take(
        self, conversation_id: str, start: int, stop: int, max_bytes: int
    ) -> tuple[bytes, int]:
        """Frames for ``start <= index < stop`` up to about ``max_bytes`` (at least one).

        Never crosses a block boundary; returns the bytes and how many frames they hold.
        """
        block_no, first = divmod(start, _REPLAY_BLOCK)
        data, offsets = self._block(conversation_id, block_no)
        last = min(stop - block_no * _REPLAY_BLOCK, _REPLAY_BLOCK)
        begin = offsets[first]
        end = bisect.bisect_right(offsets, begin + max_bytes, first + 1, last + 1) - 1
        end = max(end, first + 1)
        return data[begin : offsets[end]], end - first


@dataclass(slots=True)
class _StreamState:
    conversation_id: str
    next_index: int
    written: int = 0
    last_frame: float = 0.0
    chaos_at: float | None = None
    pending_cut: bool = False


class DemoServer:
    """The demo Console API server, runnable inside an existing asyncio loop.

    Use ``async with DemoServer(...) as server:`` or call :meth:`start` and :meth:`stop`.
    ``base_url`` is valid once started.

    For benchmarks: ``bench_conversations`` / ``bench_period`` serve the uniform bench
    world (see :class:`DemoWorld`); ``control`` serves the control endpoints under
    ``/_demo`` (moving the clock needs ``clock`` to be an :class:`AdjustableClock`);
    ``replay_cache_bytes`` keeps up to that many bytes of encoded frames so that long
    replays are served from memory. The defaults leave all of these off.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        rate: float = 1.0,
        clock: Callable[[], float] = time.time,
        heartbeat_interval: float = 15.0,
        ticket_ttl: float = 60.0,
        faults: FaultPlan | None = None,
        api_key: str = DEMO_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        bench_conversations: int = 0,
        bench_period: float = 0.05,
        control: bool = False,
        replay_cache_bytes: int = 0,
    ) -> None:
        if heartbeat_interval <= 0 or ticket_ttl <= 0:
            raise ValueError("heartbeat_interval and ticket_ttl must be positive")
        if replay_cache_bytes < 0:
            raise ValueError("replay_cache_bytes must not be negative")
        self.world = DemoWorld(
            seed=seed,
            rate=rate,
            clock=clock,
            bench_conversations=bench_conversations,
            bench_period=bench_period,
        )
        self.control = control
        self._frame_cache = (
            _FrameCache(self._encode_frames, replay_cache_bytes) if replay_cache_bytes else None
        )
        self._faults = faults if faults is not None else FaultPlan()
        self.api_key = api_key
        self.heartbeat_interval = heartbeat_interval
        self.ticket_ttl = ticket_ttl
        self.host = host
        self.port = port
        self.base_url = ""
        self.stream_requests: collections.deque[StreamRequestRecord] = collections.deque(
            maxlen=1000
        )
        self.stats: collections.Counter[str] = collections.Counter()
        self._tickets: dict[str, _Ticket] = {}
        self._streams: dict[asyncio.Task[Any], web.BaseRequest] = {}
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_future: asyncio.Future[None] | None = None
        self._change_waiters: list[asyncio.Future[None]] = []
        self._stopped: asyncio.Event | None = None
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start serving (idempotent)."""
        if self._runner is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._stopped = asyncio.Event()
        self._wake_future = self._loop.create_future()
        runner = web.AppRunner(
            self._build_app(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = port
        self.base_url = f"http://{host}:{port}"
        self.faults.add_listener(self.wake)

    async def stop(self) -> None:
        """Close every open stream and stop serving (idempotent, prompt)."""
        runner = self._runner
        if runner is None:
            return
        self._runner = None
        self._stopping = True
        self.faults.remove_listener(self.wake)
        if self._stopped is not None:
            self._stopped.set()
        self.wake()
        for task, request in list(self._streams.items()):
            transport = request.transport
            if transport is not None:
                transport.abort()
            task.cancel()
        if self._streams:
            await asyncio.wait(list(self._streams), timeout=_SHUTDOWN_TIMEOUT)
        await runner.cleanup()
        self._tickets.clear()

    async def __aenter__(self) -> DemoServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def faults(self) -> FaultPlan:
        """The fault plan in force; may be replaced while the server runs."""
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        if self._runner is not None:
            self._faults.remove_listener(self.wake)
            plan.add_listener(self.wake)
        self._faults = plan
        self.wake()

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._runner is not None

    @property
    def active_streams(self) -> int:
        """How many stream responses are open right now."""
        return len(self._streams)

    def wake(self) -> None:
        """Make idle streams re-check the clock and the fault plan now.

        Safe to call from any thread.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake_now()
        else:
            loop.call_soon_threadsafe(self._wake_now)

    def _wake_now(self) -> None:
        future = self._wake_future
        if self._loop is None:
            return
        self._wake_future = self._loop.create_future()
        if future is not None and not future.done():
            future.set_result(None)

    def _notify(self) -> None:
        waiters, self._change_waiters = self._change_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds, re-checking whenever the server's state changes.

        State changes are: a request answered, a stream opened or closed, frames or a
        heartbeat written, a fault applied. Wrap in ``asyncio.wait_for`` to bound the wait.
        """
        loop = asyncio.get_running_loop()
        while not predicate():
            waiter: asyncio.Future[None] = loop.create_future()
            self._change_waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._change_waiters:
                    self._change_waiters.remove(waiter)

    def expire_tickets(self) -> None:
        """Test hook: make every outstanding ticket expired."""
        for ticket in self._tickets.values():
            ticket.expires_at = -math.inf

    # --- app -------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        @web.middleware
        async def envelope_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
            request_id = request.headers.get("X-Request-Id") or f"req_{secrets.token_hex(8)}"
            _request_id.set(request_id)
            self.stats["requests"] += 1
            try:
                response = await handler(request)
            except _ApiError as error:
                response = self._error_response(error, request_id)
            except web.HTTPException as error:
                # Route misses and wrong methods get the API's error body, not aiohttp's text.
                code = "not_found" if error.status == 404 else "bad_request"
                response = self._error_response(
                    _ApiError(error.status, code, error.reason), request_id
                )
            if not response.prepared:
                response.headers["X-Request-Id"] = request_id
            self._notify()
            return response

        app = web.Application(middlewares=[envelope_errors])
        base = f"{API_PREFIX}/agents"
        conv = f"{base}/{{agent_id}}/conversations/{{conversation_id}}"
        app.router.add_get(base, self._list_agents)
        app.router.add_get(f"{base}/{{agent_id}}/conversations", self._list_conversations)
        app.router.add_get(conv, self._get_conversation)
        app.router.add_get(f"{conv}/messages", self._list_messages)
        app.router.add_post(f"{conv}/stream-ticket", self._stream_ticket)
        # No HEAD: it would spend a single-use ticket without opening a stream.
        app.router.add_get(f"{conv}/stream", self._stream, allow_head=False)
        if self.control:
            app.router.add_post(f"{CONTROL_PREFIX}/clock", self._control_clock)
            app.router.add_post(f"{CONTROL_PREFIX}/faults", self._control_faults)
            app.router.add_get(f"{CONTROL_PREFIX}/stats", self._control_stats)
        return app

    def _error_response(self, error: _ApiError, request_id: str) -> web.Response:
        self.stats["errors"] += 1
        body = {"message": error.message, "code": error.code, "request_id": request_id}
        return web.json_response(body, status=error.status, headers=error.headers, dumps=_dumps)

    @staticmethod
    def _ok(data: object, meta: dict[str, object] | None = None, status: int = 200) -> web.Response:
        body: dict[str, object] = {"message": "ok", "data": data}
        if meta is not None:
            body["meta"] = meta
        return web.json_response(body, status=status, dumps=_dumps)

    def _authorize(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _ApiError(401, "api_key_missing", "API key is missing")
        if not hmac.compare_digest(token.encode(), self.api_key.encode()):
            raise _ApiError(401, "api_key_invalid", "API key is invalid")

    def _conversation(self, request: web.Request) -> tuple[str, str]:
        agent_id = request.match_info["agent_id"]
        conversation_id = request.match_info["conversation_id"]
        if self.world.agent(agent_id) is None:
            raise _ApiError(404, "not_found", f"agent {agent_id!r} not found")
        if self.world.agent_of(conversation_id) != agent_id:
            raise _ApiError(404, "not_found", f"conversation {conversation_id!r} not found")
        return agent_id, conversation_id

    # --- REST ------------------------------------------------------------------------

    async def _list_agents(self, request: web.Request) -> web.Response:
        self._authorize(request)
        query = _Query(request)
        page, limit = query.paging()
        search = query.text("search")
        sort = query.sort(("name", "created_at", "updated_at"), "-created_at")
        query.raise_errors()
        agents = self.world.agents()
        if search:
            needle = search.casefold()
            agents = [a for a in agents if needle in str(a["name"]).casefold()]
        _sort_dicts(agents, sort)
        data, meta = _paginate(agents, page, limit)
        return self._ok(data, meta)

    async def _list_conversations(self, request: web.Request) -> web.Response:
        self._authorize(request)
        query = _Query(request)
        page, limit = query.paging()
        search = query.text("search")
        sort = query.sort(
            ("last_message_at", "created_at", "updated_at", "channel_user_username"),
            "-last_message_at",
        )
        channel = query.choice("channel", _CHANNELS)
        flags = {
            name: query.boolean(name)
            for name in ("is_test_channel", "is_ai_chat_paused", "needs_attention")
        }
        query.raise_errors()
        agent_id = request.match_info["agent_id"]
        if self.world.agent(agent_id) is None:
            raise _ApiError(404, "not_found", f"agent {agent_id!r} not found")
        items = self.world.conversations(agent_id)
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
        return self._ok(data, meta)

    async def _get_conversation(self, request: web.Request) -> web.Response:
        self._authorize(request)
        agent_id, conversation_id = self._conversation(request)
        detail = self.world.conversation_detail(agent_id, conversation_id)
        return self._ok(detail)

    async def _list_messages(self, request: web.Request) -> web.Response:
        self._authorize(request)
        query = _Query(request)
        page, limit = query.paging()
        search = query.text("search")
        sort = query.sort(("created_at",), "-created_at")
        query.raise_errors()
        _, conversation_id = self._conversation(request)
        world = self.world
        latest = world.latest_index(conversation_id)
        newest_first = sort.startswith("-")
        offset = (page - 1) * limit
        if search:
            # Searching is bounded to recent history: the full history can be millions long.
            needle = search.casefold()
            window = range(max(0, latest - _SEARCH_WINDOW + 1), latest + 1)
            hits = [
                i for i in window if needle in world.message(conversation_id, i).message.casefold()
            ]
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
        return self._ok(data, _meta(total, page, limit))

    async def _stream_ticket(self, request: web.Request) -> web.Response:
        self._authorize(request)
        agent_id, conversation_id = self._conversation(request)
        fault = self.faults.take_ticket_fault()
        if fault == "ticket_429":
            reset = int(time.time()) + 1
            raise _ApiError(
                429,
                "rate_limited",
                "too many stream ticket requests, retry later",
                {
                    "Retry-After": "1",
                    "X-RateLimit-Limit": "60",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                },
            )
        if fault == "ticket_503":
            raise _ApiError(503, "internal_error", "stream service temporarily unavailable")
        now = time.monotonic()
        # Forget dead tickets so a long-running server doesn't accumulate them.
        for key in [k for k, t in self._tickets.items() if t.expires_at <= now]:
            del self._tickets[key]
        ticket = f"tk_{secrets.token_urlsafe(24)}"
        self._tickets[ticket] = _Ticket(agent_id, conversation_id, now + self.ticket_ttl)
        self.stats["tickets"] += 1
        expires_in = max(1, round(self.ticket_ttl))
        return self._ok({"ticket": ticket, "expires_in": expires_in}, status=201)

    # --- control -----------------------------------------------------------------------

    async def _control_body(self, request: web.Request) -> dict[str, Any]:
        self._authorize(request)
        try:
            body = await request.json()
        except ValueError:
            raise _ApiError(400, "bad_request", "body must be a JSON object") from None
        if not isinstance(body, dict):
            raise _ApiError(400, "bad_request", "body must be a JSON object")
        return body

    async def _control_clock(self, request: web.Request) -> web.Response:
        """``{"now"?: epoch s, "advance"?: s, "speed"?: x}``: move or re-pace the clock."""
        body = await self._control_body(request)
        clock = self.world.clock
        if not isinstance(clock, AdjustableClock):
            raise _ApiError(409, "conflict", "this server's clock cannot be moved")
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
            raise _ApiError(400, "validation_error", errors)
        now = clock.set(now=values["now"], advance=values["advance"] or 0.0, speed=speed)
        self.wake()
        return self._ok({"now": now, "speed": clock.speed})

    async def _control_faults(self, request: web.Request) -> web.Response:
        """``{"kind": str, "count"?: n, "after_messages"?: n}``: queue one-shot faults."""
        body = await self._control_body(request)
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
            raise _ApiError(400, "validation_error", errors)
        self.faults.inject(str(kind), count, after_messages=after)
        return self._ok({"pending": self.faults.pending})

    async def _control_stats(self, request: web.Request) -> web.Response:
        """Counters of what the server did, and how many streams are open."""
        self._authorize(request)
        stats: dict[str, object] = dict(self.stats)
        stats["active_streams"] = self.active_streams
        stats["injected"] = dict(self.faults.injected)
        if self._frame_cache is not None:
            stats["replay_cache_bytes"] = self._frame_cache.size
        return self._ok(stats)

    # --- stream ----------------------------------------------------------------------

    def _consume_ticket(self, value: str | None, agent_id: str, conversation_id: str) -> bool:
        ticket = self._tickets.pop(value, None) if value else None
        return (
            ticket is not None
            and ticket.expires_at > time.monotonic()
            and ticket.agent_id == agent_id
            and ticket.conversation_id == conversation_id
        )

    def _start_index(self, conversation_id: str, after: str | None) -> int:
        world = self.world
        if after is None:
            return world.latest_index(conversation_id) + 1
        after_ms = parse_iso_ms(after)
        if after_ms is not None:
            return world.latest_index_ms(conversation_id, after_ms) + 1
        parsed = world.parse_message_id(after)
        if (
            parsed is None
            or parsed[0] != conversation_id
            or parsed[1] > world.latest_index(conversation_id)
        ):
            raise _ApiError(410, "not_found", f"after: unknown message id {after!r}")
        return parsed[1] + 1

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        query = {key: request.query[key] for key in request.query}
        self.stream_requests.append(
            StreamRequestRecord(
                path=request.path,
                query_string=request.query_string,
                query=query,
                headers={k.lower(): v for k, v in request.headers.items()},
            )
        )
        agent_id = request.match_info["agent_id"]
        conversation_id = request.match_info["conversation_id"]
        if not self._consume_ticket(query.get("ticket"), agent_id, conversation_id):
            raise _ApiError(401, "unauthorized", _TICKET_INVALID)
        after = query.get("after")
        after_is_id = after is not None and parse_iso_ms(after) is None
        fault = self.faults.take_stream_request_fault(after_is_id=after_is_id)
        if fault == "stream_401":
            raise _ApiError(401, "unauthorized", _TICKET_INVALID)
        if fault == "after_410":
            raise _ApiError(410, "not_found", f"after: unknown message id {after!r}")
        next_index = self._start_index(conversation_id, after)

        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Request-Id": _request_id.get(),
            },
        )
        task = asyncio.current_task()
        assert task is not None
        self._streams[task] = request
        self.stats["streams"] += 1
        self._notify()
        try:
            await response.prepare(request)
            await self._pump(request, response, _StreamState(conversation_id, next_index))
        except ConnectionError:
            # The client went away mid-write: nothing to report.
            self.stats["disconnects"] += 1
        finally:
            self._streams.pop(task, None)
            self._notify()
        return response

    async def _pump(
        self, request: web.Request, response: web.StreamResponse, state: _StreamState
    ) -> None:
        """Write due messages and heartbeats until a fault, the client or stop() ends it."""
        loop = asyncio.get_running_loop()
        world = self.world
        plan = self.faults
        state.last_frame = loop.time()
        delay = plan.next_chaos_delay()
        state.chaos_at = None if delay is None else loop.time() + delay
        while not self._stopping:
            if not state.pending_cut:
                kind = plan.take_queued_stream_fault(state.written)
                if kind is None and state.chaos_at is not None and loop.time() >= state.chaos_at:
                    kind = plan.take_chaos_stream_fault()
                    delay = plan.next_chaos_delay()
                    state.chaos_at = None if delay is None else loop.time() + delay
                if kind is not None:
                    self._notify()
                if kind == "cut":
                    # A cut needs a frame to cut: it strikes the next message due.
                    state.pending_cut = True
                elif kind is not None:
                    await self._end_stream(kind, request, response)
                    return
            latest = world.latest_index(state.conversation_id)
            if state.next_index <= latest:
                if state.pending_cut:
                    frame = self._encode(
                        state.conversation_id, state.next_index, state.next_index + 1
                    )[0]
                    cut_at = frame.index(b"data: ") + (len(frame) - frame.index(b"data: ")) // 2
                    await response.write(frame[:cut_at])
                    await self._abort(request)
                    return
                stop = latest + 1
                threshold = plan.queued_stream_threshold()
                if threshold is not None and threshold > state.written:
                    # Stop the batch exactly where a queued fault is due.
                    stop = min(stop, state.next_index + threshold - state.written)
                cache = self._frame_cache
                if cache is not None and (
                    stop - state.next_index >= _REPLAY_MIN_BACKLOG
                    or cache.has(state.conversation_id, state.next_index)
                ):
                    chunk, count = cache.take(
                        state.conversation_id, state.next_index, stop, _REPLAY_BATCH_BYTES
                    )
                else:
                    chunk, count = self._encode(state.conversation_id, state.next_index, stop)
                await response.write(chunk)
                state.written += count
                state.next_index += count
                state.last_frame = loop.time()
                self.stats["frames"] += count
                self._notify()
                # Let other connections run during a long replay.
                await asyncio.sleep(0)
                continue
            now = loop.time()
            heartbeat_at = state.last_frame + self.heartbeat_interval
            if now >= heartbeat_at:
                payload = _dumps({"ts": int(world.clock())})
                await response.write(f"event: heartbeat\ndata: {payload}\n\n".encode())
                state.last_frame = now
                self.stats["heartbeats"] += 1
                self._notify()
                continue
            until_message = world.time_of(state.conversation_id, state.next_index) - world.clock()
            # The small margin avoids waking a hair before the message is due and spinning.
            wait = min(heartbeat_at - now, max(0.0, until_message) + 0.001, _MAX_IDLE_WAIT)
            if state.chaos_at is not None:
                wait = min(wait, max(0.0, state.chaos_at - now))
            await self._idle(wait)

    def _encode(self, conversation_id: str, start: int, stop: int) -> tuple[bytes, int]:
        """SSE message frames for ``start <= index < stop``, up to about 64 KiB."""
        parts: list[str] = []
        size = 0
        for message_id, payload in self.world.stream_payloads(conversation_id, start, stop):
            frame = f"id: {message_id}\nevent: message\ndata: {payload}\n\n"
            parts.append(frame)
            size += len(frame)
            if size >= _BATCH_BYTES:
                break
        return "".join(parts).encode(), len(parts)

    def _encode_frames(self, conversation_id: str, start: int, stop: int) -> list[bytes]:
        """Each SSE message frame for ``start <= index < stop``, encoded on its own."""
        return [
            f"id: {message_id}\nevent: message\ndata: {payload}\n\n".encode()
            for message_id, payload in self.world.stream_payloads(conversation_id, start, stop)
        ]

    async def _idle(self, seconds: float) -> None:
        future = self._wake_future
        if future is None or seconds <= 0:
            await asyncio.sleep(0)
            return
        await asyncio.wait([future], timeout=seconds)

    async def _end_stream(
        self, kind: str, request: web.Request, response: web.StreamResponse
    ) -> None:
        if kind == "drop":
            await self._abort(request)
        elif kind == "close":
            await response.write_eof()
        elif kind == "silent":
            # Hold the connection open, sending nothing, until the client leaves (the
            # handler is then cancelled) or the server stops.
            assert self._stopped is not None
            await self._stopped.wait()

    async def _abort(self, request: web.Request) -> None:
        """Reset the connection without the chunked terminator, after flushing what we wrote."""
        transport = request.transport
        if transport is None:
            return
        # Data still in the transport's buffer would be discarded by abort(); the client
        # must receive every complete frame written before the fault.
        for _ in range(_FLUSH_POLLS):
            if transport.is_closing() or transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(_FLUSH_POLL)
        transport.abort()


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
            raise _ApiError(400, "validation_error", list(self.errors))


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


def run_standalone(
    *,
    port: int = 0,
    seed: int = 7,
    rate: float = 1.0,
    heartbeat_interval: float = 15.0,
    faults: FaultPlan | None = None,
    bench_conversations: int = 0,
    bench_period: float = 0.05,
    control: bool = False,
    replay_cache_bytes: int = 0,
) -> int:
    """Serve the demo API on 127.0.0.1 until SIGINT/SIGTERM; return the exit status.

    Prints one line with the URL and API key once listening. With ``control`` the clock
    is an :class:`AdjustableClock` that the control endpoints can move.
    """

    async def serve() -> int:
        server = DemoServer(
            seed=seed,
            rate=rate,
            heartbeat_interval=heartbeat_interval,
            faults=faults,
            port=port,
            clock=AdjustableClock() if control else time.time,
            bench_conversations=bench_conversations,
            bench_period=bench_period,
            control=control,
            replay_cache_bytes=replay_cache_bytes,
        )
        try:
            await server.start()
        except OSError as error:
            print(f"error: cannot listen on 127.0.0.1:{port}: {error.strerror}", file=sys.stderr)
            return 1
        print(f"BimpeAI demo server on {server.base_url}  (api key: {server.api_key})", flush=True)
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        installed: list[signal.Signals] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, done.set)
                installed.append(signum)
        try:
            await done.wait()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            await server.stop()
        return 0

    try:
        return asyncio.run(serve())
    except KeyboardInterrupt:
        # Only reached where signal handlers can't be installed (e.g. Windows).
        return 0
