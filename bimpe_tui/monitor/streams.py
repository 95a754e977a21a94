"""The pump: what a watched conversation receives. First the newest page of its
history, then one stream, its messages delivered to the timeline in batches, its
statuses turned into the timeline's markers.

Delivery moves the received cursor (written to the record first), counts unread
unless the reader sees the message arrive, asks for live messages' details, and
raises the highlight alerts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..api.errors import BimpeError
from ..api.models import Message
from ..api.stream import ResumableStream, StreamStatus
from ..book import Book, Entry, Marker, place_history
from ..details import DetailFetcher
from ..render import gap_words
from .alerting import Alerting
from .config import HISTORY_SIZE, MonitorConfig
from .connection import Link
from .cursors import Cursors
from .events import Appended, Emit, ListChanged, StatusChanged, TimelineReplaced
from .reading import Reading
from .tasks import Job, Tasks

#: Pages of history searched for the last received message after a restart.
HISTORY_PAGES = 4


def marker_for(entry: Entry, status: StreamStatus) -> Marker | None:
    """What a status leaves in the timeline (and the entry's counters it moves)."""
    if status.state == "live":
        entry.connections += 1
    elif status.state == "gap_possible":
        entry.gap_possible = True
        return Marker("gap", gap_words(status.cause or "", status.after))
    elif status.state == "frame_skipped":
        # Something the server sent could not be shown: say so where it was.
        return Marker("info", status.describe())
    elif status.state == "resumed":
        # The replay is over: what comes next arrived while the app was
        # running, so a "new since you left" still waiting for a message
        # (nothing was missed) must not land above it.
        entry.timeline.pending_marker = None
        if status.filled is not None:
            # A stream that could not resume, its hole filled from the
            # history: no gap left to warn of.
            entry.gap_possible = False
            if status.filled:
                return Marker("resumed", f"reconnected — {status.filled} filled from history ↑")
            return None
        if status.replayed and entry.connections > 1:
            # Said once the replay is over, so the divider follows what came back.
            return Marker("resumed", f"reconnected — {status.replayed} replayed ↑")
    return None


class Streams:
    """The streams of the watched conversations, and what their events do."""

    def __init__(
        self,
        book: Book,
        config: MonitorConfig,
        link: Link,
        cursors: Cursors,
        reading: Reading,
        alerting: Alerting,
        emit: Emit,
        tasks: Tasks,
        *,
        delivered: Callable[[Entry], None] = lambda entry: None,
    ) -> None:
        """`delivered(entry)` is called after history or new messages reached a timeline."""
        self._book = book
        self._config = config
        self._link = link
        self._cursors = cursors
        self._reading = reading
        self._alerting = alerting
        self._emit = emit
        self._tasks = tasks
        self._delivered = delivered
        self._streams: dict[str, ResumableStream] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        spawn: Callable[[Job], None] = tasks.spawn
        #: Live messages that may carry attachments are fetched once more (see details).
        self.details = DetailFetcher(self._fetch_message, spawn, self._detailed)

    async def history_then_stream(self, entry: Entry) -> None:
        """First open: the latest page of history, then stream after its newest message."""
        cursor = self._cursors.saved.cursors.get(entry.id)
        received = cursor.received if cursor else None
        received_at = cursor.received_at if cursor else None
        if not entry.history_loaded:
            try:
                history = await self._history_until(entry, received)
            except BimpeError as exc:
                entry.timeline.mark(Marker("info", f"history unavailable: {exc}"))
                history = []
            if received is None and len(history) > HISTORY_SIZE:
                # A first open: saved now, before its page is shown, the cursor
                # says the page and all after it are still to come. Killed
                # before the debounced save, a run used to leave no cursor, and
                # the restart opened the conversation afresh on the newest page:
                # whatever arrived between the two pages was never delivered.
                # The message just before the page is history, never claimed.
                # Saved before the page is placed: nothing else sees a timeline
                # with its history in but not yet announced.
                self._cursors.received(entry, history[HISTORY_SIZE])
                await self._cursors.state.flush()
            entry.unread += place_history(
                entry.timeline,
                history,
                received=received,
                received_at=received_at,
                seen=cursor.seen if cursor else None,
                keep=HISTORY_SIZE,
            )
            entry.history_loaded = True
            self._cursors.write_record(
                entry.id, [i for i in entry.timeline.items if isinstance(i, Message)]
            )
            last = entry.timeline.last_message
            if received is None and last is not None:
                received, received_at = last.id, last.created_at
                self._cursors.received(entry, last)
            self._emit(TimelineReplaced(entry.id))
            self._reading.seen_if_open(entry.id)
            self._emit(ListChanged())
            self._delivered(entry)
        if entry.watched:
            self.start(entry, received, received_at)

    async def _history_until(self, entry: Entry, received: str | None) -> list[Message]:
        """The newest history, newest first, reaching back to `received` when there is one.

        After a long absence the newest page is all news; going back a few
        pages finds the last message received, so the "new since you left"
        divider has the conversation's context above it.
        """
        client = self._link.client
        assert client is not None
        history: list[Message] = []
        # A first open takes one page, one message longer than it shows: the
        # message before what it shows is its first saved cursor.
        limit = HISTORY_SIZE if received is not None else HISTORY_SIZE + 1
        for page_no in range(1, HISTORY_PAGES + 1):
            page = await client.list_messages(entry.agent.id, entry.id, page=page_no, limit=limit)
            history.extend(page.items)
            found = received is not None and any(m.id == received for m in page.items)
            if received is None or found or not page.has_next_page or not page.items:
                break
        return history

    def streaming(self, conversation_id: str) -> bool:
        """Whether the conversation has a stream (connecting, live or retrying)."""
        return conversation_id in self._streams

    def last_activity(self, conversation_id: str) -> float | None:
        """time.monotonic() of the stream's last byte, if it is streaming."""
        stream = self._streams.get(conversation_id)
        return stream.last_activity if stream is not None else None

    def start(self, entry: Entry, after: str | None, after_created_at: str | None) -> None:
        """(Re)start the conversation's stream after the message `after`."""
        client = self._link.client
        assert client is not None
        self.stop(entry.id)
        stream = ResumableStream(
            client,
            entry.agent.id,
            entry.id,
            after=after,
            after_created_at=after_created_at,
            **self._config.stream_options,
        )
        self._streams[entry.id] = stream
        self._pumps[entry.id] = self._tasks.start(self._pump(entry.id, stream))

    def stop(self, conversation_id: str) -> None:
        """Stop the conversation's stream; what it still yields is dropped."""
        task = self._pumps.pop(conversation_id, None)
        self._streams.pop(conversation_id, None)
        if task is not None:
            task.cancel()

    def stop_all(self) -> list[asyncio.Task[None]]:
        """Stop every stream; their pumps' tasks (cancelled) to wait for."""
        pumps = list(self._pumps.values())
        for conversation_id in list(self._pumps):
            self.stop(conversation_id)
        return pumps

    async def _fetch_message(self, agent_id: str, conversation_id: str, message_id: str) -> Message:
        client = self._link.client
        if client is None:
            raise BimpeError("not connected")
        return await client.get_message(agent_id, conversation_id, message_id)

    def _detailed(self, conversation_id: str, message: Message) -> None:
        """A live message's details came: it looks as history would show it."""
        entry = self._book.get(conversation_id)
        if entry is None or not entry.timeline.replace_message(message):
            return
        if not entry.timeline.detached:
            self._emit(TimelineReplaced(conversation_id, keep_place=True))

    async def _pump(self, conversation_id: str, stream: ResumableStream) -> None:
        """Apply one stream's events; messages go up in batches.

        Everything the stream yields before it next waits for the network is
        delivered as one batch, so a burst of thousands costs the shell a
        handful of updates, not thousands.
        """
        loop = asyncio.get_running_loop()
        batch: list[Message] = []

        def flush() -> None:
            if batch:
                messages = batch.copy()
                batch.clear()
                self._deliver(conversation_id, stream, messages)

        async with stream:
            async for event in stream:
                if isinstance(event, Message):
                    batch.append(event)
                    if len(batch) == 1:
                        # Runs once the stream waits for the network: every
                        # message parsed from the bytes at hand goes up together.
                        loop.call_soon(flush)
                    continue
                flush()  # keep order: messages before the status that follows them
                self._apply_status(conversation_id, stream, event)
        flush()

    def _deliver(
        self, conversation_id: str, stream: ResumableStream, messages: list[Message]
    ) -> None:
        if self._streams.get(conversation_id) is not stream:
            return  # a stream that was stopped or replaced: its leftovers are moot
        # Counted as they leave the stream, before the timeline drops repeats.
        if self._config.tap is not None:
            self._config.tap(conversation_id, messages)
        self._cursors.write_record(conversation_id, messages)
        entry = self._book.get(conversation_id)
        if entry is None or not entry.watched:
            return
        reading = self._reading
        before = entry.timeline.last_message
        added = entry.timeline.add(messages)
        entry.forget_start()
        last = entry.timeline.last_message
        if last is not None and last is not before:
            # Also when nothing was added: the stream's copy of a sent message
            # (shown from the POST's answer) is where delivery now stands.
            self._cursors.received(entry, last)
        if not added:
            if last is not before and reading.is_open(entry.id):
                reading.seen_now()  # your own message is read where you are
            return
        self.details.want(
            entry.agent.id, conversation_id, (m for m in added if isinstance(m, Message))
        )
        # Spans first: the log draws what was appended with its highlights.
        self._alerting.highlight(entry, added)
        fresh = sum(1 for item in added if isinstance(item, Message))
        if entry.timeline.take_replaced():
            # Put before a sent message still waiting for the stream: not at the
            # end, so the log draws it all again. Never also appended: drawn twice.
            self._emit(TimelineReplaced(conversation_id, keep_place=True, arrived=fresh))
        elif not entry.timeline.detached:
            # A window moved back into history shows none of them (see Timeline.add).
            self._emit(Appended(conversation_id, added))
        if not reading.is_open(entry.id) or not reading.seen_now():
            entry.unread += fresh
            if fresh:
                entry.visited = False  # news: back on the hotlist
        self._emit(ListChanged())
        # A wait starts or ends with a message: known at once, not at the next check.
        self._delivered(entry)

    def _apply_status(
        self, conversation_id: str, stream: ResumableStream, status: StreamStatus
    ) -> None:
        if self._streams.get(conversation_id) is not stream:
            return
        entry = self._book.get(conversation_id)
        if entry is None or not entry.watched:
            return
        entry.status = status
        marker = marker_for(entry, status)
        if marker is not None:
            entry.timeline.mark(marker)
            self._emit(Appended(conversation_id, [marker]))
        self._emit(StatusChanged(conversation_id, status))
        self._emit(ListChanged())
