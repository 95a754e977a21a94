"""A Line-API view of timeline items that wraps only the lines on screen.

Each item is wrapped when it first shows (and again only for a new width),
and a `LineIndex` maps items to the lines they start on. Every item of the
timeline is reachable by scrolling, and a flood costs what a trickle does
per frame: an arrival extends the index, it wraps nothing off screen.
`TimelineView` (timeline_view.py) adds the reader's keys to it.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import overload

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..api.models import Message
from ..book import MAX_TIMELINE, Pending, TimelineItem
from ..line_index import LineIndex
from ..render import Mark, marker_lines
from .compose import pending_text
from .timeline_lines import INDENT, estimate_heights, message_lines

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
#: Width used before the widget has been laid out.
FALLBACK_WIDTH = 100

#: An item wrapped: each line's segments, and each line's width in cells. Kept
#: instead of Strips, as a Strip holds seven caches, and in them the Strips made
#: from it for each frame (cropped, styled, offset): about 25 objects a line,
#: which the garbage collector then walks on each full pass.
Wrapped = tuple[list[list[Segment]], list[int]]


class AllLines(Sequence[Strip]):
    """Every line of a view, wrapped on demand (for tests, and what RichLog's `lines` was).

    Its length wraps every item once for the current width: fine for a test
    or a copy, not for each frame.
    """

    def __init__(self, view: LineView) -> None:
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


class LineView(ScrollView):
    """Timeline items as lines, of which only those on screen are wrapped and drawn.

    What each item looks like (times, roles, highlights, search marks) is drawn
    here too; the keys and the talk with the log are `TimelineView`'s.
    """

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
        """Heights guessed from lengths alone (`estimate_heights`) for the current width."""
        return estimate_heights(items, self._wrapped_width or FALLBACK_WIDTH)

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

    def on_resize(self) -> None:
        self.rewrap()
        self.settle()
