"""The list's rows, drawn from the book: at most every REDRAW_INTERVAL, held still
for a moment while the user moves through them.

A flood of messages changes the rows many times a second; redrawing on each
would spend the UI loop on the list. And rows that re-sort under a moving
cursor make `down` `enter` open another conversation than the one seen: while
keys come, the order holds (HOLD seconds after the last), then catches up.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.css.query import NoMatches
from textual.timer import Timer

from ..book import held
from ..waits import waits_summary

if TYPE_CHECKING:
    from .main import MainScreen

__all__ = ["HOLD", "REDRAW_INTERVAL", "TIMER_FLOOR", "ListRows"]

#: The picker is redrawn at most this often (seconds), whatever the message rate.
REDRAW_INTERVAL = 0.25
#: The shortest delay given to a timer (seconds). Textual's one-shot timer
#: skips its tick if it is already overdue when the timer first looks (a delay
#: of microseconds), and spins forever, freezing the app, on a negative delay.
TIMER_FLOOR = 0.01
#: Seconds after a key press during which the list's rows do not move.
HOLD = 3.0


class ListRows:
    """When the screen's list is drawn again, and in which order."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.monitor = screen.monitor
        self._drawn_version = -1
        self._last_drawn = 0.0
        self._timer: Timer | None = None
        self._hold_until = 0.0

    @property
    def pending(self) -> bool:
        """Whether the picker shows stale rows until its next redraw."""
        return self._drawn_version != self.screen.list_version

    def schedule(self) -> None:
        """Redraw soon: now if the last redraw is REDRAW_INTERVAL old, else then."""
        if self._timer is not None:
            return
        wait = self._last_drawn + REDRAW_INTERVAL - time.monotonic()
        self._timer = self.screen.set_timer(max(TIMER_FLOOR, wait), self.redraw)

    def redraw(self) -> None:
        """Rebuild the picker's rows from the book."""
        screen = self.screen
        self._timer = None
        self._last_drawn = time.monotonic()
        self._drawn_version = screen.list_version
        try:
            self._draw(screen)
        except NoMatches:
            # The app is closing: its widgets went before this timer's last call.
            return

    def _draw(self, screen: MainScreen) -> None:
        picker = screen.picker
        book = self.monitor.book
        screen.navigation.number_rows()
        numbers = screen.numbers
        groups = book.ordered(picker.filter_text)
        if time.monotonic() < self._hold_until:
            groups = held(groups, screen.order)
        now = screen.clock()
        waits = self.monitor.config.waits
        everyone = book.entries.values()
        screen.order = picker.show_rows(
            groups,
            now,
            book.more_pages,
            number_of=numbers.of if numbers is not None else lambda _: None,
            waits=waits,
            summary=waits_summary(
                ((e.conversation.needs_attention, e.wait_for_a_person()) for e in everyone),
                now,
                waits,
            ),
        )
        current = self.monitor.current
        if picker.options.highlighted is None and current is not None:
            # Opened before its row was listed (the state file opened slowly): the
            # cursor goes to it now, not nowhere.
            picker.highlight(current)
        screen.update_status()
        entry = screen.open_entry()
        if entry is not None:
            # A refresh of the list may say someone else paused or resumed the AI.
            title = screen.title_of(entry)
            if title != screen.log_view.border_title:
                screen.log_view.border_title = title

    def hold(self) -> None:
        """Keep the rows where they are for HOLD seconds (the user is moving through them)."""
        held_before = time.monotonic() < self._hold_until
        self._hold_until = time.monotonic() + HOLD
        if not held_before:
            # When the hold ends, the order catches up on the next redraw.
            self.screen.set_timer(HOLD, self._release)

    def _release(self) -> None:
        # The clock read once: read again for the delay, it can have passed the
        # hold's end meanwhile (a busy machine takes the process off the CPU), and
        # Textual's timer given a negative delay spins forever, freezing the app.
        remaining = self._hold_until - time.monotonic()
        if remaining <= 0:
            self.screen.list_version += 1
        else:
            # Not a sliver either (see TIMER_FLOOR): a skipped tick would leave
            # the hold on until the next key.
            self.screen.set_timer(max(TIMER_FLOOR, remaining), self._release)
