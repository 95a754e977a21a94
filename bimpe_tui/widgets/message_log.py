"""The open conversation's messages: follows the tail, or shows "N new ↓" when scrolled up.

The timeline is drawn by a Line-API view that renders only the lines on
screen: each item is wrapped when it first shows (and again only for a new
width), and a `LineIndex` maps items to the lines they start on. Every item
of the timeline is reachable by scrolling, and a flood costs what a trickle
does per frame: an arrival extends the index, it wraps nothing off screen.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import overload

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message as TextualMessage
from textual.reactive import reactive, var
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.widgets import Input, Label, TextArea

from ..api.models import Message
from ..book import MAX_TIMELINE, Marker, Pending, TimelineItem
from ..line_index import LineIndex
from ..render import (
    MAX_SHOWN_ATTACHMENTS,
    MAX_SHOWN_CHARS,
    MAX_SHOWN_LINES,
    AttachmentLine,
    Mark,
    MessageParts,
    marker_lines,
    message_parts,
    url_text,
)
from ..safe_text import spelled_out, unsafe_count
from ..search import Corpus, Hit, LogFilter, compile_query, find_hits, kept
from .compose import pending_text
from .text_keys import OrderedInput

#: Items the view keeps, as many as the Book's timeline: a long session drops
#: the oldest (in batches of a quarter, as a drop re-indexes the rest).
KEEP_ITEMS = MAX_TIMELINE + 1  # and the top line ("loading older messages…")
#: Items whose wrapped lines are kept for the current width: a few screens'
#: worth either way of where the reader is; the rest are wrapped again if shown.
WRAP_CACHE = 2_000
#: Heights estimated at a time: the newest items' when the view is filled (where
#: it opens), then, between frames, the older items', which start at the newest
#: ones' average. Estimating 100,000 items in one pass cost 30 of the 43 ms an
#: open took (idle machine); a chunk of 2,000 costs about 1 ms.
ESTIMATE_CHUNK = 2_000
#: How often the view re-measures after scrolling to the end, when wrapping
#: the last items showed them taller or shorter than estimated.
SETTLE_ROUNDS = 4
#: Width of the time and role columns: wrapped text lines up after them.
INDENT = 18
#: Width used before the widget has been laid out.
FALLBACK_WIDTH = 100


def marker_line(label: str, width: int) -> Text:
    """A divider centred in `width` cells, on as many lines as its words need."""
    return Text("\n").join(marker_lines(label, width))


#: A laid-out line of a message's body, and whether it starts under the text
#: column (True) or at the log's left edge (a link too long for the column).
Row = tuple[Text, bool]

#: An item wrapped: each line's segments, and each line's width in cells. Kept
#: instead of Strips, as a Strip holds seven caches, and in them the Strips made
#: from it for each frame (cropped, styled, offset): about 25 objects a line,
#: which the garbage collector then walks on each full pass.
Wrapped = tuple[list[list[Segment]], list[int]]


def attachment_rows(attachment: AttachmentLine, width: int, room: int) -> list[Row]:
    """An attachment's lines: its link is never broken across lines.

    Label and link share a line under the text column when both fit in its
    `room` cells; else the link gets its own line: under the text column if
    it fits there, else from the left edge, where it has the log's whole
    `width`, and is cut in its middle (the link keeping its whole target)
    only if even that is too narrow.
    """
    label, url = attachment.label, url_text(attachment)
    if label.cell_len + url.cell_len <= room:
        return [(Text.assemble(label, url), True)]
    label = label.copy()
    label.truncate(room, overflow="ellipsis")  # a long type in a narrow log
    rows: list[Row] = [(label, True)]
    if url.cell_len <= room:
        rows.append((url, True))
    else:
        rows.append((url_text(attachment, width), False))
    return rows


def message_lines(
    message: Message,
    width: int,
    console: Console,
    *,
    tz: tzinfo | None,
    now: datetime | None,
    highlights: Sequence[tuple[int, int]] = (),
    marks: Sequence[Mark] = (),
    mine: bool = False,
) -> list[Text]:
    """One message as lines of at most `width` cells: its text lines up under itself,
    after the time and role, and links stay whole (`attachment_rows`)."""
    parts = message_parts(message, tz=tz, now=now, highlights=highlights, marks=marks)
    # The user's own messages (sent in this run) show as "you".
    who = Text("you", "bold magenta") if mine else parts.who
    head = Text.assemble(parts.when, " ", (who.plain.rjust(8), who.style), " ")
    room = max(10, width - head.cell_len)
    text = parts.text
    alone = not parts.attachments and parts.more is None
    if alone and text.cell_len <= room and "\n" not in text.plain:
        return [head.append_text(text)]
    indent = " " * head.cell_len
    lines: list[Text] = []
    for line, under in _body_rows(parts, width, room, console):
        if not lines:
            lines.append(Text.assemble(head, line))
        else:
            lines.append(Text.assemble(indent, line) if under else line)
    return lines or [head]


def _body_rows(parts: MessageParts, width: int, room: int, console: Console) -> list[Row]:
    """The lines of a message's body: its text wrapped, then each attachment."""
    rows: list[Row] = []
    if parts.text:
        rows.extend((line, True) for line in parts.text.wrap(console, room, overflow="fold"))
    for attachment in parts.attachments:
        rows.extend(attachment_rows(attachment, width, room))
    if parts.more is not None:
        rows.extend((line, True) for line in parts.more.wrap(console, room, overflow="fold"))
    return rows


