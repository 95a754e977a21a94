"""The window a timeline shows onto its conversation's history: older pages as the
reader scrolls up, a jump to any message, newer pages on the way back, the newest
page fetched again, and the server's search through the whole conversation."""

from __future__ import annotations

from collections.abc import Callable

from ..api.errors import BimpeError
from ..api.models import Message
from ..book import Book, Entry, Older
from ..history import HistoryError, HistoryPager, Window, newer_than, window_around
from .config import HISTORY_SIZE
from .connection import Link
from .events import Emit, Notice, Reveal, TimelineReplaced
from .tasks import Job


class Windows:
    """Per conversation: where its window stands in its history, and the pages on their way."""

    def __init__(
        self,
        book: Book,
        link: Link,
        emit: Emit,
        spawn: Callable[[Job], None],
        *,
        current: Callable[[], str | None],
        seen: Callable[[str], None],
    ) -> None:
        """`current()` is the open conversation (the default one); `seen(id)` is told
        when a conversation's window is back at its newest message."""
        self._book = book
        self._link = link
        self._emit = emit
        self._spawn = spawn
        self._current = current
        self._seen = seen
        #: Per conversation: the pager back into its history, and the message id it
        #: continues from (a moved window starts a new pager).
        self._pagers: dict[str, tuple[HistoryPager, str]] = {}
        #: Conversations whose newest page is being fetched again (see return_to_newest).
        self._refilling: set[str] = set()
        #: Per conversation moved to a place in its history (a jump): the position of
        #: the newest message held, counted from the first, and its id.
        self._ahead: dict[str, tuple[int, str]] = {}
        #: Conversations whose next newer page is on its way (see load_newer).
        self._loading_newer: set[str] = set()

    def _entry(self, conversation_id: str | None) -> Entry | None:
        return self._book.get(conversation_id or self._current() or "")

    def position(self, conversation_id: str, oldest_id: str) -> int | None:
        """How many messages come before `oldest_id`, if the window's pager knows."""
        known = self._pagers.get(conversation_id)
        return known[0].remaining if known is not None and known[1] == oldest_id else None

    async def search_history(
        self, conversation_id: str, query: str, *, limit: int = 50
    ) -> tuple[list[Message], int]:
        """The server's matches for `query` in the whole conversation: newest first
        (at most `limit`), and how many there are in all. Raises BimpeError."""
        entry = self._book.get(conversation_id)
        client = self._link.client
        if entry is None or client is None:
            raise LookupError(f"no conversation {conversation_id}")
        page = await client.list_messages(
            entry.agent.id, conversation_id, search=query, sort="-created_at", limit=limit
        )
        total = page.meta.total_count if page.meta is not None else len(page.items)
        return list(page.items), total

    # -- older pages ----------------------------------------------------------------

    def load_older(self, conversation_id: str | None = None) -> bool:
        """Load the page before the oldest message held (the reader reached the top).

        Nothing happens while a page is loading, once the first message is held, or
        before the first history is placed. Returns whether a load started.
        """
        entry = self._entry(conversation_id)
        if entry is None or self._link.client is None or not entry.history_loaded:
            return False
        if entry.older.state in ("loading", "start"):
            return False
        oldest = entry.timeline.oldest_message()
        if oldest is None:
            return False
        entry.older = Older("loading")
        self._emit(TimelineReplaced(entry.id, keep_place=True))
        self._spawn(self._load_older(entry, oldest))
        return True

    def _pager(self, entry: Entry, oldest: Message) -> HistoryPager:
        client = self._link.client
        assert client is not None
        known = self._pagers.get(entry.id)
        if known is not None and known[1] == oldest.id:
            return known[0]
        # A new window (first scroll back, or its oldest end was let go of): the
        # pager finds where the oldest held message is, once.
        held = len(entry.timeline.messages())
        pager = HistoryPager(client, entry.agent.id, entry.id, oldest, newer_hint=max(0, held - 1))
        self._pagers[entry.id] = (pager, oldest.id)
        return pager

    async def _load_older(self, entry: Entry, oldest: Message) -> None:
        pager = self._pager(entry, oldest)
        try:
            batch = await pager.older()
        except (BimpeError, HistoryError) as exc:
            if isinstance(exc, HistoryError):
                self._pagers.pop(entry.id, None)  # look for the anchor again on retry
            entry.older = Older("failed", str(exc))
            self._emit(TimelineReplaced(entry.id, keep_place=True))
            return
        if entry.timeline.oldest_message() is not oldest:
            # The window moved meanwhile (new messages pushed its oldest out, or the
            # newest were fetched again): this page may not join it; ask again later.
            self._pagers.pop(entry.id, None)
            entry.older = Older()
            self._emit(TimelineReplaced(entry.id, keep_place=True))
            return
        placed = entry.timeline.prepend(batch)
        if placed:
            self._pagers[entry.id] = (pager, placed[0].id)
        newest = entry.timeline.newest_message()
        if placed and entry.timeline.detached and pager.remaining is not None and newest:
            # The window let go of its newest end: it knows where that end is now
            # (the messages held follow one another), so scrolling down pages on from
            # there. Were there a gap in them, the count would fall short of the true
            # place: the page asked for would overlap what is held, never skip.
            last = pager.remaining + len(entry.timeline.messages()) - 1
            self._ahead[entry.id] = (last, newest.id)
        first = entry.timeline.oldest_message()
        if pager.done and first is not None:
            entry.older = Older("start", first=first.id)
        else:
            entry.older = Older()
        self._emit(TimelineReplaced(entry.id, keep_place=True, above=len(placed)))

    # -- a jump ---------------------------------------------------------------------

    async def jump_to(self, conversation_id: str, message: Message) -> None:
        """Show `message` in its place: at once if it is held, else the timeline moves to
        the page of history that holds it (scrolling up and down from there loads more,
        the end key comes back to the newest). Raises BimpeError or HistoryError."""
        entry = self._book.get(conversation_id)
        client = self._link.client
        if entry is None or client is None:
            raise LookupError(f"no conversation {conversation_id}")
        if message.id not in entry.timeline:
            window = await window_around(client, entry.agent.id, entry.id, message)
            self._move_window(entry, window)
        self._emit(Reveal(entry.id, message.id))

    def _move_window(self, entry: Entry, window: Window) -> None:
        entry.timeline.move_to(window.messages, at_end=window.at_end)
        self._ahead.pop(entry.id, None)
        self._pagers.pop(entry.id, None)
        if window.messages:
            oldest = window.messages[0]
            pager = HistoryPager(
                self._link.require(), entry.agent.id, entry.id, oldest, position=window.first
            )
            self._pagers[entry.id] = (pager, oldest.id)
            if not window.at_end:
                self._ahead[entry.id] = (window.last, window.messages[-1].id)
        if window.first == 0 and window.messages:
            entry.older = Older("start", first=window.messages[0].id)
        else:
            entry.older = Older()
        self._emit(TimelineReplaced(entry.id))

    # -- newer pages, and back to the newest ------------------------------------------

    def load_newer(self, conversation_id: str | None = None) -> bool:
        """The reader reached the end of a window moved into history: the next newer page
        if the window knows where it is (a jump), else the newest page. Returns whether a
        load started."""
        entry = self._entry(conversation_id)
        if entry is None or not entry.timeline.detached:
            return False
        ahead = self._ahead.get(entry.id)
        newest = entry.timeline.newest_message()
        if ahead is None or newest is None or newest.id != ahead[1]:
            return self.return_to_newest(entry.id)
        if entry.id in self._loading_newer:
            return False
        self._loading_newer.add(entry.id)
        self._spawn(self._load_newer(entry, ahead[0]))
        return True

    async def _load_newer(self, entry: Entry, last: int) -> None:
        try:
            window = await newer_than(self._link.require(), entry.agent.id, entry.id, last)
        except (BimpeError, LookupError) as exc:
            self._emit(Notice(f"could not load newer messages: {exc}", "error"))
            return
        finally:
            self._loading_newer.discard(entry.id)
        if self._ahead.get(entry.id, (None,))[0] != last:
            return  # the window moved meanwhile
        dropped = entry.timeline.extend_window(window.messages, at_end=window.at_end)
        self._ahead.pop(entry.id, None)
        if not window.at_end and window.messages:
            self._ahead[entry.id] = (window.last, window.messages[-1].id)
        if dropped:
            # The oldest end was let go of: scrolling up starts from the new oldest,
            # whose place is known (no looking for it).
            pager = self._pagers.pop(entry.id, None)
            oldest = entry.timeline.oldest_message()
            remaining = pager[0].remaining if pager is not None else None
            if remaining is not None and oldest is not None:
                gone = sum(1 for item in dropped if isinstance(item, Message))
                moved = HistoryPager(
                    self._link.require(),
                    entry.agent.id,
                    entry.id,
                    oldest,
                    position=remaining + gone,
                )
                self._pagers[entry.id] = (moved, oldest.id)
            entry.older = Older()
        self._emit(TimelineReplaced(entry.id, keep_place=True, gone=tuple(dropped)))
        if window.at_end:
            self._seen(entry.id)

    def return_to_newest(self, conversation_id: str | None = None) -> bool:
        """The reader is back at the end of a window moved into history: fetch the
        newest page again (the window holds no newer message). Returns whether it started."""
        entry = self._entry(conversation_id)
        if entry is None or not entry.timeline.detached or entry.id in self._refilling:
            return False
        self._refilling.add(entry.id)
        self._spawn(self._refill(entry))
        return True

    async def _refill(self, entry: Entry) -> None:
        client = self._link.client
        assert client is not None
        try:
            page = await client.list_messages(entry.agent.id, entry.id, page=1, limit=HISTORY_SIZE)
        except BimpeError as exc:
            self._emit(Notice(f"could not load the newest messages: {exc}", "error"))
            return
        finally:
            self._refilling.discard(entry.id)
        entry.timeline.refill(page.items)
        entry.older = Older()
        self._pagers.pop(entry.id, None)
        self._ahead.pop(entry.id, None)
        self._emit(TimelineReplaced(entry.id))
        self._seen(entry.id)
