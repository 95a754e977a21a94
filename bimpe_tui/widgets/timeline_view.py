"""The log's view: the timeline's lines (`LineView`) with the reader's keys.

Scrolling, the log's own keys (newest, search steps, filter, copy, unread)
and what the view tells the log that holds it: `TimelineHost`.
"""

from __future__ import annotations

from typing import Protocol

from textual import events
from textual.actions import SkipAction
from textual.binding import Binding
from textual.selection import Selection

from ..api.models import Message
from ..book import Marker
from ..safe_text import spelled_out, unsafe_count
from .line_view import LineView


class TimelineHost(Protocol):
    """What the view asks of the log that holds it.

    Calls, not messages: a key that leaves the end must stop the following
    before an arrival queued behind it scrolls the view back, and a search
    step must move before the next key is read.
    """

    @property
    def searching(self) -> bool:
        """Whether a search is active."""
        ...

    @property
    def filtered(self) -> bool:
        """Whether the log shows only some messages."""
        ...

    def scrolled(self) -> None:
        """The view moved (track whether the reader left the end or came back)."""

    def leave_end(self, *, by_reader: bool = True) -> None:
        """Stop following now, before the scroll lands."""

    def reached_top(self) -> None:
        """The reader is at the top: time for older messages."""

    def action_jump_to_end(self) -> None:
        """Back to the newest message, following again."""

    def search_step(self, step: int) -> None:
        """To the next (1) or previous (-1) search match."""

    def clear_search(self) -> None:
        """Forget the search and close its box."""

    def clear_filter(self) -> None:
        """Show every message again and close the filter box."""

    def current_match_item(self) -> int | None:
        """The number of the item holding the current search match, if searching."""

    async def open_filter(self) -> None:
        """Open the filter box."""

    def mark_unread(self, message_id: str) -> None:
        """Ask for the messages from this one on to count as unread."""


