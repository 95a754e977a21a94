"""The resumable stream: ticket, SSE GET, reconnect, resume after the last id.

`ResumableStream` is an async iterator of `Message` (a delivered message) and
`StreamStatus` (what the connection is doing). It knows nothing of Textual:
the TUI, `bimpe-tui tail` and the tests all drive it the same way.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

from .client import ConsoleClient
from .errors import APIConnectionError, APIError, MalformedResponseError, printable
from .models import Message, ModelError, decode_message
from .outcomes import (
    FAILURES,
    Attempt,
    NoEventTimeout,
    Outcome,
    Phase,
    classify,
    is_timestamp,
    parse_timestamp,
    unusable_cursor,
    usable_id,
)
from .retry import BASE_DELAY, MAX_DELAY, backoff_window
from .sse import SSEParser
from .transport import EventStreamResponse

__all__ = [
    "DEFAULT_DEDUPE_WINDOW",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_READ_TIMEOUT",
    "ResumableStream",
    "StreamEvent",
    "StreamState",
    "StreamStatus",
    "is_timestamp",
    "parse_timestamp",
    "replay_horizon",
]

StreamState = Literal[
    "connecting",
    "live",
    "reconnecting",
    "resumed",
    "stalled",
    "gap_possible",
    "frame_skipped",
    "gave_up",
    "closed",
]

DEFAULT_MAX_RETRIES = 5
DEFAULT_READ_TIMEOUT = 45.0
DEFAULT_DEDUPE_WINDOW = 2048
#: How many pages of 100 messages to search for a rejected resume point's time.
FALLBACK_LOOKUP_PAGES = 3
#: How many pages of 100 messages a fill from history goes back, at most.
FILL_PAGES = 50


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """A change in what a stream is doing, with what a footer needs to say it."""

    state: StreamState
    attempt: int = 0
    max_retries: int = 0
    delay: float | None = None
    cause: str | None = None
    after: str | None = None
    replayed: int | None = None
    #: With `resumed` after a stream that could not resume: how many messages
    #: the history filled in (None: not such a resume).
    filled: int | None = None
    at: float = field(default_factory=time.time)

    @property
    def is_final(self) -> bool:
        """No event follows this one."""
        return self.state in ("gave_up", "closed")

    def describe(self) -> str:
        """The status in plain words, e.g. `reconnecting in 2.3 s (attempt 2/5): ...`.

        Ids and causes can come from the server: they are made printable, so
        no escape sequence reaches a terminal through a status line.
        """
        cause = f": {printable(self.cause)}" if self.cause else ""
        after = printable(self.after or "", 120)
        if self.state == "connecting":
            return (
                f"connecting (attempt {self.attempt}/{self.max_retries})"
                if self.attempt
                else ("connecting")
            )
        if self.state == "reconnecting":
            return (
                f"reconnecting in {self.delay or 0:.1f} s "
                f"(attempt {self.attempt}/{self.max_retries}){cause}"
            )
        if self.state == "resumed":
            if self.filled is not None:
                return f"resumed live after {after}, {self.filled} filled from history"
            count = "" if self.replayed is None else f", {self.replayed} replayed"
            return f"resumed after {after}{count}"
        if self.state == "gave_up":
            return f"gave up{cause}"
        if self.state == "frame_skipped":
            return f"skipped a frame{cause}"
        if self.state == "gap_possible":
            return f"gap possible{cause}"
        return f"{self.state}{cause}"


StreamEvent = Message | StreamStatus


def created_before(created_at: str, floor: str, *, unknown: bool = False) -> bool:
    """Whether a message's `created_at` is strictly earlier than `floor`.

    Two timestamps in the same canonical UTC form (same length, `Z`) compare
    as strings, with no parsing: the common case, once per delivered message.
    Anything else is parsed; when either time cannot be read, the answer is
    `unknown`.
    """
    if len(created_at) == len(floor) and created_at[-1:] == floor[-1:] == "Z":
        return created_at < floor
    a, b = parse_timestamp(created_at), parse_timestamp(floor)
    return unknown if a is None or b is None else a < b


def canonical_time(when: datetime) -> str:
    """`when` in the API's usual form, `2026-11-23T10:00:00.000Z`, to compare as text."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def replay_horizon(date_header: str | None) -> datetime | None:
    """The end of the second in which the server answered a stream GET, by its own clock.

    A replay is counted from the server alone, never from this machine's
    clock, which may be skewed against the server's by any amount: the
    replayed messages are those the server created before it answered, i.e.
    up to its `Date` header. `Date` has a resolution of one second, so a
    message created within that second counts as replayed. None when the
    server sent no usable `Date`.
    """
    if not date_header:
        return None
    try:
        answered = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if answered.tzinfo is None:
        answered = answered.replace(tzinfo=UTC)
    return answered + timedelta(seconds=1)


