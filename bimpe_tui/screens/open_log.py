"""The open conversation's log, drawn from the monitor's events.

The monitor says what changed (a new window, arrivals, a message to reveal);
here the log is told, keeping the reader's place: the line at the top of the
screen stays there when older messages come on top or leave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..book import TimelineItem
from ..monitor import Appended, Reveal, TimelineReplaced

if TYPE_CHECKING:
    from .main import MainScreen

__all__ = ["OpenLog"]


class OpenLog:
    """Draws the open conversation in the screen's log."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.monitor = screen.monitor
        #: The scrollback line drawn at the top of the log (to keep the reader's place
        #: when it changes).
        self._drawn_top: TimelineItem | None = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.screen.clock(), UTC)

    def render(self, event: TimelineReplaced | Appended | Reveal) -> None:
        """Show what the monitor did to the open conversation (others are not drawn)."""
        if event.conversation_id != self.monitor.current:
            return
        log = self.screen.log_view
        if isinstance(event, TimelineReplaced):
            if not event.keep_place:
                self.show()
                return
            self.redraw(above=event.above, gone=event.gone)
            if event.arrived and not log.following:
                log.new_count += event.arrived
        elif isinstance(event, Appended):
            log.append(event.items, now=self._now())
        else:
            self.screen.action_show_pane("log")
            if not log.reveal_message(event.message_id):
                words = "that message is hidden by the log's filter (escape clears it)"
                self.screen.notify(words, markup=False)

    def show(self) -> None:
        """Draw the open conversation from scratch (it was opened, or its window moved)."""
        entry = self.screen.open_entry()
        if entry is None:
            return
        log = self.screen.log_view
        log.highlights = entry.highlights
        log.mine = entry.timeline.mine
        self._drawn_top = entry.older.marker()
        log.live = not entry.timeline.detached
        log.show(self.screen.title_of(entry), entry.shown(), now=self._now())

    def redraw(self, above: int = 0, gone: Sequence[TimelineItem] = ()) -> None:
        """Draw the open conversation again where the reader is.

        `above` older messages were put on top (or the items `gone` were taken
        from it), and the scrollback line may have changed: the log is told
        both, so the line the reader had at the top of the screen stays there.
        """
        entry = self.screen.open_entry()
        if entry is None:
            return
        shown = entry.shown()
        top = entry.older.marker()
        was_top, self._drawn_top = self._drawn_top, top
        new_above: list[TimelineItem] = []
        gone_above: list[TimelineItem] = []
        if above or gone:
            # Only when messages came on top or left it: a line changing alone
            # (loading, failed) stays where the reader at the top sees it.
            new_above = shown[: above + (1 if top is not None else 0)]
            gone_above = [*([was_top] if was_top is not None else []), *gone]
        log = self.screen.log_view
        log.live = not entry.timeline.detached
        log.redraw(
            self.screen.title_of(entry),
            shown,
            now=self._now(),
            above=new_above,
            gone_above=gone_above,
        )
