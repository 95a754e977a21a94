"""The reader's side: which conversation is open (or peeked at), its seen cursor, unread.

The seen cursor moves only when the reader can see the newest message of the open
conversation (the shell says when, with `can_see`), never while peeking.
"""

from __future__ import annotations

from collections.abc import Callable

from ..api.errors import BimpeError
from ..api.models import Message
from ..book import Book, Entry
from ..history import HistoryError, HistoryPager
from .connection import Link
from .cursors import Cursors
from .events import Emit, ListChanged, Notice
from .tasks import Job

#: Where the history pager of a window stands, if its oldest message is the one given:
#: `position(conversation_id, oldest_id)`, the count of messages before it, or None.
Position = Callable[[str, str], int | None]


class Reading:
    """The open conversation, peeking, and moving the seen cursor (and unread counts)."""

    def __init__(
        self,
        book: Book,
        cursors: Cursors,
        link: Link,
        emit: Emit,
        spawn: Callable[[Job], None],
        *,
        can_see: Callable[[], bool],
        position: Position,
    ) -> None:
        self._book = book
        self._cursors = cursors
        self._link = link
        self._emit = emit
        self._spawn = spawn
        self._can_see = can_see
        self._position = position
        #: The open conversation.
        self.current: str | None = None
        #: The open conversation was opened with "peek": its seen cursor stays put.
        self.peeking = False

    def is_open(self, conversation_id: str) -> bool:
        """Whether the conversation is the open one."""
        return self.current == conversation_id

    def open_entry(self) -> Entry | None:
        """The open conversation's entry, if there is one."""
        return self._book.get(self.current) if self.current else None

    def seen_now(self) -> bool:
        """Advance the open conversation's seen cursor if the user can see its newest message."""
        entry = self.open_entry()
        if entry is None or self.peeking or not self._can_see() or entry.timeline.detached:
            # Detached: the newest messages are not in the window the reader sees.
            return False
        had_unread = entry.unread
        entry.unread = 0
        last = entry.timeline.last_message
        if last is not None:
            cursor = self._cursors.cursor(entry)
            if cursor.seen != last.id:
                cursor.seen, cursor.seen_at = last.id, last.created_at or None
                self._cursors.state.changed()
                had_unread = True
        if had_unread:
            self._emit(ListChanged())
        return True

    def seen_if_open(self, conversation_id: str) -> None:
        """The newest of a conversation may now be in view: seen, if it is the open one."""
        if self.current == conversation_id:
            self.seen_now()

    def mark_unread_from(self, message_id: str) -> bool:
        """Move the open conversation's seen cursor back to just before `message_id`.

        The picker's count then counts from there; reaching the end again
        (or a new message while at the end) moves the cursor forward as usual.
        """
        entry = self.open_entry()
        if entry is None:
            return False
        before: Message | None = None
        for item in entry.timeline.items:
            if isinstance(item, Message):
                if item.id == message_id:
                    break
                before = item
        else:
            return False
        cursor = self._cursors.cursor(entry)
        seen = (before.id, before.created_at or None) if before is not None else (None, None)
        cursor.seen, cursor.seen_at = seen
        entry.unread = entry.timeline.count_after(cursor.seen)
        entry.visited = False
        if before is None and entry.older.state != "start" and self._link.client is not None:
            # The first message held, with history above it: "seen" is the message
            # before it, which only the server knows (None would mean nothing seen).
            self._spawn(self._seen_before(entry, message_id))
        self._cursors.state.changed()
        self._emit(ListChanged())
        return True

    async def _seen_before(self, entry: Entry, message_id: str) -> None:
        oldest = entry.timeline.oldest_message()
        if oldest is None or oldest.id != message_id:
            return
        held = len(entry.timeline.messages())
        pager = HistoryPager(
            self._link.require(),
            entry.agent.id,
            entry.id,
            oldest,
            newer_hint=max(0, held - 1),
            position=self._position(entry.id, oldest.id),
        )
        try:
            batch = await pager.older()
        except (BimpeError, HistoryError, LookupError) as exc:
            self._emit(Notice(f"could not mark the older messages unread: {exc}", "warning"))
            return
        cursor = self._cursors.cursor(entry)
        if batch and cursor.seen is None:
            cursor.seen, cursor.seen_at = batch[-1].id, batch[-1].created_at or None
            self._cursors.state.changed()