#: At most this many messages are held while a probe cannot tell a replay
#: from news (see `_Probe`); past it, the probe settles.
PROBE_HOLD_LIMIT = 10_000


class _Probe:
    """Right after a connection that sent `after=<id>`: is the server replaying?

    Ids decide what was delivered, not times: a new id is new whatever its
    `created_at` (a server node may run seconds behind). A timestamp may
    drop a message only inside a replay the engine recognised: the server
    sent again what it was not asked for. So, until the resume point's id
    shows up, a new id created before the resume point's time is held, not
    delivered: if the resume point then comes, everything held came before it
    in the server's order and is dropped; if the probe ends without it (a
    newer message, a heartbeat, the end of the connection) the held messages
    are delivered, unless the server did send known ids again (a replay,
    recognised, that skipped the resume point): then, as before ids decided,
    those older than the resume point are dropped, and that is said.
    """

    __slots__ = ("active", "cursor_id", "floor", "held", "horizon", "resent")

    def __init__(self, cursor_id: str, floor: str | None, horizon: str | None) -> None:
        self.active = True
        self.cursor_id = cursor_id
        #: The resume point's creation time, if known.
        self.floor = floor
        #: Messages created at or after this are live: the replay is over.
        self.horizon = horizon
        self.held: list[Message] = []
        #: Known ids the server sent again: the evidence of a replay.
        self.resent = 0

    def known(self, message_id: str) -> int | None:
        """A delivered id came again; the number of held messages dropped if it
        is the resume point (which ends the probe), else None."""
        self.resent += 1
        if message_id != self.cursor_id:
            return None
        self.active = False
        dropped = len(self.held)
        self.held = []
        return dropped

    def hold(self, message: Message) -> bool:
        """Hold a new message if it may belong to a replay; False ends the probe."""
        created_at = message.created_at
        floor, horizon = self.floor, self.horizon
        # Without the resume point's time nothing is held: holding everything
        # until the server goes quiet would delay every replay that long.
        if (
            floor is not None
            and created_before(created_at, floor)
            and (horizon is None or created_before(created_at, horizon, unknown=True))
            and len(self.held) < PROBE_HOLD_LIMIT
        ):
            self.held.append(message)
            return True
        return False

    def settle(self) -> tuple[list[Message], int]:
        """End the probe without the resume point: (messages to deliver, number dropped)."""
        self.active = False
        held, self.held = self.held, []
        floor = self.floor
        if not self.resent or floor is None:
            # Nothing known came again: no replay, so these are news (a node
            # whose clock runs behind).
            return held, 0
        keep = [m for m in held if not created_before(m.created_at, floor, unknown=True)]
        return keep, len(held) - len(keep)


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
        decode: Callable[[str], Message] = decode_message,
    ) -> None:
        self.client = client
        #: How a frame's data becomes a Message (`models.decode_message_head`
        #: for a consumer that only passes the payload through).
        self.decode = decode
        self.agent_id = agent_id
        self.conversation_id = conversation_id
        self.reconnect = reconnect
        self.max_retries = max_retries
        self.read_timeout = read_timeout
        self.base_delay = base_delay
        self.max_delay = max_delay
        # Each stream jitters from its own entropy, so streams dropped together
        # come back spread out rather than in a herd.
        self._rng = rng or random.Random(os.urandom(16))
        #: What the next connection sends as `after`.
        self.cursor: str | None = after
        #: The id and creation time of the last delivered message.
        self.last_id: str | None = None if after is None or is_timestamp(after) else after
        self.last_created_at: str | None = after_created_at
        #: time.monotonic() of the last byte received; None before the first.
        self.last_activity: float | None = None
        self.delivered = 0
        self.connections = 0
        self.failures = 0
        self._recent: deque[str] = deque(maxlen=dedupe_window)
        self._recent_set: set[str] = set()
        if self.last_id is not None:
            self._remember(self.last_id)
        #: The last message delivered before a stream that could not resume:
        #: the next connection attaches live and fills what came after it from
        #: the history. Kept until a fill succeeds or is given up.
        self._fill_after: str | None = None
        #: A fall back to a time, said once a connection takes it.
        self._pending_gap: StreamStatus | None = None
        self._fill_cause = ""
        #: The caller's resume point whose time was searched for in the history.
        self._looked_up: str | None = None
        self._events = self._run()
        self._ready: deque[StreamEvent] = deque()
        self._consumer: asyncio.Task[object] | None = None
        self._close_requested = False
        self._closed = False
        self._finished = asyncio.Event()

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
        return StreamStatus(state, max_retries=self.max_retries, **kw)  # type: ignore[arg-type]

    def _stale_status(self, count: int, shown: bool) -> StreamStatus:
        # "Already shown" only when it was: the resume point is a message this
        # stream delivered, and these came before it. A caller's resume point
        # (`tail --after ID`) says only where they are.
        why = "already shown" if shown else "they come before the resume point"
        return self._status(
            "frame_skipped",
            cause=(
                f"the server sent {count} message{'s' if count != 1 else ''} from before "
                f"the resume point again (it ignored `after`): dropped, {why}"
            ),
        )

    def _settled_status(self, dropped: int) -> StreamStatus:
        return self._status(
            "gap_possible",
            cause=(
                f"the server sent messages again (it ignored `after`) but not the resume "
                f"point itself: {dropped} message{'s' if dropped != 1 else ''} older than "
                "the resume point dropped by time; one never shown may be among them"
            ),
        )

    def _remember(self, message_id: str) -> None:
        recent = self._recent
        if len(recent) == recent.maxlen:
            self._recent_set.discard(recent[0])
        recent.append(message_id)
        self._recent_set.add(message_id)

    async def _find_time(self, message_id: str) -> str | None:
        """Look a message's creation time up in the recent history, if it is there."""
        for page_no in range(1, FALLBACK_LOOKUP_PAGES + 1):
            try:
                page = await self.client.list_messages(
                    self.agent_id, self.conversation_id, page=page_no, limit=100
                )
            except (APIError, APIConnectionError, MalformedResponseError):
                return None
            for message in page.items:
                if message.id == message_id:
                    return message.created_at or None
            if not page.has_next_page:
                return None
        return None

    async def _run(self) -> AsyncGenerator[list[StreamEvent], None]:
        """Attempt after attempt: connect, deliver, then apply the outcome table."""
        client = self.client
        if self.last_id is not None and self.last_created_at is None and usable_id(self.last_id):
            # A caller's resume point without its time (`tail --after ID`): with
            # the time, the probe of the first connection can deliver what is
            # newer at once instead of holding it until the server goes quiet.
            self.last_created_at = await self._find_time(self.last_id)
            self._looked_up = self.last_id
        while True:
            cursor = self.cursor
            if cursor is not None and not usable_id(cursor) and not is_timestamp(cursor):
                # Refused here, not by the server: a 100 KB id (saved by an
                # older version, or given) would fail every retry and restart.
                outcome = await self._classify(None, "stream", None, unusable=True)
                self.cursor = outcome.cursor
                status = self._status("gap_possible", cause=outcome.cause, after=outcome.rejected)
                if outcome.kind == "continue_live" and self.last_id is not None:
                    self._fill_after, self._fill_cause = self.last_id, outcome.cause
                elif outcome.kind == "fall_back":
                    self._pending_gap = status
                else:
                    yield [status]
                continue
            yield [self._status("connecting", attempt=self.failures)]
            phase: Phase = "ticket"
            ticket: str | None = None
            after = self.cursor
            failure: BaseException | None = None
            try:
                ticket = (
                    await client.create_stream_ticket(
                        self.agent_id, self.conversation_id, max_retries=0
                    )
                ).ticket
                phase = "stream"
                async with (
                    client.open_event_stream(
                        self.agent_id,
                        self.conversation_id,
                        ticket=ticket,
                        after=after,
                        read_timeout=self.read_timeout,
                    ) as response,
                    aclosing(self._read(response, after)) as events,
                ):
                    async for batch in events:
                        yield batch
            except FAILURES as exc:
                failure = exc
            outcome = await self._classify(failure, phase, ticket)
            if outcome.stalled:
                yield [self._status("stalled", cause=outcome.cause)]
            kind = outcome.kind
            self.failures = outcome.failures
            if kind == "continue_live" and self.last_id is not None:
                # Attach live, then fill the hole from the history (see _fill).
                self.cursor = None
                self._fill_after = self.last_id
                self._fill_cause = outcome.cause
                self._pending_gap = None
                continue
            if kind == "fall_back":
                # Said once the server takes the time: if it refuses that too,
                # the history fills the hole and there is no gap to speak of.
                self.cursor = outcome.cursor
                self._pending_gap = self._status(
                    "gap_possible", cause=outcome.cause, after=outcome.rejected
                )
                continue
            if kind == "continue_live":
                self.cursor = outcome.cursor
                yield [self._status("gap_possible", cause=outcome.cause, after=outcome.rejected)]
                continue
            if kind == "give_up":
                yield [self._status("gave_up", cause=outcome.cause)]
                return
            if kind == "close":
                yield [self._status("closed", cause=outcome.cause)]
                return
            # retry or refresh_ticket: every attempt fetches a new ticket anyway.
            yield [
                self._status(
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
        cursor = self.cursor
        attempt = Attempt(
            phase=phase,
            cursor=cursor,
            reconnect=self.reconnect,
            failures=self.failures,
            max_retries=self.max_retries,
            read_timeout=self.read_timeout,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            jitter=self._rng.random(),
            cursor_time=self.last_created_at if cursor == self.last_id else None,
            # Searched once at the start already: the same pages would not know more.
            looked_up=cursor is not None and cursor == self._looked_up,
            secrets=(self.client.api_key, ticket),
        )
        outcome = decide(failure, attempt)
        if outcome.kind == "look_up" and cursor is not None:
            found = await self._find_time(cursor)
            outcome = decide(failure, replace(attempt, cursor_time=found, looked_up=True))
        return outcome

    async def _read(
        self, response: EventStreamResponse, after: str | None
    ) -> AsyncGenerator[list[StreamEvent], None]:
        """Deliver one connection's messages, a batch per chunk; returns when the server ends it.

        With a resume point, the messages that come first are a replay of
        what was missed: they are counted, and `resumed` says how many once
        the replay is over. The count uses the server's word alone (see
        `replay_horizon`): the replay ends with the first message the server
        created after it answered, or with the first heartbeat (a server
        with nothing more to replay goes quiet), or with the connection.
        Ids decide what is new; a `_Probe` watches the start of the
        connection for a server that ignored `after`.

        This is the engine's hot loop (once per message of a replay): the
        bookkeeping is inlined and every batch is built in one list.
        """
        self.connections += 1
        pending, self._pending_gap = self._pending_gap, None
        yield [self._status("live")] if pending is None else [self._status("live"), pending]
        if self._fill_after is not None and after is None:
            # Attached: what the server sends from now on waits in the socket
            # while the history fills what came before.
            async for filled in self._fill():
                yield filled
        replaying = after is not None
        replayed = 0
        horizon = replay_horizon(response.headers.get("date")) if replaying else None
        horizon_text = canonical_time(horizon) if horizon is not None else None
        cursor_id = self.last_id if replaying else None
        probe = _Probe(cursor_id or "", self.last_created_at, horizon_text)
        # Kept in step with probe.active: one local test per message.
        probing = probe.active = cursor_id is not None
        # Whether the resume point is a message this stream delivered itself.
        shown = self.delivered > 0
        parser = SSEParser()
        decode = self.decode
        recent = self._recent
        recent_set = self._recent_set
        window = recent.maxlen
        # The watchdog counts complete events (messages, heartbeats, comment
        # keep-alives), not bytes: the socket's read timeout catches silence,
        # this a connection that drips bytes and never finishes a frame.
        last_event = time.monotonic()
        comments = 0
        async for chunk in response.chunks:
            now = self.last_activity = time.monotonic()
            events = parser.feed(chunk)
            if events or parser.comments != comments:
                last_event, comments = now, parser.comments
            elif now - last_event >= self.read_timeout:
                raise NoEventTimeout(f"no complete event for {self.read_timeout:g} s")
            batch: list[StreamEvent] = []
            for event in events:
                kind = event.event
                if kind == "message":
                    if event.oversized:
                        batch.append(
                            self._status(
                                "frame_skipped",
                                cause=f"a message frame over the size limit (id {event.id})",
                            )
                        )
                        continue
                    try:
                        message = decode(event.data)
                    except (ValueError, ModelError, RecursionError) as exc:
                        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors;
                        # absurdly deep nesting is a RecursionError.
                        batch.append(
                            self._status("frame_skipped", cause=f"malformed message frame: {exc}")
                        )
                        continue
                    message_id = message.id
                    if message_id in recent_set:
                        if probing:
                            dropped = probe.known(message_id)
                            probing = probe.active
                            if dropped:
                                batch.append(self._stale_status(dropped, shown))
                        continue
                    if probing:
                        if probe.hold(message):
                            continue
                        # A message at or after the resume point's time: no
                        # replay before it, so what was held is news.
                        probing = False
                        settled = self._settle(probe)
                        if replaying:
                            replayed += sum(isinstance(e, Message) for e in settled)
                        batch.extend(settled)
                    created_at = message.created_at
                    if replaying:
                        if horizon_text is not None and not created_before(
                            created_at, horizon_text, unknown=True
                        ):
                            replaying = False
                            batch.append(self._status("resumed", after=after, replayed=replayed))
                        else:
                            replayed += 1
                    if len(recent) == window:
                        recent_set.discard(recent[0])
                    recent.append(message_id)
                    recent_set.add(message_id)
                    self.last_id = self.cursor = message_id
                    self.last_created_at = created_at
                    self.delivered += 1
                    self.failures = 0
                    batch.append(message)
                elif kind == "heartbeat":
                    self.failures = 0
                    if probing:
                        # A server with nothing more to send goes quiet: the
                        # resume point is not coming.
                        probing = False
                        settled = self._settle(probe)
                        replayed += sum(isinstance(e, Message) for e in settled)
                        batch.extend(settled)
                    if replaying:
                        replaying = False
                        batch.append(self._status("resumed", after=after, replayed=replayed))
                # Any other event type is not ours to interpret: ignored.
            if batch:
                yield batch
        ending: list[StreamEvent] = []
        if probing:
            ending.extend(self._settle(probe))
            replayed += sum(isinstance(e, Message) for e in ending)
        if replaying and replayed:
            ending.append(self._status("resumed", after=after, replayed=replayed))
        if ending:
            yield ending

    def _settle(self, probe: _Probe) -> list[StreamEvent]:
        """A probe ended without a message after it: what it held, delivered or dropped."""
        held, dropped = probe.settle()
        out: list[StreamEvent] = [self._settled_status(dropped)] if dropped else []
        out.extend(self._accept(held))
        return out

    def _accept(self, messages: list[Message]) -> list[StreamEvent]:
        """Deliver `messages` (the slow path's bookkeeping), dropping ids already delivered."""
        out: list[StreamEvent] = []
        for message in messages:
            if message.id in self._recent_set:
                continue
            self._remember(message.id)
            self.last_id = self.cursor = message.id
            self.last_created_at = message.created_at
            self.delivered += 1
            self.failures = 0
            out.append(message)
        return out

    async def _fill(self) -> AsyncGenerator[list[StreamEvent], None]:
        """Fill the hole a stream that could not resume left, from the REST history.

        The stream is attached already (what it sends waits in the socket, and
        ids drop what the history also had). The history is paged newest
        first back to the last message delivered; what came after it is
        delivered oldest first. When the history fails too, the log says what
        may be missing and the fill is tried again after the engine's back-off,
        up to the retry budget; then the stream goes on without it.
        """
        start = self._fill_after
        assert start is not None
        since = printable(self.last_created_at or "the last message delivered", 40)
        for attempt in range(self.max_retries + 1):
            try:
                gap = await self._history_after(start)
            except (APIError, APIConnectionError, MalformedResponseError) as exc:
                last = attempt == self.max_retries
                delay = self._rng.random() * backoff_window(
                    attempt, base=self.base_delay, cap=self.max_delay
                )
                then = (
                    "going on without them"
                    if last
                    else f"trying the history again in {delay:.1f} s"
                )
                cause = (
                    f"{self._fill_cause}, and the history could not be read to fill the gap "
                    f"({exc}): messages since {since} may be missing; {then}"
                )
                if attempt == 0 or last:
                    # Said when the history first fails and when the fill is
                    # given up; the tries between are quiet (one marker each
                    # would bury the conversation while the history is down).
                    yield [self._status("gap_possible", cause=cause, after=start)]
                if last:
                    self._fill_after = None
                    return
                await asyncio.sleep(delay)
                continue
            self._fill_after = None
            if gap is None:
                cause = (
                    f"{self._fill_cause}, and the last message delivered is not in the newest "
                    f"{FILL_PAGES * 100} of the history: messages since {since} may be missing"
                )
                yield [self._status("gap_possible", cause=cause, after=start)]
                return
            delivered = self._accept(gap)
            delivered.append(self._status("resumed", after=start, filled=len(delivered)))
            yield delivered
            return

    async def _history_after(self, message_id: str) -> list[Message] | None:
        """The messages after `message_id`, oldest first; None if it is not in reach.

        Pages are newest first and shift while messages arrive (a message
        seen at the end of one page comes again at the start of the next):
        ids, not page boundaries, say what was seen.
        """
        newest_first: list[Message] = []
        seen: set[str] = set()
        for page_no in range(1, FILL_PAGES + 1):
            page = await self.client.list_messages(
                self.agent_id, self.conversation_id, page=page_no, limit=100, sort="-created_at"
            )
            for message in page.items:
                if message.id == message_id:
                    newest_first.reverse()
                    return newest_first
                if message.id not in seen:
                    seen.add(message.id)
                    newest_first.append(message)
            if not page.has_next_page or not page.items:
                return None
        return None
