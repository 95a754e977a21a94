"""The demo API's event streams: single-use tickets, the SSE pump and its frame cache."""

from __future__ import annotations

import array
import asyncio
import bisect
import collections
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bimpe_tui.demo.clock import parse_iso_ms
from bimpe_tui.demo.context import ServerContext, StreamRequestRecord
from bimpe_tui.demo.envelope import ApiError, authorize, dumps, ok, request_id
from bimpe_tui.demo.rest import find_conversation, rate_limited

__all__ = ["StreamHub", "StreamRequestRecord"]

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
_FLUSH_POLL = 0.005
_FLUSH_POLLS = 100
_TICKET_INVALID = "stream ticket is invalid, used or expired"


@dataclass(slots=True)
class _Ticket:
    agent_id: str
    conversation_id: str
    expires_at: float


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
    # The next message users sent (see actions.py) this stream has not written yet.
    next_sent: int = 0
    written: int = 0
    last_frame: float = 0.0
    chaos_at: float | None = None
    pending_cut: bool = False


class StreamHub:
    """The stream-ticket and stream endpoints of the demo server, and their state.

    Owns the outstanding tickets, the open streams and (with ``replay_cache_bytes``) the
    frame cache; reads the world, the fault plan and the lifecycle from the server.
    """

    def __init__(self, server: ServerContext, replay_cache_bytes: int) -> None:
        self._server = server
        self.tickets: dict[str, _Ticket] = {}
        self.streams: dict[asyncio.Task[Any], web.BaseRequest] = {}
        self.frame_cache = (
            _FrameCache(self._encode_frames, replay_cache_bytes) if replay_cache_bytes else None
        )

    def expire_tickets(self) -> None:
        """Make every outstanding ticket expired."""
        for ticket in self.tickets.values():
            ticket.expires_at = -math.inf

    async def close_streams(self, grace: float) -> None:
        """Abort every open stream's connection and wait (bounded) for its handler to end."""
        for task, request in list(self.streams.items()):
            transport = request.transport
            if transport is not None:
                transport.abort()
            task.cancel()
        if self.streams:
            await asyncio.wait(list(self.streams), timeout=grace)
        self.tickets.clear()

    # --- tickets ---------------------------------------------------------------------

    async def stream_ticket(self, request: web.Request) -> web.Response:
        """``POST .../stream-ticket``: a single-use ticket for one stream GET."""
        server = self._server
        authorize(request, server.api_key)
        agent_id, conversation_id = find_conversation(server.world, request)
        fault = server.faults.take_ticket_fault()
        if fault == "ticket_429":
            raise rate_limited("too many stream ticket requests, retry later")
        if fault == "ticket_503":
            raise ApiError(503, "internal_error", "stream service temporarily unavailable")
        now = time.monotonic()
        # Forget dead tickets so a long-running server doesn't accumulate them.
        for key in [k for k, t in self.tickets.items() if t.expires_at <= now]:
            del self.tickets[key]
        ticket = f"tk_{secrets.token_urlsafe(24)}"
        self.tickets[ticket] = _Ticket(agent_id, conversation_id, now + server.ticket_ttl)
        server.stats["tickets"] += 1
        expires_in = max(1, round(server.ticket_ttl))
        return ok({"ticket": ticket, "expires_in": expires_in}, status=201)

    def _consume_ticket(self, value: str | None, agent_id: str, conversation_id: str) -> bool:
        ticket = self.tickets.pop(value, None) if value else None
        return (
            ticket is not None
            and ticket.expires_at > time.monotonic()
            and ticket.agent_id == agent_id
            and ticket.conversation_id == conversation_id
        )

    # --- stream ----------------------------------------------------------------------

    def _start_index(self, conversation_id: str, after: str | None) -> tuple[int, int]:
        """``(next world index, next sent message)`` where the stream begins."""
        world = self._server.world
        actions = self._server.actions
        if after is None:
            return world.latest_index(conversation_id) + 1, actions.sent_count(conversation_id)
        after_ms = parse_iso_ms(after)
        if after_ms is not None:
            start = world.latest_index_ms(conversation_id, after_ms) + 1
            return start, actions.first_sent_after_ms(conversation_id, after_ms)
        resumed = actions.resume_point(conversation_id, after)
        if resumed is not None:
            return resumed
        parsed = world.parse_message_id(after)
        if (
            parsed is None
            or parsed[0] != conversation_id
            or parsed[1] > world.latest_index(conversation_id)
        ):
            raise ApiError(410, "not_found", f"after: unknown message id {after!r}")
        start = parsed[1] + 1
        # A message sent right after world message n (anchor n) comes before n + 1.
        return start, actions.first_sent_at_or_after(conversation_id, parsed[1])

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """``GET .../stream?ticket=T[&after=X]``: the event stream of one conversation."""
        server = self._server
        query = {key: request.query[key] for key in request.query}
        server.stream_requests.append(
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
            raise ApiError(401, "unauthorized", _TICKET_INVALID)
        after = query.get("after")
        after_is_id = after is not None and parse_iso_ms(after) is None
        fault = server.faults.take_stream_request_fault(
            after_is_id=after_is_id, has_after=after is not None
        )
        if fault == "stream_401":
            raise ApiError(401, "unauthorized", _TICKET_INVALID)
        if fault == "after_410":
            raise ApiError(410, "not_found", f"after: unknown message id {after!r}")
        if fault == "after_refused":
            # By id and by time alike: this server streams new messages only.
            raise ApiError(400, "bad_request", "after: this stream cannot resume; omit after")
        next_index, next_sent = self._start_index(conversation_id, after)

        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Request-Id": request_id.get(),
            },
        )
        task = asyncio.current_task()
        assert task is not None
        self.streams[task] = request
        server.stats["streams"] += 1
        server.notify_change()
        try:
            await response.prepare(request)
            await self._pump(
                request, response, _StreamState(conversation_id, next_index, next_sent)
            )
        except ConnectionError:
            # The client went away mid-write: nothing to report.
            server.stats["disconnects"] += 1
        finally:
            self.streams.pop(task, None)
            server.notify_change()
        return response

    async def _pump(
        self, request: web.Request, response: web.StreamResponse, state: _StreamState
    ) -> None:
        """Write due messages and heartbeats until a fault, the client or stop() ends it."""
        loop = asyncio.get_running_loop()
        server = self._server
        world = server.world
        plan = server.faults
        # A newcomer's life ends: past its last message only heartbeats are due.
        final = world.final_index(state.conversation_id)
        state.last_frame = loop.time()
        delay = plan.next_chaos_delay()
        state.chaos_at = None if delay is None else loop.time() + delay
        while not server.stopping:
            if not state.pending_cut:
                kind = plan.take_queued_stream_fault(state.written)
                if kind is None and state.chaos_at is not None and loop.time() >= state.chaos_at:
                    kind = plan.take_chaos_stream_fault()
                    delay = plan.next_chaos_delay()
                    state.chaos_at = None if delay is None else loop.time() + delay
                if kind is not None:
                    server.notify_change()
                if kind == "cut":
                    # A cut needs a frame to cut: it strikes the next message due.
                    state.pending_cut = True
                elif kind is not None:
                    await self._end_stream(kind, request, response)
                    return
            if await self._write_sent(response, state):
                continue
            latest = world.latest_index(state.conversation_id)
            next_anchor = server.actions.next_anchor(state.conversation_id, state.next_sent)
            if next_anchor is not None:
                # World messages up to the next sent one's anchor, then that one.
                latest = min(latest, next_anchor)
            if state.next_index <= latest:
                if state.pending_cut:
                    frame = self._encode(
                        state.conversation_id, state.next_index, state.next_index + 1
                    )[0]
                    if not frame:
                        # Hidden (the AI was paused): nothing to cut on this one.
                        state.next_index += 1
                        continue
                    cut_at = frame.index(b"data: ") + (len(frame) - frame.index(b"data: ")) // 2
                    await response.write(frame[:cut_at])
                    await self._abort(request)
                    return
                stop = latest + 1
                threshold = plan.queued_stream_threshold()
                if threshold is not None and threshold > state.written:
                    # Stop the batch exactly where a queued fault is due.
                    stop = min(stop, state.next_index + threshold - state.written)
                cache = self.frame_cache
                # A conversation users acted on is not a pure function of the world.
                if (
                    cache is not None
                    and not server.actions.touched(state.conversation_id)
                    and (
                        stop - state.next_index >= _REPLAY_MIN_BACKLOG
                        or cache.has(state.conversation_id, state.next_index)
                    )
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
                server.stats["frames"] += count
                server.notify_change()
                # Let other connections run during a long replay.
                await asyncio.sleep(0)
                continue
            now = loop.time()
            heartbeat_at = state.last_frame + server.heartbeat_interval
            if now >= heartbeat_at:
                payload = dumps({"ts": int(world.clock())})
                await response.write(f"event: heartbeat\ndata: {payload}\n\n".encode())
                state.last_frame = now
                server.stats["heartbeats"] += 1
                server.notify_change()
                continue
            if next_anchor is not None and next_anchor < state.next_index and not server.stream_lag:
                until_message = 0.0
            elif final is not None and state.next_index > final:
                until_message = math.inf
            else:
                until_message = (
                    world.time_of(state.conversation_id, state.next_index) - world.clock()
                )
            # A lagging stream holds a sent message until the next world message: that
            # one's time is when to wake, not now (which would spin). The small margin
            # avoids waking a hair before the message is due and spinning.
            wait = min(heartbeat_at - now, max(0.0, until_message) + 0.001, _MAX_IDLE_WAIT)
            if state.chaos_at is not None:
                wait = min(wait, max(0.0, state.chaos_at - now))
            await server.idle(wait)

    async def _write_sent(self, response: web.StreamResponse, state: _StreamState) -> bool:
        """Write the messages users sent that are due on this stream; True if any."""
        server = self._server
        due = server.actions.sent_due(state.conversation_id, state.next_sent, state.next_index)
        if due and server.stream_lag:
            latest = server.world.latest_index(state.conversation_id)
            due = [sent for sent in due if sent.anchor < latest]
        if not due:
            return False
        frames = "".join(
            f"id: {sent.message.id}\nevent: message\ndata: {dumps(sent.message.to_stream())}\n\n"
            for sent in due
        )
        await response.write(frames.encode())
        state.next_sent += len(due)
        state.written += len(due)
        state.last_frame = asyncio.get_running_loop().time()
        server.stats["frames"] += len(due)
        server.notify_change()
        return True

    def _encode(self, conversation_id: str, start: int, stop: int) -> tuple[bytes, int]:
        """SSE message frames for ``start <= index < stop``, up to about 64 KiB.

        Returns the bytes and how many indices they cover (a reply hidden because a
        user paused the AI is covered without a frame).
        """
        parts: list[str] = []
        size = 0
        actions = self._server.actions
        touched = actions.touched(conversation_id)
        count = 0
        for message_id, payload in self._server.world.stream_payloads(conversation_id, start, stop):
            count += 1
            if touched and actions.hidden(conversation_id, start + count - 1):
                continue
            frame = f"id: {message_id}\nevent: message\ndata: {payload}\n\n"
            parts.append(frame)
            size += len(frame)
            if size >= _BATCH_BYTES:
                break
        return "".join(parts).encode(), count

    def _encode_frames(self, conversation_id: str, start: int, stop: int) -> list[bytes]:
        """Each SSE message frame for ``start <= index < stop``, encoded on its own."""
        return [
            f"id: {message_id}\nevent: message\ndata: {payload}\n\n".encode()
            for message_id, payload in self._server.world.stream_payloads(
                conversation_id, start, stop
            )
        ]

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
            await self._server.wait_stopped()

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