def _position_of(items: Sequence[TimelineItem], wanted: TimelineItem) -> int | None:
    """Where `wanted` (that very object) is in `items`, looking from the end."""
    for position in range(len(items) - 1, -1, -1):
        if items[position] is wanted:
            return position
    return None


class AllLines(Sequence[Strip]):
    """Every line of a view, wrapped on demand (for tests, and what RichLog's `lines` was).

    Its length wraps every item once for the current width: fine for a test
    or a copy, not for each frame.
    """

    def __init__(self, view: TimelineView) -> None:
        self._view = view

    def __len__(self) -> int:
        self._view.measure_all()
        return self._view.line_count

    @overload
    def __getitem__(self, index: int) -> Strip: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Strip]: ...
    def __getitem__(self, index: int | slice) -> Strip | Sequence[Strip]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(index)
        return self._view.line_strip(index)

    def __iter__(self) -> Iterator[Strip]:
        for index in range(len(self)):
            yield self._view.line_strip(index)


class TimelineView(ScrollView, can_focus=True):
    """The timeline's lines, of which only those on screen are wrapped and drawn."""

    # A self-contained widget's look (RichLog's): the scrollbar is always
    # there, as one that came and went would change the width the text is
    # wrapped to and wrap it all again.
    DEFAULT_CSS = """
    TimelineView {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        overflow-x: hidden;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    # On the focused view itself, so they win over the scroll bindings' own `end`.
    BINDINGS = [
        Binding("end", "newest", "Newest", id="log.end"),
        Binding("G", "newest", "Newest", show=False, id="log.end_vi"),
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

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        #: Per message id, the spans of its text to highlight (the open conversation's).
        self.highlights: Mapping[str, Sequence[tuple[int, int]]] = {}
        #: Ids of the messages the user sent (their role shows as "you").
        self.mine: Container[str] = frozenset()
        #: Items beyond this many are dropped from the front.
        self.keep = KEEP_ITEMS
        #: Whether the view stays at the newest line as items arrive and wrap.
        self.stick_to_end = True
        self._items: list[TimelineItem] = []
        #: The number, since the view was filled, of `_items[0]`: wrapped lines are
        #: cached by that number, which a drop from the front does not change.
        self._base = 0
        #: Heights: exact for the items wrapped, estimates for the others until they show.
        self._index = LineIndex()
        self._exact = bytearray()
        #: The number (as `_base` counts) of the first item whose height is no
        #: longer the average guessed at `fill`: the items before are estimated
        #: a chunk at a time between frames (`_refine`).
        self._rough = 0
        self._refining = False
        self._wrapped: LRUCache[int, Wrapped] = LRUCache(WRAP_CACHE)
        self._wrapped_width = 0
        self._now: datetime | None = None
        self._settling = False
        #: While a frame is drawn: the view's style and width, the same for each line.
        self._frame: tuple[Style, int] | None = None
        #: Search matches per item number (as `_base` counts): (start, end, current).
        self._marks: dict[int, list[tuple[int, int, bool]]] = {}

    # -- content ----------------------------------------------------------------------

    @property
    def items(self) -> Sequence[TimelineItem]:
        """The items the view holds, oldest first."""
        return self._items

    @property
    def line_count(self) -> int:
        """Lines of all items (estimates for those not wrapped yet)."""
        return self._index.total

    @property
    def lines(self) -> AllLines:
        """Every line, as RichLog had them (wraps them all: for tests and copies)."""
        return AllLines(self)

    def wrap_width(self) -> int:
        """The width items are wrapped to."""
        width = self.scrollable_content_region.width
        return width if width > INDENT + 10 else FALLBACK_WIDTH

    def fill(self, items: Sequence[TimelineItem], now: datetime | None) -> None:
        """Hold these items instead (nothing is wrapped until it shows)."""
        self._items = list(items[-self.keep :]) if len(items) > self.keep else list(items)
        self._base = 0
        self._now = now
        self._wrapped.clear()
        self._wrapped_width = self.wrap_width()
        self._reindex()
        self._update_size()
        # Other items under the same lines: a scroll that lands where the view
        # was would not redraw them. And once more after the next refresh: a
        # layout in the same frame (a label next to the log changing width)
        # clears the screen's list of widgets to repaint, this one with it.
        self.refresh()
        self.call_after_refresh(self.refresh)

    def extend(self, items: Sequence[TimelineItem], now: datetime | None) -> None:
        """Add items at the end: the index grows by one estimate each."""
        self._now = now
        self._items.extend(items)
        self._exact.extend(bytes(len(items)))
        append = self._index.append
        for height in self._estimates(items):
            append(height)
        excess = len(self._items) - self.keep
        if excess > self.keep // 4:
            self._drop_front(excess)
        self._update_size()
        self.refresh()

    def _drop_front(self, count: int) -> None:
        lines = self._index.drop_front(count)
        del self._items[:count]
        del self._exact[:count]
        self._base += count
        self.text_selection_cleared()
        if not self.stick_to_end:
            # The reader's lines moved up by what was dropped: stay on them.
            self.scroll_to(y=max(0, self.scroll_y - lines), animate=False)

    def text_selection_cleared(self) -> None:
        """Forget a selection: its lines no longer mean what they did."""
        if self.is_mounted and self.text_selection is not None:
            self.screen.clear_selection()

    def rewrap(self) -> None:
        """Wrap for the current width (lazily), keeping the reader on the same item."""
        width = self.wrap_width()
        if width == self._wrapped_width:
            return
        item, offset = self._index.find(round(self.scroll_y))
        self._wrapped.clear()
        self._wrapped_width = width
        self._reindex()
        self._update_size()
        if not self.stick_to_end and self._items:
            self._measure(self._index.start(item), self.size.height)
            offset = min(offset, self._index.height(item) - 1)
            self.scroll_to(y=self._index.start(item) + offset, animate=False)
        self.settle()
        self.refresh()

    def _update_size(self) -> None:
        self.virtual_size = Size(self._wrapped_width, self._index.total)

    # -- wrapping ---------------------------------------------------------------------

    def item_lines(self, item: TimelineItem, width: int, key: int | None = None) -> list[Text]:
        """An item as lines of at most `width` cells (`key`: its number, for its marks)."""
        if isinstance(item, Message):
            spans = self.highlights.get(item.id, ())
            found = self._marks.get(key, ()) if key is not None else ()
            marks: list[Mark] = []
            if found:
                match = self.get_component_rich_style("timeline--match", partial=True)
                current = self.get_component_rich_style("timeline--match-current", partial=True)
                marks = [(start, end, current if on else match) for start, end, on in found]
            return message_lines(
                item,
                width,
                self.app.console,
                tz=self.tz,
                now=self._now,
                highlights=spans,
                marks=marks,
                mine=item.id in self.mine,
            )
        if isinstance(item, Pending):
            return list(pending_text(item, width, self.app.console).split("\n"))
        return marker_lines(item.label, width)

    def set_marks(self, marks: dict[int, list[tuple[int, int, bool]]]) -> None:
        """Show these search matches instead (keyed by item number); wraps what changed."""
        changed = self._marks.keys() | marks.keys()
        self._marks = marks
        for key in changed:
            self._wrapped.discard(key)
        self.refresh()

    @property
    def base(self) -> int:
        """The number of the first item held (items are numbered from the last `fill`)."""
        return self._base

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
        parent = self.parent
        if isinstance(parent, MessageLog):
            parent.leave_end(by_reader=False)
        target = max(0, start - height // 3) if size < height else start
        self._measure(target, height)
        self._update_size()
        self.scroll_to(y=target, animate=False)

    def _reindex(self) -> None:
        """Heights for every item, none exact: the newest estimated, the others their
        average until `_refine` estimates them."""
        count = len(self._items)
        first = max(0, count - ESTIMATE_CHUNK)
        newest = self._estimates(self._items[first:])
        guess = max(1, round(sum(newest) / len(newest))) if newest else 1
        self._index.reset_uniform(count, guess)
        self._index.replace(first, newest)
        self._exact = bytearray(count)
        self._rough = self._base + first
        self._refine_later()

    def _refine_later(self) -> None:
        if not self._refining and self._rough > self._base:
            self._refining = True
            # A callback in the view's queue: keys and frames queued before it
            # go first, and each chunk queues the next behind what came since.
            self.call_later(self._refine)

    def _refine(self) -> None:
        """Estimate the next chunk of guessed heights (newest first), the reader kept
        on the same line of the same item."""
        self._refining = False
        end = self._rough - self._base
        if end <= 0:
            return
        first = max(0, end - ESTIMATE_CHUNK)
        index, exact = self._index, self._exact
        heights = self._estimates(self._items[first:end])
        if 1 in exact[first:end]:
            # Those already wrapped keep their height.
            heights = [
                index.height(first + k) if exact[first + k] else height
                for k, height in enumerate(heights)
            ]
        top, offset = index.find(round(self.scroll_y))
        above = index.start(top)
        index.replace(first, heights)
        self._rough = self._base + first
        self._update_size()
        if self.stick_to_end:
            self.settle()
        elif index.start(top) != above and self._items:
            self.text_selection_cleared()
            offset = min(offset, index.height(top) - 1)
            self.scroll_to(y=index.start(top) + offset, animate=False)
        self._refine_later()

    def _estimates(self, items: Sequence[TimelineItem]) -> list[int]:
        """Heights guessed from lengths alone, good enough for the scrollbar until
        the items show (wrapping them all would cost what the view is there to save)."""
        width = self._wrapped_width or FALLBACK_WIDTH
        # Words wrap before the edge: about a tenth of each line is left blank.
        room = max(10, (width - INDENT) * 9 // 10)
        heights: list[int] = []
        add = heights.append
        # Run per item, 100,000 times for a long conversation: comparisons, not min().
        chars, newlines, attached = MAX_SHOWN_CHARS, MAX_SHOWN_LINES, MAX_SHOWN_ATTACHMENTS
        for item in items:
            if isinstance(item, Message):
                text = item.message or ""
                size = len(text)
                lines = 1 + (size if size < chars else chars) // room
                if "\n" in text:
                    count = text.count("\n", 0, chars)
                    lines += count if count < newlines else newlines
                if item.attachments:
                    count = len(item.attachments)
                    lines += 2 * (count if count < attached else attached)
                add(lines)
            elif isinstance(item, Pending):
                add(1 + len(item.text) // room)
            else:
                add(1 + len(item.label) // max(10, width * 9 // 10))
        return heights

    def _wrap(self, position: int) -> Wrapped:
        """Item `position`'s lines, wrapped for the current width (and its height made exact)."""
        key = self._base + position
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            width = self._wrapped_width
            console = self.app.console
            lines: list[list[Segment]] = []
            widths: list[int] = []
            for line in self.item_lines(self._items[position], width, key):
                segments = line.render(console)
                if line.style:
                    # Text.render leaves a text's own style to its caller when
                    # it has no spans (a link, a divider).
                    segments = Segment.apply_style(segments, console.get_style(line.style))
                lines.append(list(segments))
                widths.append(line.cell_len)
            wrapped = (lines, widths)
            self._wrapped.set(key, wrapped)
        if not self._exact[position]:
            self._exact[position] = 1
            self._index.set(position, len(wrapped[0]))
        return wrapped

    def _measure(self, first: int, count: int) -> bool:
        """Wrap the items under lines first..first+count; whether any height changed."""
        if not self._items or count <= 0:
            return False
        index = self._index
        total_before = index.total
        position, _ = index.find(first)
        line = index.start(position)
        end = first + count
        while position < len(self._items) and line < end:
            if not self._exact[position]:
                self._wrap(position)
            line += index.height(position)
            position += 1
        return index.total != total_before

    def measure_before(self, position: int) -> None:
        """Make the heights of the items above `position` exact: a place kept under
        items put on top must not move by the error of their estimates."""
        changed = False
        for above in range(min(position, len(self._items))):
            if not self._exact[above]:
                self._wrap(above)
                changed = True
        if changed:
            self._update_size()

    def measure_all(self) -> None:
        """Make every height exact (wraps every item once for this width)."""
        changed = False
        for position, exact in enumerate(self._exact):
            if not exact:
                self._wrap(position)
                changed = True
        if changed:
            self._update_size()

    def settle(self) -> None:
        """Wrap what shows; at the end, stay there as the last items find their height."""
        if self._settling or not self.is_mounted:
            return
        self._settling = True
        try:
            height = self.scrollable_content_region.height
            for _ in range(SETTLE_ROUNDS):
                changed = self._measure(round(self.scroll_y), height)
                if changed:
                    self._update_size()
                if not self.stick_to_end:
                    break
                end = self.max_scroll_y
                if round(self.scroll_y) == end and not changed:
                    break
                self.scroll_to(y=end, animate=False)
        finally:
            self._settling = False

    # -- drawing ----------------------------------------------------------------------

    def line_strip(self, line: int) -> Strip:
        """Line `line` of the whole timeline, as wrapped for the current width."""
        segments, cells = self._line(line)
        return Strip(segments, cells)

    def _line(self, line: int) -> tuple[list[Segment], int]:
        """Line `line`'s segments and width in cells."""
        position, offset = self._index.find(line)
        lines, widths = self._wrap(position)
        if offset < len(lines):
            return lines[offset], widths[offset]
        return [Segment(" " * self._wrapped_width)], self._wrapped_width

    def render_lines(self, crop: Region) -> list[Strip]:
        # Whatever moved the view (a layout, an arrival, a scroll), what is
        # drawn has been wrapped and measured first. Measuring from the top
        # line down moves no line on screen; the size and, at the end, the
        # scroll position follow after this frame: a refresh asked for while
        # a frame is drawn can be lost.
        if not self._settling and self._measure(self.scroll_offset.y, crop.bottom):
            self.call_after_refresh(self._resettle)
        # Looked up once, not for each line: the style alone (blended with the
        # ancestors' backgrounds) was a fifth of a page-down's time.
        self._frame = (self.rich_style, self.scrollable_content_region.width)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def _resettle(self) -> None:
        self._update_size()
        self.settle()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        if self._frame is None:
            style, width = self.rich_style, self.scrollable_content_region.width
        else:
            style, width = self._frame
        if line >= self._index.total or not self._items:
            return Strip.blank(width, style)
        # A new Strip for each frame, not kept: a Strip's caches would keep what
        # is made from it. Fitted to the width here rather than by
        # Strip.crop_extend, which caches the strip itself when it fits already:
        # a cycle that only the garbage collector's passes free.
        segments, cells = self._line(line)
        end = scroll_x + width
        if cells != end:
            segments = Segment.adjust_line_length(segments, end, style)
        strip = Strip(Segment.apply_style(segments, style), end)
        if scroll_x:
            strip = strip.crop(scroll_x, end)
        return self._selected(strip.apply_offsets(scroll_x, line), line)

    def _selected(self, strip: Strip, line: int) -> Strip:
        """The strip with the selected part (drag) shown as selected."""
        selection = self.text_selection
        if selection is None:
            return strip
        span = selection.get_span(line)
        if span is None:
            return strip
        start, end = span
        length = len(strip.text)
        end = length if end == -1 else min(end, length)
        if start >= end:
            return strip
        cut = [strip.index_to_cell_position(start), strip.index_to_cell_position(end)]
        before, chosen, after = strip.divide([*cut, strip.cell_length])
        style = self.screen.get_component_rich_style("screen--selection")
        chosen = Strip(Segment.apply_style(chosen, post_style=style), chosen.cell_length)
        return Strip.join([before, chosen, after])

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

    def on_resize(self) -> None:
        self.rewrap()
        self.settle()

    # -- scrolling --------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.settle()
        parent = self.parent
        if isinstance(parent, MessageLog):
            parent.scrolled()

    def action_newest(self) -> None:
        """Back to the newest message, following again."""
        parent = self.parent
        if isinstance(parent, MessageLog):
            parent.action_jump_to_end()

    def action_search_step(self, step: int) -> None:
        """The next (1) or previous (-1) search match; a plain key when nothing is searched."""
        parent = self.parent
        if not isinstance(parent, MessageLog) or not parent.searching:
            raise SkipAction()
        parent.search_step(step)

    def action_clear_search(self) -> None:
        """Forget the search, else the filter; without either, escape goes on to the list."""
        parent = self.parent
        if not isinstance(parent, MessageLog):
            raise SkipAction()
        if parent.searching:
            parent.clear_search()
        elif parent.filtered:
            parent.clear_filter()
        else:
            raise SkipAction()

    def message_to_copy(self) -> Message | None:
        """The message `y` copies: the current search match's, else the newest whose
        first line is on screen."""
        parent = self.parent
        if isinstance(parent, MessageLog):
            matched = parent.current_match_item()
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
        parent = self.parent
        if message is None or not isinstance(parent, MessageLog):
            return
        parent.post_message(MessageLog.MarkUnread(message.id))

    def action_first_unread(self) -> None:
        """To the first message after "new since you left"."""
        for position, item in enumerate(self._items):
            if isinstance(item, Marker) and item.kind == "new_since":
                self.reveal(position)
                return
        self.notify("nothing unread from before this start", markup=False)

    async def action_filter_log(self) -> None:
        """Show only some messages: by text, by role (`@customer`, `@agent`, ...)."""
        parent = self.parent
        if isinstance(parent, MessageLog):
            await parent.open_filter()

    # Scrolls are immediate (a ScrollView scrolls without waiting for a
    # refresh): a key pressed while arrivals are drawn cannot be undone by a
    # scroll to the end queued before it. A key that leaves the end stops the
    # following first, so an arrival in between does not pull the view back.
    def _leave_end(self) -> None:
        parent = self.parent
        if isinstance(parent, MessageLog) and self.scroll_y <= 0:
            parent.reached_top()  # a key up at the top: ask for older messages
        if not self.allow_vertical_scroll:
            raise SkipAction()
        if isinstance(parent, MessageLog):
            parent.leave_end()

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
        parent = self.parent
        if isinstance(parent, MessageLog) and self.scroll_y <= 0:
            parent.reached_top()  # the wheel up at the top: ask for older messages
        if isinstance(parent, MessageLog) and self.allow_vertical_scroll:
            parent.leave_end()
        super()._on_mouse_scroll_up(event)

    def scroll_to_item(self, position: int) -> None:
        """Show item `position` at the top (or as near as the end allows)."""
        if not 0 <= position < len(self._items):
            return
        parent = self.parent
        if isinstance(parent, MessageLog):
            parent.leave_end(by_reader=False)
        start = self._index.start(position)
        self._measure(start, self.scrollable_content_region.height)
        self._update_size()
        self.scroll_to(y=self._index.start(position), animate=False)


