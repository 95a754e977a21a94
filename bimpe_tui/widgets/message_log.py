"""The open conversation's messages: follows the tail, or shows "N new ↓" when scrolled up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo

from rich.console import RenderableType
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message as TextualMessage
from textual.reactive import reactive
from textual.widgets import Label, RichLog

from ..api.models import Message
from ..book import Marker, TimelineItem
from ..render import marker_text, message_row

#: Lines the log widget keeps; a conversation's full timeline lives in the Book.
MAX_LOG_LINES = 20_000
#: Timeline items rendered when a conversation is opened; the newest ones.
SHOWN_ON_OPEN = 1_000
#: Messages per grid, i.e. per write: a burst becomes a few big writes.
BATCH = 200


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column("time", no_wrap=True, style="dim")
    grid.add_column("role", no_wrap=True, justify="right", min_width=8)
    grid.add_column("text", ratio=1, overflow="fold")
    return grid


class _Lines(RichLog):
    """A RichLog that tells its parent when the user scrolls to or away from the end."""

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        parent = self.parent
        if isinstance(parent, MessageLog):
            parent.scrolled()


class MessageLog(Vertical):
    """The timeline of the open conversation."""

    BINDINGS = [
        Binding("end", "jump_to_end", "Newest", id="log.end"),
        Binding("G", "jump_to_end", "Newest", show=False, id="log.end_vi"),
    ]

    class ReachedEnd(TextualMessage):
        """The newest message is on screen again (the user can be said to have seen it)."""

    #: Messages that arrived while the user was scrolled up.
    new_count: reactive[int] = reactive(0)

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self._following = True

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

    def _renderables(
        self, items: Iterable[TimelineItem], now: datetime | None
    ) -> list[RenderableType]:
        """Messages as rows of a grid (so long text wraps under itself), markers between."""
        out: list[RenderableType] = []
        grid: Table | None = None
        for item in items:
            if isinstance(item, Message):
                if grid is None or grid.row_count >= BATCH:
                    grid = _grid()
                    out.append(grid)
                grid.add_row(*message_row(item, tz=self.tz, now=now))
            elif isinstance(item, Marker):
                out.append(marker_text(item.label))
                grid = None
        return out

    def _write(self, renderables: Sequence[RenderableType], follow: bool) -> None:
        lines = self.lines
        for renderable in renderables:
            lines.write(renderable, scroll_end=follow)

    def show(
        self, title: str, items: Sequence[TimelineItem], *, now: datetime | None = None
    ) -> None:
        """Replace the content with a conversation's newest items and follow its tail."""
        self.border_title = title
        self.lines.clear()
        self._following = True
        self.new_count = 0
        hidden = len(items) - SHOWN_ON_OPEN
        shown = items[-SHOWN_ON_OPEN:] if hidden > 0 else items
        rendered = self._renderables(shown, now)
        if hidden > 0:
            rendered.insert(0, marker_text(f"{hidden:,} older items not shown"))
        self._write(rendered, follow=True)
        self.lines.scroll_end(animate=False, immediate=True)

    def append(self, items: Sequence[TimelineItem], *, now: datetime | None = None) -> None:
        """Add items at the end; follow them only if the user is at the end."""
        if not items:
            return
        follow = self._following
        self._write(self._renderables(items, now), follow=follow)
        if not follow:
            self.new_count += sum(1 for item in items if isinstance(item, Message))

    def scrolled(self) -> None:
        """Track whether the user left the end or came back to it."""
        lines = self.lines
        at_end = lines.scroll_y >= lines.max_scroll_y - 1
        if at_end and not self._following:
            self._following = True
            self.new_count = 0
            self.post_message(self.ReachedEnd())
        elif not at_end and self._following:
            self._following = False

    def action_jump_to_end(self) -> None:
        """Back to the newest message, following again."""
        self.lines.scroll_end(animate=False, immediate=True)
        self._following = True
        self.new_count = 0
        self.post_message(self.ReachedEnd())

    def watch_new_count(self, count: int) -> None:
        marker = self.query_one("#new-marker", Label)
        marker.update(f" {count} new ↓ (end) ")
        marker.display = count > 0
