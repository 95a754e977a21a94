"""An embedded stand-in for the BimpeAI Agent Console API, served by aiohttp on 127.0.0.1."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from bimpe_tui import event_loop
from bimpe_tui.demo.actions import UserActions
from bimpe_tui.demo.clock import AdjustableClock
from bimpe_tui.demo.context import StreamRequestRecord
from bimpe_tui.demo.control import ControlHandlers
from bimpe_tui.demo.envelope import ApiError, dumps, request_id
from bimpe_tui.demo.faults import FaultPlan, parse_fault_spec
from bimpe_tui.demo.pump import StreamHub
from bimpe_tui.demo.rest import RestHandlers
from bimpe_tui.demo.world import DemoWorld
from bimpe_tui.demo.writes import WriteHandlers

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

_SHUTDOWN_TIMEOUT = 0.5
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DemoServer:
    """The demo Console API server, runnable inside an existing asyncio loop.

    Use ``async with DemoServer(...) as server:`` or call :meth:`start` and :meth:`stop`.
    ``base_url`` is valid once started.

    For benchmarks: ``bench_conversations`` / ``bench_period`` serve the uniform bench
    world (see :class:`DemoWorld`); ``control`` serves the control endpoints under
    ``/_demo`` (moving the clock needs ``clock`` to be an :class:`AdjustableClock`);
    ``replay_cache_bytes`` keeps up to that many bytes of encoded frames so that long
    replays are served from memory. The defaults leave all of these off. ``newcomers``
    False keeps the world to its 15 regular conversations (see :class:`DemoWorld`).
    ``writes_allowed`` False answers every write with 403 ``insufficient_scope``, as the
    service does for a read-only key.
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
        newcomers: bool = True,
        writes_allowed: bool = True,
        stream_lag: bool = False,
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
            newcomers=newcomers,
        )
        self.actions = UserActions(self.world)
        """What clients sent and paused this run (the world itself stays seed and clock)."""
        self.writes_allowed = writes_allowed
        #: The stream lags the REST answers: a message a user sent is written on the
        #: streams only once the world has a message after it (the app must not wait
        #: on the stream to show what the POST answered).
        self.stream_lag = stream_lag
        self.control = control
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
        self.stream_hub = StreamHub(self, replay_cache_bytes)
        """Tickets, open streams and the frame cache."""
        self._rest = RestHandlers(self)
        self._control = ControlHandlers(self, self.stream_hub)
        self._writes = WriteHandlers(self)
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
        await self.stream_hub.close_streams(_SHUTDOWN_TIMEOUT)
        await runner.cleanup()

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
    def stopping(self) -> bool:
        """True once :meth:`stop` has begun (streams end their loops)."""
        return self._stopping

    @property
    def active_streams(self) -> int:
        """How many stream responses are open right now."""
        return len(self.stream_hub.streams)

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

    def notify_change(self) -> None:
        """Tell :meth:`wait_until` callers that the server's state changed."""
        waiters, self._change_waiters = self._change_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def idle(self, seconds: float) -> None:
        """Sleep up to ``seconds``, or until :meth:`wake`."""
        future = self._wake_future
        if future is None or seconds <= 0:
            await asyncio.sleep(0)
            return
        await asyncio.wait([future], timeout=seconds)

    async def wait_stopped(self) -> None:
        """Wait until :meth:`stop` (a silent stream holds its connection until then)."""
        assert self._stopped is not None
        await self._stopped.wait()

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
        self.stream_hub.expire_tickets()

    # --- app -------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        @web.middleware
        async def envelope_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
            rid = request.headers.get("X-Request-Id") or f"req_{secrets.token_hex(8)}"
            request_id.set(rid)
            self.stats["requests"] += 1
            try:
                response = await handler(request)
            except ApiError as error:
                response = self._error_response(error, rid)
            except web.HTTPException as error:
                # Route misses and wrong methods get the API's error body, not aiohttp's text.
                code = "not_found" if error.status == 404 else "bad_request"
                response = self._error_response(ApiError(error.status, code, error.reason), rid)
            if not response.prepared:
                response.headers["X-Request-Id"] = rid
            self.notify_change()
            return response

        app = web.Application(middlewares=[envelope_errors])
        base = f"{API_PREFIX}/agents"
        conv = f"{base}/{{agent_id}}/conversations/{{conversation_id}}"
        rest, hub = self._rest, self.stream_hub
        app.router.add_get(base, rest.list_agents)
        app.router.add_get(f"{base}/{{agent_id}}/conversations", rest.list_conversations)
        app.router.add_get(conv, rest.get_conversation)
        app.router.add_get(f"{conv}/messages", rest.list_messages)
        app.router.add_get(f"{conv}/messages/{{message_id}}", rest.get_message)
        app.router.add_post(f"{conv}/messages", self._writes.send_message)
        app.router.add_patch(f"{conv}/ai-status", self._writes.set_ai_status)
        app.router.add_post(f"{conv}/stream-ticket", hub.stream_ticket)
        # No HEAD: it would spend a single-use ticket without opening a stream.
        app.router.add_get(f"{conv}/stream", hub.stream, allow_head=False)
        if self.control:
            control = self._control
            app.router.add_post(f"{CONTROL_PREFIX}/clock", control.clock)
            app.router.add_post(f"{CONTROL_PREFIX}/faults", control.faults)
            app.router.add_get(f"{CONTROL_PREFIX}/stats", control.stats)
        return app

    def _error_response(self, error: ApiError, rid: str) -> web.Response:
        self.stats["errors"] += 1
        body = {"message": error.message, "code": error.code, "request_id": rid}
        return web.json_response(body, status=error.status, headers=error.headers, dumps=dumps)


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
    newcomers: bool = True,
) -> int:
    """Serve the demo API on 127.0.0.1 until SIGINT/SIGTERM; return the exit status.

    Prints one line with the URL and API key once listening. With ``control`` the clock
    is an :class:`AdjustableClock` that the control endpoints can move. ``newcomers``
    False serves only the 15 regular conversations (see :class:`DemoWorld`).
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
            newcomers=newcomers,
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
        return event_loop.run(serve())
    except KeyboardInterrupt:
        # Only reached where signal handlers can't be installed (e.g. Windows).
        return 0