class SearchBox(OrderedInput):
    """Where the reader types what to find in the open conversation (as they type)."""

    BINDINGS = [
        Binding("enter", "step(1)", "Next match", id="search.next"),
        Binding("shift+enter", "step(-1)", "Previous match", show=False, id="search.previous"),
        Binding("ctrl+r", "toggle_regex", "Regex on/off", id="search.regex"),
        Binding("ctrl+o", "ask_server", "Search all history", id="search.server"),
        Binding("escape", "done", "Back to the log", id="search.done"),
    ]

    class AskServer(TextualMessage):
        """Search the whole conversation on the server, not only what is loaded."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Step(TextualMessage):
        """Go to the next (1) or previous (-1) match."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    class ToggleRegex(TextualMessage):
        """Read the query as a regular expression, or as literal text."""

    def action_step(self, step: int) -> None:
        self.post_message(self.Step(step))

    def action_toggle_regex(self) -> None:
        self.post_message(self.ToggleRegex())

    def action_ask_server(self) -> None:
        if self.value.strip():
            self.post_message(self.AskServer(self.value.strip()))

    def action_done(self) -> None:
        # At once, not through a message: a key typed right after escape
        # (n, N) belongs to the log, and must not land in this box.
        for log in self.ancestors:
            if isinstance(log, MessageLog):
                log.search_done()


