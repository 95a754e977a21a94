"""The resumable stream: ticket, SSE GET, reconnect, resume after the last id.

`ResumableStream` is an async iterator of `Message` (a delivered message) and
`StreamStatus` (what the connection is doing). It knows nothing of Textual:
the TUI, `bimpe-tui tail` and the tests all drive it the same way.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import httpx

from ..redact import redact
from .client import ConsoleClient, describe_transport_error
from .errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    GoneError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    printable,
)
from .models import Message, ModelError
from .retry import BASE_DELAY, MAX_DELAY, full_jitter_backoff, honour_retry_after, is_retryable
from .sse import SSEParser

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


class _GiveUp(Exception):
    """Raised inside the loop for failures no retry can fix."""


def is_timestamp(value: str) -> bool:
    """Whether an `after` value is an ISO-8601 timestamp rather than a message id."""
    return parse_timestamp(value) is not None


def parse_timestamp(value: str) -> datetime | None:
    """Parse an ISO-8601 timestamp (a trailing `Z` allowed); None if it is not one."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


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
    ) -> None:
        self.client = client
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
        self._events = self._run()
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
        self._consumer = asyncio.current_task()
        try:
            return await self._events.__anext__()
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

    def _remember(self, message_id: str) -> None:
        recent = self._recent
        if len(recent) == recent.maxlen:
            self._recent_set.discard(recent[0])
        recent.append(message_id)
        self._recent_set.add(message_id)

    def _redact(self, text: str, ticket: str | None) -> str:
        return redact(text, self.client.api_key, ticket)

    async def _fall_back(self, rejected: str) -> StreamStatus:
        """The server no longer knows the point we resume after: use a time instead."""
        when: str | None = None
        if not is_timestamp(rejected):
            when = self.last_created_at if self.last_id == rejected else None
            if when is None or parse_timestamp(when) is None:
                when = await self._find_time(rejected)
        if when is not None and when != rejected and parse_timestamp(when) is not None:
            self.cursor = when
            cause = (
                f"the server could not resume after message {rejected}; "
                f"resuming from its time {when}"
            )
        else:
            self.cursor = None
            cause = f"the server could not resume after {rejected}; continuing live"
        return self._status("gap_possible", cause=cause, after=rejected)

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

    async def _run(self) -> AsyncGenerator[StreamEvent, None]:
        client = self.client
        while True:
            yield self._status("connecting", attempt=self.failures)
            ticket: str | None = None
            retry_after: float | None = None
            cause: str
            try:
                try:
                    ticket = (
                        await client.create_stream_ticket(
                            self.agent_id, self.conversation_id, max_retries=0
                        )
                    ).ticket
                except (AuthenticationError, PermissionDeniedError) as exc:
                    raise _GiveUp(self._redact(f"the API key was refused ({exc})", None)) from None
                except NotFoundError:
                    raise _GiveUp("conversation not found") from None
                after = self.cursor
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
                    async for event in events:
                        yield event
                cause = "the server closed the stream"
                if not self.reconnect:
                    yield self._status("closed", cause=cause)
                    return
            except _GiveUp as stop:
                yield self._status("gave_up", cause=str(stop))
                return
            except httpx.ReadTimeout:
                cause = f"no data for {self.read_timeout:g} s"
                yield self._status("stalled", cause=cause)
            except httpx.HTTPError as exc:
                cause = describe_transport_error(exc)
            except RateLimitError as exc:
                cause = "rate limited (429)"
                retry_after = honour_retry_after(exc.retry_after)
            except (AuthenticationError, PermissionDeniedError) as exc:
                # The ticket call just succeeded, so the key is fine: the
                # ticket was used or expired. A new one fixes that.
                cause = f"stream ticket refused ({exc.status})"
            except (BadRequestError, NotFoundError, GoneError) as exc:
                rejected = self.cursor
                if rejected is not None and (
                    isinstance(exc, GoneError) or "after" in exc.message.lower()
                ):
                    yield await self._fall_back(rejected)
                    continue
                if isinstance(exc, NotFoundError):
                    yield self._status("gave_up", cause="conversation not found")
                    return
                yield self._status("gave_up", cause=self._redact(str(exc), ticket))
                return
            except (APIError, APIConnectionError, MalformedResponseError) as exc:
                if not is_retryable(exc) or isinstance(exc, MalformedResponseError):
                    yield self._status("gave_up", cause=self._redact(str(exc), ticket))
                    return
                cause = self._redact(str(exc), ticket)
            self.failures += 1
            if not self.reconnect:
                yield self._status("gave_up", cause=cause)
                return
            if self.failures > self.max_retries:
                yield self._status("gave_up", cause=f"{cause} (after {self.max_retries} retries)")
                return
            delay = retry_after
            if delay is None:
                delay = full_jitter_backoff(
                    self.failures - 1, self._rng, base=self.base_delay, cap=self.max_delay
                )
            yield self._status("reconnecting", attempt=self.failures, delay=delay, cause=cause)
            await asyncio.sleep(delay)

    async def _read(
        self, response: httpx.Response, after: str | None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Deliver one connection's messages; returns when the server ends it."""
        self.connections += 1
        yield self._status("live")
        # While replaying what was missed, count it, so the resume can say
        # how many came back; the replay ends with the first heartbeat or the
        # first message created after we connected.
        replaying = after is not None
        replayed = 0
        connected_at = datetime.now(UTC)
        parser = SSEParser()
        recent = self._recent_set
        async for chunk in response.aiter_bytes():
            self.last_activity = time.monotonic()
            for event in parser.feed(chunk):
                kind = event.event
                if kind == "message":
                    if event.oversized:
                        yield self._status(
                            "frame_skipped",
                            cause=f"a message frame over the size limit (id {event.id})",
                        )
                        continue
                    try:
                        message = Message.from_api(json.loads(event.data))
                    except (ValueError, ModelError, RecursionError) as exc:
                        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors;
                        # absurdly deep nesting is a RecursionError.
                        yield self._status("frame_skipped", cause=f"malformed message frame: {exc}")
                        continue
                    if message.id in recent:
                        continue
                    if replaying:
                        created = parse_timestamp(message.created_at)
                        if created is not None and created > connected_at:
                            replaying = False
                            yield self._status("resumed", after=after, replayed=replayed)
                        else:
                            replayed += 1
                    self._remember(message.id)
                    self.last_id = message.id
                    self.last_created_at = message.created_at
                    self.cursor = message.id
                    self.delivered += 1
                    self.failures = 0
                    yield message
                elif kind == "heartbeat":
                    self.failures = 0
                    if replaying:
                        replaying = False
                        yield self._status("resumed", after=after, replayed=replayed)
                # Any other event type is not ours to interpret: ignored.
        if replaying and replayed:
            yield self._status("resumed", after=after, replayed=replayed)
