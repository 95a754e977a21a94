"""The open conversation's messages: follows the tail, or shows "N new ↓" when scrolled up."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.reactive import reactive
from textual.selection import Selection
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Label, RichLog

from ..api.models import Message
from ..book import Marker, Pending, TimelineItem
from ..render import AttachmentLine, MessageParts, marker_lines, message_parts, url_text
from .compose import pending_text

#: Lines the log widget keeps; a conversation's full timeline lives in the Book.
MAX_LOG_LINES = 20_000
#: Timeline items rendered when a conversation is opened; the newest ones.
SHOWN_ON_OPEN = 1_000
#: Most messages drawn from one burst: beyond this, the oldest of the burst are
#: left in the timeline (reopen the conversation to draw them), so a flood
#: never holds the UI loop for long.
BURST_DRAWN = 200
#: Arrivals are drawn at most this often (seconds): a flood costs a few draws.
DRAW_INTERVAL = 0.05
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


class _Lines(RichLog):
    """A RichLog that tells its parent when the user scrolls to or away from the end."""

    # On the focused log itself, so they win over RichLog's own `end`.
    BINDINGS = [
        Binding("end", "newest", "Newest", id="log.end"),
        Binding("G", "newest", "Newest", show=False, id="log.end_vi"),
    ]

    # Text selection (drag, then ctrl+c): RichLog draws strips without the
    # offsets Textual's selection reads, and has no text to give back.
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        strip = super().render_line(y).apply_offsets(scroll_x, index)
        selection = self.text_selection
        if selection is None or index >= len(self.lines):
            return strip
        span = selection.get_span(index)
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
        text = "\n".join(strip.text.rstrip() for strip in self.lines)
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    def action_newest(self) -> None:
        """Back to the newest message, following again."""
        parent = self.parent
        if isinstance(parent, MessageLog):
            parent.action_jump_to_end()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        parent = self.parent
        if isinstance(parent, MessageLog):
            parent.scrolled()

    # Following the end is a scroll RichLog makes after the next refresh. A key
    # that leaves the end, pressed before that refresh on a busy machine, would
    # be undone by it: the key stops the following at once, and its own
    # scroll is queued behind any scroll to the end still waiting.
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
        self.call_after_refresh(self.scroll_home)

    def action_scroll_up(self) -> None:
        self._leave_end()
        self.call_after_refresh(self.scroll_up)

    def action_page_up(self) -> None:
        self._leave_end()
        self.call_after_refresh(self.scroll_page_up)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        parent = self.parent
        if isinstance(parent, MessageLog) and self.scroll_y <= 0:
            parent.reached_top()  # the wheel up at the top: ask for older messages
        if isinstance(parent, MessageLog) and self.allow_vertical_scroll:
            parent.leave_end()
        super()._on_mouse_scroll_up(event)


class MessageLog(Vertical):
    """The timeline of the open conversation."""

    class ReachedEnd(TextualMessage):
        """The newest message is on screen again (the user can be said to have seen it)."""

    class NeedsRedraw(TextualMessage):
        """The width changed: the text, wrapped for the old width, must be drawn again."""

    class ReachedTop(TextualMessage):
        """The reader scrolled to the top, or pressed a key up there: time for older messages."""

    #: Messages that arrived while the user was scrolled up.
    new_count: reactive[int] = reactive(0)

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self._following = True
        self._drawn_width = 0
        self._pending: list[TimelineItem] = []
        self._pending_now: datetime | None = None
        self._flush_timer: Timer | None = None
        self._redrawing = False
        #: The reader scrolled up since the conversation was shown (not our own scrolling).
        self._reader_up = False
        #: Per message id, the spans of its text to highlight (the open conversation's).
        self.highlights: Mapping[str, Sequence[tuple[int, int]]] = {}
        #: Ids of the messages the user sent (their role shows as "you").
        self.mine: Container[str] = frozenset()

    def compose(self) -> ComposeResult:
        yield _Lines(id="lines", wrap=True, markup=False, highlight=False, max_lines=MAX_LOG_LINES)
        yield Label("", id="new-marker")

    @property
    def lines(self) -> RichLog:
        """The log widget itself."""
        return self.query_one(_Lines)

    @property
    def following(self) -> bool:
        """Whether the view is at the newest message."""
        return self._following

    def _width(self) -> int:
        width = self.lines.scrollable_content_region.width
        return width if width > INDENT + 10 else FALLBACK_WIDTH

    def _message_text(self, message: Message, width: int, now: datetime | None) -> Text:
        """One message, wrapped by us so its text lines up under itself and links stay whole."""
        spans = self.highlights.get(message.id, ())
        parts = message_parts(message, tz=self.tz, now=now, highlights=spans)
        who = Text("you", "bold magenta") if message.id in self.mine else parts.who
        head = Text.assemble(parts.when, " ", (who.plain.rjust(8), who.style), " ")
        room = max(10, width - head.cell_len)
        text = parts.text
        alone = not parts.attachments and parts.more is None
        if alone and text.cell_len <= room and "\n" not in text.plain:
            return head.append_text(text)
        indent = " " * head.cell_len
        for number, (line, under) in enumerate(self._body_rows(parts, width, room)):
            if number:
                head.append("\n" + indent if under else "\n")
            head.append_text(line)
        return head

    def _body_rows(self, parts: MessageParts, width: int, room: int) -> list[Row]:
        """The lines of a message's body: its text wrapped, then each attachment."""
        console = self.app.console
        rows: list[Row] = []
        if parts.text:
            rows.extend((line, True) for line in parts.text.wrap(console, room, overflow="fold"))
        for attachment in parts.attachments:
            rows.extend(attachment_rows(attachment, width, room))
        if parts.more is not None:
            rows.extend((line, True) for line in parts.more.wrap(console, room, overflow="fold"))
        return rows

    def _text(self, items: Iterable[TimelineItem], now: datetime | None) -> Text:
        """Items as one pre-wrapped Text: one write, no layout work for the log."""
        width = self._width()
        parts: list[Text] = []
        for item in items:
            if isinstance(item, Message):
                parts.append(self._message_text(item, width, now))
            elif isinstance(item, Marker):
                parts.append(marker_line(item.label, width))
            elif isinstance(item, Pending):
                parts.append(pending_text(item, width, self.app.console))
        return Text("\n", no_wrap=True, overflow="ignore").join(parts)

    def on_resize(self) -> None:
        if self._drawn_width and self._width() != self._drawn_width:
            self.post_message(self.NeedsRedraw())

    def _write(self, text: Text, follow: bool) -> None:
        self._drawn_width = self._width()
        if text.plain:
            # The text is wrapped already: giving the width skips RichLog's
            # measuring pass, and no_wrap its wrapping pass.
            self.lines.write(text, width=self._width(), scroll_end=follow)

    def show(
        self, title: str | Content, items: Sequence[TimelineItem], *, now: datetime | None = None
    ) -> None:
        """Replace the content with a conversation's newest items and follow its tail."""
        self._draw_all(title, items, now, follow=True)
        self._reader_up = False
        self._following = True
        self.new_count = 0
        self.lines.scroll_end(animate=False, immediate=True)

    def redraw(
        self,
        title: str | Content,
        items: Sequence[TimelineItem],
        *,
        now: datetime | None = None,
        above: Sequence[TimelineItem] = (),
        gone_above: Sequence[TimelineItem] = (),
    ) -> None:
        """Draw the same conversation again (for a new width), keeping the reader's place.

        A reader scrolled up stays scrolled up, with the "N new" count kept: a
        resize that lands late (a busy machine lays out after the first draw)
        must not count as having read to the end.

        `above`: items now drawn above what was drawn first (older messages put
        on top); `gone_above`: items drawn on top before and no longer (the
        "loading older messages…" line). The view moves by their lines, so the
        line the reader had at the top of the screen stays there.
        """
        if self._following:
            self.show(title, items, now=now)
            return
        lines = self.lines
        ratio = lines.scroll_y / lines.max_scroll_y if lines.max_scroll_y else 0.0
        old_y = round(lines.scroll_y)
        shift: int | None = None
        if above or gone_above:
            shift = self._line_count(above, now) - self._line_count(gone_above, now)
        # Scrolling done here is ours, not the reader's: it must not read as
        # "reached the end" (which would mark everything seen).
        self._redrawing = True
        try:
            self._draw_all(title, items, now, follow=False, cap=False)
        finally:
            self._redrawing = False

        def restore() -> None:
            y = round(ratio * lines.max_scroll_y) if shift is None else max(0, old_y + shift)
            lines.scroll_to(y=y, animate=False, immediate=True)

        if shift is not None:
            # At once too, inside the redraw: no frame shows the top in between.
            self._redrawing = True
            try:
                restore()
            finally:
                self._redrawing = False
        self.call_after_refresh(restore)

    def _draw_all(
        self,
        title: str | Content,
        items: Sequence[TimelineItem],
        now: datetime | None,
        *,
        follow: bool,
        cap: bool = True,
    ) -> None:
        self.border_title = title
        self._pending = []
        self.lines.clear()
        # A redraw draws all that is held: older messages the reader paged back to stay.
        hidden = len(items) - SHOWN_ON_OPEN if cap else 0
        shown = list(items[-SHOWN_ON_OPEN:] if hidden > 0 else items)
        if hidden > 0:
            shown.insert(0, Marker("info", f"{hidden:,} older items not shown"))
        self._write(self._text(shown, now), follow=follow)

    def append(self, items: Sequence[TimelineItem], *, now: datetime | None = None) -> None:
        """Add items at the end; they are drawn on the next tick, all arrivals at once."""
        if not items:
            return
        self._pending.extend(items)
        self._pending_now = now
        if not self._following:
            self.new_count += sum(1 for item in items if isinstance(item, Message))
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(DRAW_INTERVAL, self._draw_pending)

    def _draw_pending(self) -> None:
        self._flush_timer = None
        items, self._pending = self._pending, []
        shown: Sequence[TimelineItem] = items
        skipped = sum(1 for item in items[:-BURST_DRAWN] if isinstance(item, Message))
        if skipped:
            shown = [
                Marker("info", f"{skipped:,} more messages of this burst: reopen to see them"),
                *items[-BURST_DRAWN:],
            ]
        self._write(self._text(shown, self._pending_now), follow=self._following)

    def _line_count(self, items: Sequence[TimelineItem], now: datetime | None) -> int:
        """How many lines `items` take, drawn at the current width."""
        return self._text(items, now).plain.count("\n") + 1 if items else 0

    def reached_top(self) -> None:
        """The reader is at the top: say so (the screen loads older messages)."""
        self.post_message(self.ReachedTop())

    def scrolled(self) -> None:
        """Track whether the user left the end or came back to it."""
        if self._redrawing:
            return
        lines = self.lines
        if self._reader_up and lines.scroll_y <= 0 < lines.max_scroll_y:
            self._reader_up = False  # once per arrival at the top
            self.reached_top()
        at_end = lines.scroll_y >= lines.max_scroll_y - 1
        if at_end and not self._following:
            self._following = True
            self.new_count = 0
            self.post_message(self.ReachedEnd())
        elif not at_end and self._following:
            self._following = False

    def leave_end(self) -> None:
        """The reader is scrolling up: stop following now, before the scroll lands."""
        self._following = False
        self._reader_up = True

    def action_jump_to_end(self) -> None:
        """Back to the newest message, following again."""
        self._following = True
        if self._flush_timer is not None:
            # Draw what is waiting first, so the end we jump to is the real one.
            self._flush_timer.stop()
            self._draw_pending()
        self.lines.scroll_end(animate=False, immediate=True)
        self.new_count = 0
        self.post_message(self.ReachedEnd())

    def watch_new_count(self, count: int) -> None:
        marker = self.query_one("#new-marker", Label)
        marker.update(f" {count} new ↓ (end) ")
        marker.display = count > 0
