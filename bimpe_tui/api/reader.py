"""One connection's frames read into batches of events: the engine's hot loop.

`FrameReader.read` turns the bytes of one stream GET into lists of `Message`
and `StreamStatus`, a list per chunk read: it parses, decodes, drops ids the
`ResumeLedger` has seen, counts a replay and runs its `ReplayProbe`, and
watches that complete events keep coming. It returns when the server ends
the connection and raises what the transport raises; what happens next is
the `ResumableStream`'s business.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable

from .models import Message, ModelError
from .outcomes import NoEventTimeout
from .reconnect import ReconnectPolicy
from .replay import (
    ReplayProbe,
    canonical_time,
    created_before,
    replay_horizon,
    settled_cause,
    stale_cause,
)
from .resume import ResumeLedger
from .sse import SSEParser
from .status import Report, StreamEvent
from .transport import EventStreamResponse

__all__ = ["FrameReader"]


class FrameReader:
    """Reads a stream's connections, one after the other, into batches of events.

    One per stream: it holds what outlives a connection (the time of the last
    byte), and the ledger and policy it updates as messages are delivered.
    """

    __slots__ = ("decode", "last_activity", "ledger", "policy", "status")

    def __init__(
        self,
        ledger: ResumeLedger,
        policy: ReconnectPolicy,
        decode: Callable[[bytes], Message],
        status: Report,
    ) -> None:
        self.ledger = ledger
        self.policy = policy
        self.status = status
        #: How a frame's data becomes a Message (`models.decode_message_head`
        #: for a consumer that only passes the payload through).
        self.decode = decode
        #: time.monotonic() of the last byte received; None before the first.
        self.last_activity: float | None = None

    async def read(
        self, response: EventStreamResponse, after: str | None
    ) -> AsyncGenerator[list[StreamEvent], None]:
        """Deliver one connection's messages, a batch per chunk; returns when the server ends it.

        With a resume point, the messages that come first are a replay of
        what was missed: they are counted, and `resumed` says how many once
        the replay is over. The count uses the server's word alone (see
        `replay_horizon`): the replay ends with the first message the server
        created after it answered, or with the first heartbeat (a server
        with nothing more to replay goes quiet), or with the connection.
        Ids decide what is new; a `ReplayProbe` watches the start of the
        connection for a server that ignored `after`.

        This is the engine's hot loop (once per message of a replay): the
        bookkeeping is inlined and every batch is built in one list.
        """
        ledger = self.ledger
        policy = self.policy
        status = self.status
        replaying = after is not None
        replayed = 0
        horizon = replay_horizon(response.headers.get("date")) if replaying else None
        horizon_text = canonical_time(horizon) if horizon is not None else None
        cursor_id = ledger.last_id if replaying else None
        probe = ReplayProbe(cursor_id or "", ledger.last_created_at, horizon_text)
        # Kept in step with probe.active: one local test per message.
        probing = probe.active = cursor_id is not None
        # Whether the resume point is a message this stream delivered itself.
        shown = ledger.delivered > 0
        parser = SSEParser()
        decode = self.decode
        recent = ledger.recent
        recent_set = ledger.recent_set
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
            elif now - last_event >= policy.read_timeout:
                raise NoEventTimeout(f"no complete event for {policy.read_timeout:g} s")
            batch: list[StreamEvent] = []
            for event in events:
                kind = event.event
                if kind == "message":
                    if event.oversized:
                        batch.append(
                            status(
                                "frame_skipped",
                                cause=f"a message frame over the size limit (id {event.id})",
                            )
                        )
                        continue
                    try:
                        message = decode(event.raw)
                    except (ValueError, ModelError, RecursionError) as exc:
                        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors;
                        # absurdly deep nesting is a RecursionError.
                        batch.append(
                            status("frame_skipped", cause=f"malformed message frame: {exc}")
                        )
                        continue
                    message_id = message.id
                    if message_id in recent_set:
                        if probing:
                            dropped = probe.known(message_id)
                            probing = probe.active
                            if dropped:
                                batch.append(
                                    status("frame_skipped", cause=stale_cause(dropped, shown))
                                )
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
                            batch.append(status("resumed", after=after, replayed=replayed))
                        else:
                            replayed += 1
                    if len(recent) == window:
                        recent_set.discard(recent[0])
                    recent.append(message_id)
                    recent_set.add(message_id)
                    ledger.last_id = ledger.cursor = message_id
                    ledger.last_created_at = created_at
                    ledger.delivered += 1
                    policy.failures = 0
                    batch.append(message)
                elif kind == "heartbeat":
                    policy.failures = 0
                    if probing:
                        # A server with nothing more to send goes quiet: the
                        # resume point is not coming.
                        probing = False
                        settled = self._settle(probe)
                        replayed += sum(isinstance(e, Message) for e in settled)
                        batch.extend(settled)
                    if replaying:
                        replaying = False
                        batch.append(status("resumed", after=after, replayed=replayed))
                # Any other event type is not ours to interpret: ignored.
            if batch:
                yield batch
        ending: list[StreamEvent] = []
        if probing:
            ending.extend(self._settle(probe))
            replayed += sum(isinstance(e, Message) for e in ending)
        if replaying and replayed:
            ending.append(status("resumed", after=after, replayed=replayed))
        if ending:
            yield ending

    def _settle(self, probe: ReplayProbe) -> list[StreamEvent]:
        """A probe ended without a message after it: what it held, delivered or dropped."""
        held, dropped = probe.settle()
        out: list[StreamEvent] = (
            [self.status("gap_possible", cause=settled_cause(dropped))] if dropped else []
        )
        delivered = self.ledger.accept(held)
        if delivered:
            self.policy.failures = 0
        out.extend(delivered)
        return out
