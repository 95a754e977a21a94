"""One conversation's timeline: its messages and markers in order, bounded, each once.

The `Timeline` is the window of a conversation the log draws: history placed
under the stream's replay (`place_history`), arrivals added without repeats,
the reply being sent ("sending…") until the server's answer takes its place,
and dividers ("new since you left", "reconnected", "gap possible"). No Textual.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .api.models import Message
from .api.stream import parse_timestamp

__all__ = [
    "MAX_TIMELINE",
    "Marker",
    "MarkerKind",
    "Pending",
    "Timeline",
    "TimelineItem",
    "place_history",
]

#: Items kept per conversation (the window); older ones can be fetched from history.
#: Scrolling back past it moves the window back: its newest end is let go of (see
#: `Timeline.prepend`) and fetched again when the reader returns to the end.
MAX_TIMELINE = 5_000

MarkerKind = Literal["new_since", "resumed", "gap", "info"]


@dataclass(frozen=True, slots=True)
class Marker:
    """A divider in a timeline: "new since you left", "reconnected", "gap possible"."""

    kind: MarkerKind
    label: str


@dataclass(slots=True, eq=False)
class Pending:
    """A message the user is sending: "sending…" until the server answers the POST.

    `key` is its Idempotency-Key (one per message, reused by every retry). The
    server's answer (the created message) takes the item's place at once; the
    stream's copy of that id is then a repeat, dropped like any other.
    """

    key: str
    text: str


TimelineItem = Message | Marker | Pending


class Timeline:
    """One conversation's messages and markers in order, bounded, without duplicates."""

    def __init__(self, limit: int = MAX_TIMELINE) -> None:
        self.items: deque[TimelineItem] = deque()
        self.limit = limit
        self._ids: set[str] = set()
        self.last_message: Message | None = None
        #: Set while a "new since you left" marker waits for its first message.
        self.pending_marker: Marker | None = None
        #: Sent messages placed from the POST's answer that the stream has not
        #: delivered yet, oldest first. Whatever the stream delivers before them is
        #: older on the server, so it goes in before them (see `add`).
        self._unconfirmed: dict[str, Message] = {}
        #: Ids of the messages the user sent this run (shown as "you").
        self.mine: set[str] = set()
        self._replaced = False
        #: The window was moved back into history: it no longer holds the newest
        #: messages (they are counted, not kept, until the newest page is fetched again).
        self.detached = False
        #: What arrived while detached, in order (bounded as the window is): the
        #: refill's page may have been listed before the last of them arrived.
        self._missed: deque[Message] = deque(maxlen=limit)
        #: The id of the last message delivered before the first of `_missed` arrived
        #: (None: not known): a page listed before they arrived holds it.
        self._missed_after: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def _push(self, item: TimelineItem) -> None:
        if len(self.items) >= self.limit:
            dropped = self.items.popleft()
            if isinstance(dropped, Message):
                self._ids.discard(dropped.id)
                self._unconfirmed.pop(dropped.id, None)
        self.items.append(item)

    def add(self, messages: Iterable[Message]) -> list[TimelineItem]:
        """Append messages not seen before; returns what was appended (markers included).

        While `detached`, new messages are not kept (the window holds older ones):
        they are returned, and become the `last_message`, but not appended.
        """
        added: list[TimelineItem] = []
        if self.detached:
            for message in messages:
                if message.id not in self._ids:
                    added.append(message)
                    if not self._missed:
                        last = self.last_message
                        self._missed_after = last.id if last is not None else None
                    self._missed.append(message)
                    self.last_message = message
            return added
        for message in messages:
            if message.id in self._ids:
                if self._unconfirmed.pop(message.id, None) is not None:
                    # The stream's copy of a message placed from the POST's answer:
                    # not shown again, but now it is where delivery stands.
                    self.last_message = message
                continue
            if self.pending_marker is not None:
                self._place(self.pending_marker)
                added.append(self.pending_marker)
                self.pending_marker = None
            self._ids.add(message.id)
            self._place(message)
            added.append(message)
            self.last_message = message
        return added

    def _place(self, item: Message | Marker) -> None:
        """Append, or, while sent messages wait for the stream, put before them."""
        if not self._unconfirmed:
            self._push(item)
            return
        first = next(iter(self._unconfirmed.values()))
        if isinstance(item, Message):
            mine, theirs = parse_timestamp(first.created_at), parse_timestamp(item.created_at)
            if mine is not None and theirs is not None and theirs > mine:
                # Newer than what was sent (the stream delivers out of time order):
                # the server lists it after.
                self._push(item)
                return
        for i in range(len(self.items) - 1, -1, -1):
            if self.items[i] is first:
                self.items.insert(i, item)
                self._replaced = True  # not at the end: the log draws it all again
                if len(self.items) > self.limit:
                    dropped = self.items.popleft()
                    if isinstance(dropped, Message):
                        self._ids.discard(dropped.id)
                        self._unconfirmed.pop(dropped.id, None)
                return
        # The sent message left the window (paged away): nothing to keep order with.
        self._unconfirmed.clear()
        self._push(item)

    def oldest_message(self) -> Message | None:
        """The oldest message held (where paging back into history starts)."""
        for item in self.items:
            if isinstance(item, Message):
                return item
        return None

    def newest_message(self) -> Message | None:
        """The newest message held (the last one, unless only markers follow it)."""
        for item in reversed(self.items):
            if isinstance(item, Message):
                return item
        return None

    def messages(self) -> list[Message]:
        """The messages held, oldest first (markers and sends left out)."""
        return [item for item in self.items if isinstance(item, Message)]

    def prepend(self, older: Iterable[Message]) -> list[Message]:
        """Put older messages (oldest first) before everything held; returns those put.

        Ids already held are skipped, so a page that overlaps what is held adds
        nothing twice. The window stays at `limit` items: when it would grow
        past it, the newest items are let go of and the timeline is `detached`
        (see `add`); `refill` brings the newest back.
        """
        fresh: list[Message] = []
        seen: set[str] = set()
        for message in older:
            if message.id in self._ids or message.id in seen:
                continue
            seen.add(message.id)
            fresh.append(message)
        if not fresh:
            return fresh
        self.items.extendleft(reversed(fresh))
        self._ids.update(seen)
        while len(self.items) > self.limit:
            dropped = self.items.pop()
            self.detached = True
            if isinstance(dropped, Message):
                self._ids.discard(dropped.id)
                self._unconfirmed.pop(dropped.id, None)
        return fresh

    def refill(self, newest_first: Sequence[Message]) -> None:
        """Replace what is held by the newest page of history (back from a moved window)."""
        self.items.clear()
        self._ids.clear()
        self._unconfirmed.clear()
        self.pending_marker = None
        self._catch_up(list(reversed(newest_first)))

    def _catch_up(self, newest_run: Sequence[Message]) -> None:
        """Attach again: add `newest_run` (oldest first, reaching the newest message when
        it was listed), then what the stream delivered after it was listed."""
        self.detached = False
        missed, self._missed = list(self._missed), deque(maxlen=self.limit)
        missed_after, self._missed_after = self._missed_after, None
        self.add(newest_run)
        # What the stream delivered after the run was listed, told by ids, never by
        # times (a new message from a server node whose clock runs behind is created
        # "before" the run's newest): every message of `missed` after the last one
        # the run holds. If it holds none, all of them when it holds the message
        # delivered just before them (it was listed before the first arrived); else
        # the run is newer than them all (the stream lags behind the listing by more
        # than the run): they are older than the window shows.
        held = {message.id for message in newest_run}
        start = next((i + 1 for i in range(len(missed) - 1, -1, -1) if missed[i].id in held), 0)
        if start == 0 and held and missed_after not in held:
            start = len(missed)
        self.add(missed[start:])

    def move_to(self, run: Sequence[Message], *, at_end: bool) -> None:
        """Hold `run` (oldest first, from anywhere in the history) instead: a jump.

        Unless the run reaches the newest message (`at_end`), the timeline is
        `detached` from then on, as after scrolling back past the window.
        """
        if not self.detached:
            # What is held now may be newer than the run's listing: caught up below.
            self._missed.clear()
            self._missed.extend(self.messages())
            self._missed_after = None
        self.items.clear()
        self._ids.clear()
        self._unconfirmed.clear()
        self.pending_marker = None
        if at_end:
            self._catch_up(run)
            return
        self.detached = True
        self._append_run(run)

    def _append_run(self, run: Iterable[Message]) -> list[TimelineItem]:
        """Append history to a detached window, keeping it at `limit` items; returns the
        items let go of from its oldest end."""
        dropped: list[TimelineItem] = []
        for message in run:
            if message.id in self._ids:
                continue
            if len(self.items) >= self.limit:
                gone = self.items.popleft()
                dropped.append(gone)
                if isinstance(gone, Message):
                    self._ids.discard(gone.id)
            self._ids.add(message.id)
            self.items.append(message)
        return dropped

    def extend_window(self, run: Sequence[Message], *, at_end: bool) -> list[TimelineItem]:
        """Newer history for a detached window (the reader scrolled down to its end):
        appended, and attached again once the run reaches the newest message. Returns
        the items let go of from the oldest end to keep the window's size."""
        if not self.detached:
            return []
        dropped = self._append_run(run)
        if at_end:
            self._catch_up(run)
        return dropped

    def replace_message(self, message: Message) -> bool:
        """Put `message` where the message of its id is (its details came); False if
        that id is not held."""
        if message.id not in self._ids:
            return False
        for i in range(len(self.items) - 1, -1, -1):
            item = self.items[i]
            if isinstance(item, Message) and item.id == message.id:
                self.items[i] = message
                if self.last_message is not None and self.last_message.id == message.id:
                    self.last_message = message
                if message.id in self._unconfirmed:
                    self._unconfirmed[message.id] = message
                return True
        return False

    def add_pending(self, pending: Pending) -> Pending:
        """Append a "sending…" item."""
        self._push(pending)
        return pending

    def settle_pending(self, pending: Pending, sent: Message | None) -> None:
        """The server's answer to a send: the created message, or None (failed).

        The message takes the "sending…" item's place at once (or the item
        goes, if the stream delivered the message first): no placeholder
        outlives the answer, and the stream's copy is a repeat. The caller
        redraws the log.
        """
        index = next((i for i, item in enumerate(self.items) if item is pending), None)
        if sent is None:
            if index is not None:
                del self.items[index]
            return
        self.mine.add(sent.id)
        if index is not None:
            del self.items[index]
        if sent.id in self._ids or index is None:
            return
        # By its time, not where "sending…" stood: what the stream delivered while
        # the POST was on its way may have been written before the enter (a
        # lagging stream) or after it (a slow answer); the server orders by time.
        self._ids.add(sent.id)
        self.items.insert(self._place_of(sent), sent)
        if len(self.items) > self.limit:
            dropped = self.items.popleft()
            if isinstance(dropped, Message):
                self._ids.discard(dropped.id)
        self._unconfirmed[sent.id] = sent

    def _place_of(self, message: Message) -> int:
        """Where `message` goes among the items by its creation time: after the last
        message created at or before it (the end, if its time is unknown)."""
        when = parse_timestamp(message.created_at)
        if when is None:
            return len(self.items)
        position = len(self.items)
        for i in range(len(self.items) - 1, -1, -1):
            item = self.items[i]
            if isinstance(item, Message):
                held = parse_timestamp(item.created_at)
                if held is None or held <= when:
                    break
                position = i
        return position

    def take_replaced(self) -> bool:
        """Whether items changed in place since the last call (the log must redraw)."""
        replaced, self._replaced = self._replaced, False
        return replaced

    def mark(self, marker: Marker) -> Marker:
        """Append a divider."""
        self._push(marker)
        return marker

    def index_of(self, message_id: str) -> int | None:
        """Position of a message, or None."""
        if message_id not in self._ids:
            return None
        for i, item in enumerate(self.items):
            if isinstance(item, Message) and item.id == message_id:
                return i
        return None

    def count_after(self, message_id: str | None) -> int:
        """How many messages follow `message_id` (all of them if it is unknown)."""
        count = 0
        for item in reversed(self.items):
            if isinstance(item, Message):
                if item.id == message_id:
                    return count
                count += 1
        return count


def place_history(
    timeline: Timeline,
    history_newest_first: list[Message],
    *,
    received: str | None,
    received_at: str | None,
    seen: str | None,
    keep: int = 50,
) -> int:
    """Put a first page of history into a fresh timeline, ready for the stream's replay.

    History newer than the received cursor is left out: the stream replays
    it after `received`, under the "new since you left" marker, so it shows
    once. Returns the unread count the history itself carries (messages
    after the seen cursor).
    """
    history = list(reversed(history_newest_first))
    if received is not None:
        limit = parse_timestamp(received_at) if received_at else None
        ids = [m.id for m in history]
        if received in ids:
            history = history[: ids.index(received) + 1]
        elif limit is not None:
            history = [
                m
                for m in history
                if (t := parse_timestamp(m.created_at)) is not None and t <= limit
            ]
        else:
            history = []
    timeline.add(history[-keep:])
    if received is None:
        # First open of this conversation: nothing to mark.
        return 0
    marker = Marker("new_since", "new since you left")
    unread = timeline.count_after(seen) if seen is not None and seen in timeline else 0
    position = timeline.index_of(seen) if seen is not None else None
    if position is not None and unread:
        timeline.items.insert(position + 1, marker)
    else:
        timeline.pending_marker = marker
    return unread