class TimelineView(LineView, can_focus=True):
    """The timeline's lines, of which only those on screen are wrapped and drawn,
    scrolled by the reader's keys; the log that holds it is its `host`."""

    # On the focused view itself, so they win over the scroll bindings' own `end`.
    BINDINGS = [
        Binding("end", "newest", "Newest", id="log.end"),
        Binding("G", "newest", "Newest", show=False, id="log.end_vi"),
        # As in the list: a line down / up; the scroll bindings' own actions and words,
        # so the help shows them on the rows of down and up.
        Binding("j", "scroll_down", "Scroll Down", show=False, id="log.down_vi"),
        Binding("k", "scroll_up", "Scroll Up", show=False, id="log.up_vi"),
        Binding("n", "search_step(1)", "Next match", show=False, id="log.search_next"),
        Binding("N", "search_step(-1)", "Previous match", show=False, id="log.search_previous"),
        Binding(
            "escape",
            "clear_search",
            "Clear the search, else the filter",
            show=False,
            id="log.search_clear",
        ),
        # In the help, not the footer: the footer keeps room for q and ?.
        Binding("f", "filter_log", "Filter the log", show=False, id="log.filter"),
        Binding("y", "copy_message", "Copy a message's text", show=False, id="log.copy_message"),
        Binding("u", "first_unread", "First unread message", show=False, id="log.first_unread"),
        Binding("m", "mark_unread", "Mark unread from here", show=False, id="log.mark_unread"),
    ]

    #: Search matches, and the one the count points at; styled in app.tcss.
    COMPONENT_CLASSES = {"timeline--match", "timeline--match-current"}
    #: The log that holds the view (set by it when composed); None alone.
    host: TimelineHost | None = None

    def top_item(self) -> int:
        """The position of the item on the first line of the view."""
        return self._index.find(round(self.scroll_y))[0]

    def bottom_item(self) -> int:
        """The position of the item on the last line of the view."""
        bottom = round(self.scroll_y) + self.scrollable_content_region.height - 1
        return self._index.find(bottom)[0]

    def reveal(self, position: int) -> None:
        """Scroll so item `position` shows whole if it can, a third of the way down if it moves."""
        if not 0 <= position < len(self._items):
            return
        height = self.scrollable_content_region.height
        self._wrap(position)
        start = self._index.start(position)
        size = self._index.height(position)
        top = round(self.scroll_y)
        if top <= start and start + min(size, height) <= top + height:
            self.refresh()
            return
        host = self.host
        if host is not None:
            host.leave_end(by_reader=False)
        target = max(0, start - height // 3) if size < height else start
        self._measure(target, height)
        self._update_size()
        self.scroll_to(y=target, animate=False)

    # -- selection ------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text, as drawn (wrapped lines stay separate lines)."""
        if not self._items:
            return None
        first = 0 if selection.start is None else selection.start.y
        last = self._index.total - 1 if selection.end is None else selection.end.y
        last = min(last, self._index.total - 1)
        # Only the selected lines are read, from its first: a drag over a
        # screenful of a 100,000-message log does not wrap the rest.
        text = "\n".join(self.line_strip(n).text.rstrip() for n in range(first, last + 1))
        start = None if selection.start is None else selection.start._replace(y=0)
        end = None if selection.end is None else selection.end._replace(y=last - first)
        return Selection(start, end).extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    # -- scrolling --------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.settle()
        host = self.host
        if host is not None:
            host.scrolled()

    def action_newest(self) -> None:
        """Back to the newest message, following again."""
        host = self.host
        if host is not None:
            host.action_jump_to_end()

    def action_search_step(self, step: int) -> None:
        """The next (1) or previous (-1) search match; a plain key when nothing is searched."""
        host = self.host
        if host is None or not host.searching:
            raise SkipAction()
        host.search_step(step)

    def action_clear_search(self) -> None:
        """Forget the search, else the filter; without either, escape does nothing (the
        focus stays: see docs/acting.md)."""
        host = self.host
        if host is None:
            raise SkipAction()
        if host.searching:
            host.clear_search()
        elif host.filtered:
            host.clear_filter()
        else:
            raise SkipAction()

    def message_to_copy(self) -> Message | None:
        """The message `y` copies: the current search match's, else the newest whose
        first line is on screen."""
        host = self.host
        if host is not None:
            matched = host.current_match_item()
            if matched is not None:
                item = self._items[matched - self._base]
                if isinstance(item, Message):
                    return item
        if not self._items:
            return None
        top = round(self.scroll_y)
        first = self._index.find(top)[0]
        last = self._index.find(top + self.scrollable_content_region.height - 1)[0]
        for position in range(last, first - 1, -1):
            item = self._items[position]
            if isinstance(item, Message) and self._index.start(position) >= top:
                return item
        item = self._items[first]
        return item if isinstance(item, Message) else None

    def action_copy_message(self) -> None:
        """Copy a message's text (OSC 52): see `message_to_copy`.

        Its control characters are spelled out (`safe_text`): pasted into a
        shell, a customer's `ESC [201~` would end the paste and run what follows.
        """
        message = self.message_to_copy()
        if message is None or not message.message:
            self.notify("no message text to copy here", markup=False)
            return
        text = message.message
        self.app.copy_to_clipboard(spelled_out(text))
        unsafe = unsafe_count(text)
        spelled = f" ({unsafe:,} control characters spelled out, as shown)" if unsafe else ""
        self.notify(f"copied {len(text):,} characters{spelled}", markup=False)

    def top_message(self) -> Message | None:
        """The first message whose first line is on screen (else the one at the top)."""
        if not self._items:
            return None
        top = round(self.scroll_y)
        first = self._index.find(top)[0]
        last = self._index.find(top + self.scrollable_content_region.height - 1)[0]
        for position in range(first, last + 1):
            item = self._items[position]
            if isinstance(item, Message) and self._index.start(position) >= top:
                return item
        item = self._items[first]
        return item if isinstance(item, Message) else None

    def action_mark_unread(self) -> None:
        """Count the messages from the top of the view on as unread (the picker follows)."""
        message = self.top_message()
        host = self.host
        if message is None or host is None:
            return
        host.mark_unread(message.id)

    def action_first_unread(self) -> None:
        """To the first message after "new since you left"."""
        for position, item in enumerate(self._items):
            if isinstance(item, Marker) and item.kind == "new_since":
                self.reveal(position)
                return
        self.notify("nothing unread from before this start", markup=False)

    async def action_filter_log(self) -> None:
        """Show only some messages: by text, by role (`@customer`, `@agent`, ...)."""
        host = self.host
        if host is not None:
            await host.open_filter()

    # Scrolls are immediate (a ScrollView scrolls without waiting for a
    # refresh): a key pressed while arrivals are drawn cannot be undone by a
    # scroll to the end queued before it. A key that leaves the end stops the
    # following first, so an arrival in between does not pull the view back.
    def _leave_end(self) -> None:
        host = self.host
        if host is not None and self.scroll_y <= 0:
            host.reached_top()  # a key up at the top: ask for older messages
        if not self.allow_vertical_scroll:
            raise SkipAction()
        if host is not None:
            host.leave_end()

    def action_scroll_home(self) -> None:
        self._leave_end()
        self.scroll_to(y=0, animate=False)

    def action_scroll_up(self) -> None:
        self._leave_end()
        self.scroll_to(y=self.scroll_y - 1, animate=False)

    def action_page_up(self) -> None:
        self._leave_end()
        self.scroll_to(y=self.scroll_y - self.scrollable_content_region.height, animate=False)

    def action_scroll_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_to(y=self.scroll_y + 1, animate=False)

    def action_page_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_to(y=self.scroll_y + self.scrollable_content_region.height, animate=False)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        host = self.host
        if host is not None and self.scroll_y <= 0:
            host.reached_top()  # the wheel up at the top: ask for older messages
        if host is not None and self.allow_vertical_scroll:
            host.leave_end()
        super()._on_mouse_scroll_up(event)

    def scroll_to_item(self, position: int) -> None:
        """Show item `position` at the top (or as near as the end allows)."""
        if not 0 <= position < len(self._items):
            return
        host = self.host
        if host is not None:
            host.leave_end(by_reader=False)
        start = self._index.start(position)
        self._measure(start, self.scrollable_content_region.height)
        self._update_size()
        self.scroll_to(y=self._index.start(position), animate=False)
