"""The resumable stream: ticket, SSE GET, reconnect, resume after the last id.

`ResumableStream` is an async iterator of `Message` (a delivered message) and
`StreamStatus` (what the connection is doing). It knows nothing of Textual:
the TUI, `bimpe-tui tail` and the tests all drive it the same way.

It composes the parts that each own one job: `Connector` (connect.py, the
ticket step and the GET), `FrameReader` (reader.py, one connection's frames
into batches), `ResumeLedger` (resume.py, the resume point and the ids not
to deliver twice), `ReconnectPolicy` (reconnect.py, the retry budget and
the back-off) and `Backfill` (backfill.py, what the history adds). What an
attempt's end means is the outcome table's (outcomes.py); here it is
applied, and every status is made (`StreamStatus`, status.py). The names
other modules import from here are re-exported.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import deque
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import replace

from .backfill import FALLBACK_LOOKUP_PAGES, FILL_PAGES, Backfill
from .client import ConsoleClient
from .connect import Connector
from .models import Message, decode_message
from .outcomes import (
    FAILURES,
    Outcome,
    Phase,
    classify,
    is_timestamp,
    parse_timestamp,
    unusable_cursor,
    usable_id,
)
from .reader import FrameReader
from .reconnect import DEFAULT_MAX_RETRIES, DEFAULT_READ_TIMEOUT, ReconnectPolicy
from .replay import PROBE_HOLD_LIMIT, canonical_time, created_before, replay_horizon
from .resume import DEFAULT_DEDUPE_WINDOW, ResumeLedger
from .retry import BASE_DELAY, MAX_DELAY
from .status import StreamEvent, StreamState, StreamStatus

__all__ = [
    "DEFAULT_DEDUPE_WINDOW",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_READ_TIMEOUT",
    "FALLBACK_LOOKUP_PAGES",
    "FILL_PAGES",
    "PROBE_HOLD_LIMIT",
    "ResumableStream",
    "StreamEvent",
    "StreamState",
    "StreamStatus",
    "canonical_time",
    "created_before",
    "is_timestamp",
    "parse_timestamp",
    "replay_horizon",
]


class ResumableStream:
    """Stream one conversation's new messages, reconnecting and resuming on its own.

    Every connection gets a fresh ticket; the stream GET carries the ticket,
    never the key. After a drop it resumes with `after=<last delivered id>`
    so nothing is lost, and a bounded window of delivered ids makes sure
    nothing is delivered twice. The retry budget counts consecutive failures
    and is reset by every delivered message and every heartbeat.
    """

    def __init__(
        self,
        client: ConsoleClient,
        agent_id: str,
        conversation_id: str,
        *,
        after: str | None = None,
        after_created_at: str | None = None,
        reconnect: bool = True,
        max_retries: int = DEFAULT_MAX_RETRIES,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
        dedupe_window: int = DEFAULT_DEDUPE_WINDOW,
        rng: random.Random | None = None,
        decode: Callable[[bytes], Message] = decode_message,
    ) -> None:
        self.client = client
        self.agent_id = agent_id
        self.conversation_id = conversation_id
        self._policy = ReconnectPolicy(
            reconnect=reconnect,
            max_retries=max_retries,
            read_timeout=read_timeout,
            base_delay=base_delay,
            max_delay=max_delay,
            # Each stream jitters from its own entropy, so streams dropped together
            # come back spread out rather than in a herd.
            rng=rng or random.Random(os.urandom(16)),
        )
        self._ledger = ResumeLedger(after, after_created_at, dedupe_window)
        # Every part reports through `_status`, the one place statuses are made.
        report = self._status
        self._reader = FrameReader(self._ledger, self._policy, decode, report)
        self._backfill = Backfill(
            client, agent_id, conversation_id, self._ledger, self._policy, report
        )
        self._connector = Connector(client, agent_id, conversation_id)
        self.connections = 0
        #: A fall back to a time, said once a connection takes it.
        self._pending_gap: StreamStatus | None = None
        self._events = self._run()
        self._ready: deque[StreamEvent] = deque()
        self._consumer: asyncio.Task[object] | None = None
        self._close_requested = False
        self._closed = False
        self._finished = asyncio.Event()

    # -- what the parts know, read through the stream --------------------------

    @property
    def cursor(self) -> str | None:
        """What the next connection sends as `after`."""
        return self._ledger.cursor

    @property
    def last_id(self) -> str | None:
        """The id of the last delivered message."""
        return self._ledger.last_id

    @property
    def last_created_at(self) -> str | None:
        """The creation time of the last delivered message, if known."""
        return self._ledger.last_created_at

    @property
    def delivered(self) -> int:
        """How many messages this stream delivered."""
        return self._ledger.delivered

    @property
    def last_activity(self) -> float | None:
        """time.monotonic() of the last byte received; None before the first."""
        return self._reader.last_activity

    @property
    def decode(self) -> Callable[[bytes], Message]:
        """How a frame's data becomes a Message."""
        return self._reader.decode

    @property
    def failures(self) -> int:
        """Consecutive failures so far (0 after every message and heartbeat)."""
        return self._policy.failures

    @property
    def reconnect(self) -> bool:
        """Whether the stream reconnects at all after the server ends it or it fails."""
        return self._policy.reconnect

    @property
    def max_retries(self) -> int:
        """The retry budget: consecutive failures allowed before giving up."""
        return self._policy.max_retries

    @property
    def read_timeout(self) -> float:
        """Seconds without a byte, or without a complete event, that make a connection stalled."""
        return self._policy.read_timeout

    @property
    def base_delay(self) -> float:
        """The back-off's first window, in seconds."""
        return self._policy.base_delay

    @property
    def max_delay(self) -> float:
        """The back-off's largest window, in seconds."""
        return self._policy.max_delay

    # -- the iterator protocol ---------------------------------------------

    def __aiter__(self) -> ResumableStream:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._closed:
            raise StopAsyncIteration
        ready = self._ready
        if ready:
            # Events come in batches, one per chunk read: handing out the rest
            # of a batch touches no generator at all.
            return ready.popleft()
        self._consumer = asyncio.current_task()
        try:
            ready.extend(await self._events.__anext__())
            return ready.popleft()
        except asyncio.CancelledError:
            if not self._close_requested or self._consumer is None:
                raise
            # aclose() from another task interrupted us: that is a normal end.
            self._consumer.uncancel()
            self._closed = True
            raise StopAsyncIteration from None
        finally:
            self._consumer = None
            if self._closed:
                self._finished.set()

    async def aclose(self) -> None:
        """Stop streaming and close the connection now, from any task."""
        self._close_requested = True
        self._ready.clear()
        consumer = self._consumer
        if consumer is not None and consumer is not asyncio.current_task():
            # The generator is busy in another task's __anext__ and cannot be
            # closed from here: interrupt that task, which ends cleanly.
            consumer.cancel()
            await self._finished.wait()
            return
        self._closed = True
        await self._events.aclose()

    async def __aenter__(self) -> ResumableStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- internals ------------------------------------------------------------

    def _status(self, state: StreamState, **kw: object) -> StreamStatus:
        return StreamStatus(state, max_retries=self._policy.max_retries, **kw)  # type: ignore[arg-type]

    async def _run(self) -> AsyncGenerator[list[StreamEvent], None]:
        """Attempt after attempt: connect, deliver, then apply the outcome table."""
        ledger, policy, backfill = self._ledger, self._policy, self._backfill
        connector, status = self._connector, self._status
        if (
            ledger.last_id is not None
            and ledger.last_created_at is None
            and usable_id(ledger.last_id)
        ):
            # A caller's resume point without its time (`tail --after ID`): with
            # the time, the probe of the first connection can deliver what is
            # newer at once instead of holding it until the server goes quiet.
            ledger.last_created_at = await backfill.find_time(ledger.last_id)
            backfill.looked_up = ledger.last_id
        while True:
            cursor = ledger.cursor
            if cursor is not None and not usable_id(cursor) and not is_timestamp(cursor):
                # Refused here, not by the server: a 100 KB id (saved by an
                # older version, or given) would fail every retry and restart.
                outcome = await self._classify(None, "stream", None, unusable=True)
                ledger.cursor = outcome.cursor
                gap = status("gap_possible", cause=outcome.cause, after=outcome.rejected)
                if outcome.kind == "continue_live" and ledger.last_id is not None:
                    backfill.start(ledger.last_id, outcome.cause)
                elif outcome.kind == "fall_back":
                    self._pending_gap = gap
                else:
                    yield [gap]
                continue
            yield [status("connecting", attempt=policy.failures)]
            after = ledger.cursor
            failure: BaseException | None = None
            try:
                async with (
                    connector.open(after, policy.read_timeout) as response,
                    aclosing(self._reader.read(response, after)) as events,
                ):
                    self.connections += 1
                    pending, self._pending_gap = self._pending_gap, None
                    live = status("live")
                    yield [live] if pending is None else [live, pending]
                    if backfill.after is not None and after is None:
                        # Attached: what the server sends from now on waits in
                        # the socket while the history fills what came before.
                        async for filled in backfill.fill():
                            yield filled
                    async for batch in events:
                        yield batch
            except FAILURES as exc:
                failure = exc
            outcome = await self._classify(failure, connector.phase, connector.ticket)
            if outcome.stalled:
                yield [status("stalled", cause=outcome.cause)]
            kind = outcome.kind
            policy.failures = outcome.failures
            if kind == "continue_live" and ledger.last_id is not None:
                # Attach live, then fill the hole from the history (see Backfill).
                ledger.cursor = None
                backfill.start(ledger.last_id, outcome.cause)
                self._pending_gap = None
                continue
            if kind == "fall_back":
                # Said once the server takes the time: if it refuses that too,
                # the history fills the hole and there is no gap to speak of.
                ledger.cursor = outcome.cursor
                self._pending_gap = status(
                    "gap_possible", cause=outcome.cause, after=outcome.rejected
                )
                continue
            if kind == "continue_live":
                ledger.cursor = outcome.cursor
                yield [status("gap_possible", cause=outcome.cause, after=outcome.rejected)]
                continue
            if kind == "give_up":
                yield [status("gave_up", cause=outcome.cause)]
                return
            if kind == "close":
                yield [status("closed", cause=outcome.cause)]
                return
            # retry or refresh_ticket: every attempt fetches a new ticket anyway.
            yield [
                status(
                    "reconnecting",
                    attempt=outcome.failures,
                    delay=outcome.delay,
                    cause=outcome.cause,
                )
            ]
            await asyncio.sleep(outcome.delay or 0.0)

    async def _classify(
        self,
        failure: BaseException | None,
        phase: Phase,
        ticket: str | None,
        *,
        unusable: bool = False,
    ) -> Outcome:
        """Look the attempt up in the outcome table, searching the history if it asks to.

        With `unusable`, no attempt was made: the cursor is not an id to send
        (`outcomes.usable_id`), and the outcome says where to resume instead.
        """
        decide = (lambda _failure, attempt: unusable_cursor(attempt)) if unusable else classify
        ledger = self._ledger
        cursor = ledger.cursor
        attempt = self._policy.attempt(
            phase,
            cursor,
            cursor_time=ledger.last_created_at if cursor == ledger.last_id else None,
            # Searched once at the start already: the same pages would not know more.
            looked_up=cursor is not None and cursor == self._backfill.looked_up,
            secrets=(self.client.api_key, ticket),
        )
        outcome = decide(failure, attempt)
        if outcome.kind == "look_up" and cursor is not None:
            found = await self._backfill.find_time(cursor)
            outcome = decide(failure, replace(attempt, cursor_time=found, looked_up=True))
        return outcome
