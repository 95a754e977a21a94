"""The open conversation's messages: follows the tail, or shows "N new ↓" when scrolled up.

The log's parts live by job: the pure line builders in `timeline_lines`, the
Line-API view in `line_view` and `timeline_view`, the search and filter
boxes in `log_bars`, the search and filter themselves in `log_search`. Names
other modules import from here are re-exported below.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from datetime import datetime, tzinfo

from textual.app import ComposeResult
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.reactive import reactive, var
from textual.widgets import Label

from ..api.models import Message
from ..book import Marker, TimelineItem
from .line_view import FALLBACK_WIDTH, KEEP_ITEMS, AllLines, LineView
from .log_bars import FilterBox, FilterKeys, SearchBox, SearchKeys
from .log_search import LogSearch
from .timeline_lines import INDENT, attachment_rows, marker_line, message_lines, position_of
from .timeline_view import TimelineView

__all__ = [
    "FALLBACK_WIDTH",
    "INDENT",
    "KEEP_ITEMS",
    "AllLines",
    "FilterBox",
    "FilterKeys",
    "LineView",
    "MessageLog",
    "SearchBox",
    "SearchKeys",
    "TimelineView",
    "attachment_rows",
    "marker_line",
    "message_lines",
]


class MessageLog(LogSearch):
    """The timeline of the open conversation."""

    class ReachedEnd(TextualMessage):
        """The end of the log is on screen (the user can be said to have seen it).

        `newest`: the reader asked for the newest message (the end key), not just
        scrolled to the end of what is held.
        """

        def __init__(self, *, newest: bool = False) -> None:
            super().__init__()
            self.newest = newest

    class MarkUnread(TextualMessage):
        """The reader wants the messages from this one on counted as unread."""

        def __init__(self, message_id: str) -> None:
            super().__init__()
            self.message_id = message_id

    class NeedsRedraw(TextualMessage):
        """The width changed: the text, wrapped for the old width, must be drawn again.

        The view re-wraps by itself now; kept for callers that also redraw.
        """

    class ReachedTop(TextualMessage):
        """The reader scrolled to the top, or pressed a key up there: time for older messages."""

    #: Messages that arrived while the user was scrolled up.
    new_count: reactive[int] = reactive(0)
    #: The log holds the newest messages (else a window of history: its end is not
    #: the newest, so reaching it follows nothing and asks for what is newer).
    live: var[bool] = var(True)

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self._following = True
        self._drawn_width = 0
        self._redrawing = False
        self._highlights: Mapping[str, Sequence[tuple[int, int]]] = {}
        #: The reader scrolled up since the conversation was shown (not our own scrolling).
        self._reader_up = False
        self._mine: Container[str] = frozenset()
        #: Asked for what follows the end of a window of history (once per arrival there).
        self._asked_newer = False

    def compose(self) -> ComposeResult:
        view = TimelineView(tz=self.tz, id="lines")
        view.highlights = self._highlights
        view.mine = self._mine
        view.host = self
        yield view
        yield Label("", id="new-marker")

    @property
    def highlights(self) -> Mapping[str, Sequence[tuple[int, int]]]:
        """Per message id, the spans of its text to highlight (the open conversation's)."""
        return self._highlights

    @highlights.setter
    def highlights(self, value: Mapping[str, Sequence[tuple[int, int]]]) -> None:
        self._highlights = value
        if self.is_mounted:
            self.lines.highlights = value

    @property
    def mine(self) -> Container[str]:
        """Ids of the messages the user sent (their role shows as "you")."""
        return self._mine

    @mine.setter
    def mine(self, value: Container[str]) -> None:
        self._mine = value
        if self.is_mounted:
            self.lines.mine = value

    @property
    def following(self) -> bool:
        """Whether the view is at the newest message."""
        return self._following

    def _set_following(self, following: bool) -> None:
        self._following = following
        self.lines.stick_to_end = following

    def _width(self) -> int:
        return self.lines.wrap_width()

    def on_resize(self) -> None:
        # The view wraps again for its new width by itself, keeping the reader's place.
        self._drawn_width = self._width()

    def show(
        self, title: str | Content, items: Sequence[TimelineItem], *, now: datetime | None = None
    ) -> None:
        """Replace the content with a conversation's items and follow its tail."""
        self.border_title = title
        self._set_following(True)
        self._reader_up = False
        self.new_count = 0
        view = self.lines
        view.fill(self._through_filter(items), now)
        self._corpus = None
        self._drawn_width = view.wrap_width()
        view.scroll_to(y=view.max_scroll_y, animate=False)
        view.settle()
        if self._pattern is not None:
            self._find(jump=False)
        view.refresh()

    def redraw(
        self,
        title: str | Content,
        items: Sequence[TimelineItem],
        *,
        now: datetime | None = None,
        above: Sequence[TimelineItem] = (),
        gone_above: Sequence[TimelineItem] = (),
    ) -> None:
        """Draw the same conversation again, keeping the reader's place.

        A reader scrolled up stays on the same item, with the "N new" count
        kept: a resize that lands late (a busy machine lays out after the first
        draw) must not count as having read to the end.

        `above`: items now held above those held before (older messages put on
        top); `gone_above`: items on top before and no longer (the "loading
        older messages…" line). The reader's item moves down by the difference,
        so the line the reader had at the top of the screen stays there.
        """
        if self._following and self.live:
            self.show(title, items, now=now)
            return
        self._set_following(False)
        self._asked_newer = False
        view = self.lines
        position, offset = view._index.find(round(view.scroll_y))
        key = view._base + position
        # The reader's item, found again by identity: the view may hold more than
        # the timeline (it lets go of its oldest a batch at a time), so counting
        # from the front would land elsewhere. A divider is made anew at each
        # redraw (the scrollback line): for it, the count, less what left the top.
        # A reader at the very top stays there, to see the line that came on top
        # ("loading older messages…", or why it failed).
        reader: TimelineItem | None = None
        at_top = position == 0 and offset == 0 and not above
        if 0 <= position < len(view.items) and not at_top:
            item = view.items[position]
            reader = None if isinstance(item, Marker) else item
        if above or gone_above:
            key += len(self._kept(above)) - len(self._kept(gone_above))
        # The search's current match, to point at it again once refilled (a
        # fresh search would pick the match nearest the bottom of the view).
        current: tuple[TimelineItem, int] | None = None
        if self._hits and 0 <= self._current < len(self._hits):
            hit = self._hits[self._current]
            number = hit.item - view.base
            if 0 <= number < len(view.items):
                current = (view.items[number], hit.start)
        self._redrawing = True
        try:
            self.border_title = title
            view.fill(self._through_filter(items), now)
            self._corpus = None
            if self._pattern is not None:
                self._find(jump=False)
                if current is not None:
                    self._point_at(*current)
            if reader is not None:
                found = position_of(view.items, reader)
                key = key if found is None else found
            if above or gone_above:
                view.measure_before(key)
            view.scroll_to_item(max(0, min(key, len(view.items) - 1)))
            view.scroll_to(y=view.scroll_y + offset, animate=False)
            self._drawn_width = view.wrap_width()
        finally:
            self._redrawing = False

    def append(self, items: Sequence[TimelineItem], *, now: datetime | None = None) -> None:
        """Add items at the end: the index grows, nothing off screen is wrapped."""
        if not items:
            return
        view = self.lines
        first = view.base + len(view.items)
        if self._all is not None:
            self._all.extend(items)
            if len(self._all) > view.keep + view.keep // 4:
                del self._all[: len(self._all) - view.keep]
            items = self._kept(items)
        view.extend(items, now)
        if self._corpus is not None:
            self._corpus.extend(items)
        if self._all is not None:
            self._show_filter()
        if self._pattern is not None:
            self._found_more(items, first)
        if self._following:
            view.scroll_to(y=view.max_scroll_y, animate=False)
            view.settle()
        else:
            self.new_count += sum(1 for item in items if isinstance(item, Message))

    def reached_top(self) -> None:
        """The reader is at the top: say so (the screen loads older messages)."""
        self.post_message(self.ReachedTop())

    def scrolled(self) -> None:
        """Track whether the user left the end or came back to it."""
        if self._redrawing:
            return
        view = self.lines
        if self._reader_up and view.scroll_y <= 0 < view.max_scroll_y:
            self._reader_up = False  # once per arrival at the top
            self.reached_top()
        at_end = view.scroll_y >= view.max_scroll_y - 1
        if not self.live:
            # A window of history: its end is not the newest; say it was reached, once.
            if at_end and not self._asked_newer and not self._following:
                self._asked_newer = True
                self.post_message(self.ReachedEnd())
            elif not at_end:
                self._asked_newer = False
                if self._following and not view._settling:
                    self._set_following(False)
            return
        if at_end and not self._following:
            self._set_following(True)
            self.new_count = 0
            self.post_message(self.ReachedEnd())
        elif not at_end and self._following and not view._settling:
            self._set_following(False)

    def leave_end(self, *, by_reader: bool = True) -> None:
        """Stop following now, before the scroll lands.

        `by_reader`: the reader scrolls (keys, wheel), and reaching the top asks
        for older messages; a jump of ours (a search match, the first unread)
        that lands at the top does not.
        """
        self._set_following(False)
        self._reader_up = by_reader

    def reveal_message(self, message_id: str) -> bool:
        """Scroll to a message held (a jump from the server's search): it shows a third
        of the way down, and if the search finds something in it, that is the current
        match. False if the view does not hold it (a filter hides it)."""
        view = self.lines
        items = view.items
        position = len(items) - 1
        while position >= 0:
            item = items[position]
            if isinstance(item, Message) and item.id == message_id:
                break
            position -= 1
        else:
            return False
        self.leave_end(by_reader=False)
        number = view.base + position
        hit = next((n for n, found in enumerate(self._hits) if found.item == number), None)
        if hit is not None and self._pattern is not None:
            self._current = hit
            self._anchor = number
            self._mark()
        view.reveal(position)
        return True

    def action_jump_to_end(self) -> None:
        """Back to the newest message, following again."""
        self._set_following(True)
        view = self.lines
        view.scroll_to(y=view.max_scroll_y, animate=False)
        view.settle()
        self.new_count = 0
        self.post_message(self.ReachedEnd(newest=True))

    def watch_new_count(self) -> None:
        self._show_marker()

    def watch_live(self) -> None:
        self._show_marker()

    def _show_marker(self) -> None:
        marker = self.query_one("#new-marker", Label)
        if not self.live:
            marker.update(" reading history · end: the newest ↓ ")
        else:
            marker.update(f" {self.new_count} new ↓ (end) ")
        marker.display = not self.live or self.new_count > 0

    def mark_unread(self, message_id: str) -> None:
        """Ask for the messages from this one on to count as unread (the picker follows)."""
        self.post_message(self.MarkUnread(message_id))