class FilterBox(OrderedInput):
    """What the log shows: words to find, `@customer`, `@agent`, `@staff`, `@other`."""

    BINDINGS = [
        Binding("enter", "done", "Back to the log", id="filter.done"),
        Binding("escape", "clear", "Clear the filter", id="filter.clear"),
    ]

    def _log(self) -> MessageLog | None:
        for log in self.ancestors:
            if isinstance(log, MessageLog):
                return log
        return None

    # Directly, not through a message: the next key belongs to the log.
    def action_done(self) -> None:
        log = self._log()
        if log is not None:
            log.screen.set_focus(log.lines)

    def action_clear(self) -> None:
        log = self._log()
        if log is not None:
            log.clear_filter()


class SearchKeys:
    """The search box's own keys, for the help (not Input's usual editing keys)."""

    BINDINGS = SearchBox.BINDINGS


class FilterKeys:
    """The filter box's own keys, for the help (not Input's usual editing keys)."""

    BINDINGS = FilterBox.BINDINGS


class MessageLog(Vertical):
    """The timeline of the open conversation."""

    BINDINGS = [
        Binding("ctrl+f", "search", "Search", id="log.search"),
    ]

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
        #: The search: its text, whether it is a regex, its matches (item numbers
        #: as the view counts them), and which one the count points at.
        self._query = ""
        self._regex = False
        self._pattern: re.Pattern[str] | None = None
        self._hits: list[Hit] = []
        self._current = 0
        self._error = ""
        #: The item at the bottom of the view when the search box opened.
        self._anchor = 0
        #: The log's filter, and while one is set, every item (the view holds
        #: those it keeps).
        self._filter = LogFilter()
        self._all: list[TimelineItem] | None = None
        #: What the search looks in: the view's items' texts, made at the first
        #: search after the view was filled (None until then).
        self._corpus: Corpus | None = None
        #: The reader scrolled up since the conversation was shown (not our own scrolling).
        self._reader_up = False
        self._mine: Container[str] = frozenset()
        #: Asked for what follows the end of a window of history (once per arrival there).
        self._asked_newer = False
        #: The server is searching the whole conversation (ctrl+o): the count says so.
        self._asking = False

    def compose(self) -> ComposeResult:
        view = TimelineView(tz=self.tz, id="lines")
        view.highlights = self._highlights
        view.mine = self._mine
        yield view
        yield Label("", id="new-marker")

    @property
    def lines(self) -> TimelineView:
        """The timeline view itself."""
        return self.query_one(TimelineView)

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
                found = _position_of(view.items, reader)
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
            items = kept(items, self._filter)
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

    def _kept(self, items: Sequence[TimelineItem]) -> Sequence[TimelineItem]:
        """Those of `items` the view holds: all, or while filtered those kept."""
        return items if self._all is None else kept(items, self._filter)

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

    # -- search -----------------------------------------------------------------------

    def _bars(self) -> Vertical:
        """The boxes under the log (search above filter), made the first time one opens."""
        found = self.query("#log-bars")
        if found:
            return found.only_one(Vertical)
        bars = Vertical(id="log-bars")
        self.mount(bars, before=self.query_one("#new-marker"))
        return bars

    @property
    def searching(self) -> bool:
        """Whether a search is active (its matches marked, n and N move between them)."""
        return self._pattern is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Typing a reply (the reply box is docked in the log): ctrl+f is not a search
        # that would take the keys away from the draft.
        return not (action == "search" and isinstance(self.screen.focused, TextArea))

    async def action_search(self) -> None:
        """Open the search box (with the last search, to change it)."""
        self.add_class("-searching")
        view = self.lines
        self._anchor = view.base + view.bottom_item()
        if not self.query("#search-bar"):
            # Mounted the first time it is needed: a text box's cursor and
            # timers cost nothing to a reader who never searches.
            box = SearchBox(placeholder="search (ctrl+r: regex)", id="search")
            bar = Horizontal(box, Label("", id="search-count"), id="search-bar")
            await self._bars().mount(bar, before=0)
        self.screen.set_focus(self.query_one(SearchBox))
        self._show_count()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "log-filter":
            event.stop()
            self._filter_changed(event.value)
            return
        if event.input.id != "search":
            return
        event.stop()
        self._query = event.value
        self._compile()
        self._find(jump=True)

    def on_search_box_step(self, event: SearchBox.Step) -> None:
        event.stop()
        self.search_step(event.step)

    def on_search_box_toggle_regex(self, event: SearchBox.ToggleRegex) -> None:
        event.stop()
        self._regex = not self._regex
        self._compile()
        self._find(jump=True)

    def search_done(self) -> None:
        """Back to the log from the search box, the matches still marked."""
        if not self._query:
            self.clear_search()
            return
        self.screen.set_focus(self.lines)

    def _compile(self) -> None:
        self._pattern = None
        self._error = ""
        if not self._query:
            return
        try:
            self._pattern = compile_query(self._query, regex=self._regex)
        except re.error as exc:
            self._error = f"not a valid regex: {exc}"

    def _find(self, *, jump: bool) -> None:
        """Search everything the view holds; point at the first match from the top of the view."""
        pattern = self._pattern
        if pattern is None:
            self._hits = []
        elif self._regex:
            self._hits = self._searched().find(pattern)
        else:
            self._hits = self._searched().find_text(self._query)
        if self._hits:
            # Back from where the search began, as a reader searches a chat's
            # history: the nearest match at or above the bottom of the view then.
            anchor = self._anchor
            before = [n for n, hit in enumerate(self._hits) if hit.item <= anchor]
            self._current = before[-1] if before else 0
        self._mark()
        if jump:
            self._jump()

    def _point_at(self, item: TimelineItem, start: int) -> None:
        """Make the match at `start` in `item` (found by identity) the current one."""
        items = self.lines.items
        base = self.lines.base
        for n, hit in enumerate(self._hits):
            number = hit.item - base
            if hit.start == start and 0 <= number < len(items) and items[number] is item:
                self._current = n
                self._anchor = hit.item
                self._mark()
                return

    def _searched(self) -> Corpus:
        """The corpus of what the view holds, up to date."""
        view = self.lines
        corpus = self._corpus
        if corpus is None:
            corpus = self._corpus = Corpus()
            corpus.reset(view.items, view.base)
        else:
            corpus.drop_front(view.base)
        return corpus

    def _found_more(self, items: Sequence[TimelineItem], first: int) -> None:
        """Arrivals searched too: the count grows, the reader stays where they are."""
        assert self._pattern is not None
        more = find_hits(items, self._pattern, first=first)
        if more:
            self._hits.extend(more)
            self._mark()

    def _mark(self) -> None:
        view = self.lines
        base = view.base
        # Matches in items the view dropped (a long session) are gone with them.
        if self._hits and self._hits[0].item < base:
            dropped = sum(1 for hit in self._hits if hit.item < base)
            self._hits = self._hits[dropped:]
            self._current = max(0, self._current - dropped)
        marks: dict[int, list[tuple[int, int, bool]]] = {}
        for number, hit in enumerate(self._hits):
            marks.setdefault(hit.item, []).append((hit.start, hit.end, number == self._current))
        view.set_marks(marks)
        self._show_count()

    def _jump(self) -> None:
        if self._hits:
            view = self.lines
            view.reveal(self._hits[self._current].item - view.base)

    def current_match_item(self) -> int | None:
        """The number of the item holding the current search match, if searching."""
        if self._pattern is None or not self._hits:
            return None
        return self._hits[self._current].item

    def search_step(self, step: int) -> None:
        """Go to the next (1, newer) or previous (-1, older) match, round the ends."""
        if not self._hits:
            return
        self._current = (self._current + step) % len(self._hits)
        self._mark()
        self._jump()

    def clear_search(self) -> None:
        """Forget the search and close its box."""
        self._query = ""
        self._pattern = None
        self._hits = []
        self._current = 0
        self.lines.set_marks({})
        self.remove_class("-searching")
        for box in self.query(SearchBox):
            with box.prevent(Input.Changed):
                box.value = ""
            if self.screen.focused is box:
                self.screen.set_focus(self.lines)

    def asking_server(self, asking: bool) -> None:
        """Say in the search's count that the server is searching the whole conversation."""
        self._asking = asking
        self._show_count()

    def _show_count(self) -> None:
        if not self.query("#search-count"):
            return
        label = self.query_one("#search-count", Label)
        mode = " · regex" if self._regex else ""
        if self._asking:
            words = "searching the whole conversation…"
        elif self._error:
            words = self._error
        elif not self._query:
            words = "type to search"
        elif not self._hits:
            words = "no matches"
        else:
            words = f"{self._current + 1} of {len(self._hits)}"
        label.update(f" {words}{mode} ")

    # -- filter -----------------------------------------------------------------------

    @property
    def filtered(self) -> bool:
        """Whether the log shows only some messages."""
        return self._all is not None

    def _through_filter(self, items: Sequence[TimelineItem]) -> Sequence[TimelineItem]:
        """What the view holds of these items: all, or while filtered those kept."""
        if self._all is None:
            return items
        self._all = list(items)
        shown = kept(items, self._filter)
        self._show_filter()
        return shown

    async def open_filter(self) -> None:
        """Open the filter box (with the filter as it is, to change it)."""
        self.add_class("-filtering")
        if not self.query("#filter-bar"):
            box = FilterBox(
                placeholder="filter: words, @customer @agent @staff @other", id="log-filter"
            )
            bar = Horizontal(box, Label("", id="filter-count"), id="filter-bar")
            await self._bars().mount(bar)
        self.screen.set_focus(self.query_one(FilterBox))
        self._show_filter()

    def _filter_changed(self, text: str) -> None:
        log_filter = LogFilter.parse(text)
        if log_filter == self._filter:
            return
        view = self.lines
        every = self._all if self._all is not None else list(view.items)
        top = view.items[view.top_item()] if view.items and not self._following else None
        self._filter = log_filter
        self._all = every if log_filter else None
        view.fill(kept(every, log_filter) if log_filter else every, view._now)
        self._corpus = None
        self._place(top)
        if self._pattern is not None:
            self._find(jump=False)
        self._show_filter()

    def _place(self, top: TimelineItem | None) -> None:
        """After the view was filled again: at the end if following, else near `top`."""
        view = self.lines
        if self._following or top is None:
            view.scroll_to(y=view.max_scroll_y, animate=False)
            view.settle()
            return
        items = view.items
        position = next((n for n, item in enumerate(items) if item is top), None)
        if position is None:
            # Not shown now: the nearest item after it that is.
            every = self._all if self._all is not None else items
            ids = {id(item): n for n, item in enumerate(every)}
            after = ids.get(id(top), 0)
            position = next(
                (n for n, item in enumerate(items) if ids.get(id(item), -1) >= after),
                len(items) - 1,
            )
        self._redrawing = True
        try:
            view.scroll_to_item(max(0, position))
        finally:
            self._redrawing = False

    def clear_filter(self) -> None:
        """Show every message again, and close the filter box."""
        self.remove_class("-filtering")
        for box in self.query(FilterBox):
            with box.prevent(Input.Changed):
                box.value = ""
            if self.screen.focused is box:
                self.screen.set_focus(self.lines)
        self._filter_changed("")

    def _show_filter(self) -> None:
        if not self.query("#filter-count"):
            return
        label = self.query_one("#filter-count", Label)
        if self._all is None:
            label.update(" showing every message ")
            return
        shown = sum(1 for item in self.lines.items if isinstance(item, Message))
        total = sum(1 for item in self._all if isinstance(item, Message))
        label.update(f" showing {shown:,} of {total:,} · filter: {self._filter.describe()} ")
