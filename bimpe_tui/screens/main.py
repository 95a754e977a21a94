"""The main screen: the conversation list, the open conversation, the status line.

It renders the monitor's events and turns key presses into the monitor's
intents; it decides nothing about streams or cursors.
"""

from __future__ import annotations

import time
import unicodedata
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header

from ..book import Entry, held
from ..monitor import (
    Appended,
    ListChanged,
    Monitor,
    MonitorEvent,
    Opened,
    PhaseChanged,
    StatusChanged,
    TimelineReplaced,
)
from ..render import one_line
from ..status_words import status_line
from ..widgets.message_log import MessageLog
from ..widgets.picker import Picker
from ..widgets.status_footer import StatusFooter

if TYPE_CHECKING:
    from collections.abc import Callable

#: The picker is redrawn at most this often (seconds), whatever the message rate.
REDRAW_INTERVAL = 0.25
#: How often the clock-driven parts move: "last data 12 s ago", rows' ages.
TICK = 1.0
#: Seconds after a key press during which the list's rows do not move.
HOLD = 3.0
#: Ticks between redraws of an idle list, for its ages alone (an idle app stays idle).
ROW_AGES_EVERY = 5


#: What Textual makes of ESC followed by a digit, the way most terminals (tmux
#: included) send alt+digit: the characters macOS's option key types ("¡" for
#: alt+1). Bound too, so alt+1 … alt+9 work whichever form arrives.
_ESC_DIGIT_AS = "¡™£¢∞§¶•ª"


def jump_keys(number: int) -> str:
    """The keys of "open the Nth conversation": alt+N, and alt+N as ESC N arrives."""
    character = _ESC_DIGIT_AS[number - 1]
    if character.isalnum():
        name = character
    else:
        name = unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")
    return f"alt+{number},{name}"


class MainScreen(Screen[None]):
    """Picker on the left, the open conversation on the right, the status line below."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="main.filter"),
        Binding("alt+a", "next_unread", "Next unread", id="main.next_unread"),
        Binding("right_square_bracket", "cycle(1)", "Next", id="main.next"),
        Binding("left_square_bracket", "cycle(-1)", "Previous", id="main.previous"),
        Binding("r", "retry", "Reconnect", id="main.retry"),
        *(
            Binding(
                jump_keys(n),
                f"jump({n})",
                f"Conversation {n}",
                show=False,
                key_display=f"alt+{n}",
                id=f"main.jump_{n}",
            )
            for n in range(1, 10)
        ),
    ]

    #: Bumped whenever the list's rows change; the picker redraws from it, rate-limited.
    list_version: reactive[int] = reactive(0, init=False)

    def __init__(self, monitor: Monitor, *, tz: tzinfo | None, clock: Callable[[], float]) -> None:
        super().__init__()
        self.monitor = monitor
        self.tz = tz
        self.clock = clock
        #: Conversation ids in the order the picker shows them.
        self.order: list[str] = []
        self._drawn_version = -1
        self._last_drawn = 0.0
        self._redraw_timer: Timer | None = None
        self._ticks = 0
        self._hold_until = 0.0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield Picker(id="picker")
            yield MessageLog(tz=self.tz, id="log")
        yield StatusFooter(id="status")
        yield Footer()

    @property
    def picker(self) -> Picker:
        """The conversation picker."""
        return self.query_one(Picker)

    @property
    def log_view(self) -> MessageLog:
        """The message log of the open conversation."""
        return self.query_one(MessageLog)

    @property
    def status_footer(self) -> StatusFooter:
        """The status line."""
        return self.query_one(StatusFooter)

    def on_mount(self) -> None:
        self.picker.query_one("#filter").display = False
        self.log_view.border_title = "no conversation open"
        self.set_interval(TICK, self._tick)

    # -- monitor events -------------------------------------------------------------

    def render_event(self, event: MonitorEvent) -> None:
        """Show what the monitor did."""
        monitor = self.monitor
        if isinstance(event, ListChanged):
            self.list_version += 1
        elif isinstance(event, Opened):
            self.picker.highlight(event.conversation_id)
            self._show_open()
            self.update_status()
        elif isinstance(event, TimelineReplaced):
            if event.conversation_id == monitor.current:
                self._show_open()
        elif isinstance(event, Appended):
            if event.conversation_id == monitor.current:
                self.log_view.append(event.items, now=self._now())
        elif isinstance(event, StatusChanged):
            if event.conversation_id == monitor.current:
                self.update_status()
        elif isinstance(event, PhaseChanged):
            self.update_status()

    def _show_open(self) -> None:
        entry = self._open_entry()
        if entry is not None:
            self.log_view.highlights = entry.highlights
            self.log_view.show(_title(entry), list(entry.timeline.items), now=self._now())

    def _open_entry(self) -> Entry | None:
        current = self.monitor.current
        return self.monitor.book.get(current) if current else None

    def update_status(self) -> None:
        """Recompute the status line from the monitor's state."""
        entry = self._open_entry()
        age = None
        if entry is not None:
            last = self.monitor.last_activity(entry.id)
            age = None if last is None else max(0.0, time.monotonic() - last)
        monitor = self.monitor
        self.status_footer.line = status_line(
            entry, monitor.book.entries.values(), age, monitor.phase, monitor.list_health()
        )

    def _tick(self) -> None:
        self.update_status()
        self._ticks += 1
        if self._ticks % ROW_AGES_EVERY == 0:
            # Rows show ages ("3m"): let them move even when nothing else does.
            self.list_version += 1

    # -- the picker, rate-limited -----------------------------------------------------

    def watch_list_version(self) -> None:
        if self._redraw_timer is not None:
            return
        wait = self._last_drawn + REDRAW_INTERVAL - time.monotonic()
        self._redraw_timer = self.set_timer(max(0.01, wait), self.redraw_list)

    @property
    def redraw_pending(self) -> bool:
        """Whether the picker shows stale rows until its next redraw."""
        return self._drawn_version != self.list_version

    def redraw_list(self) -> None:
        """Rebuild the picker's rows from the book (at most every REDRAW_INTERVAL)."""
        self._redraw_timer = None
        self._last_drawn = time.monotonic()
        self._drawn_version = self.list_version
        picker = self.picker
        book = self.monitor.book
        groups = book.ordered(picker.filter_text)
        if time.monotonic() < self._hold_until:
            groups = held(groups, self.order)
        self.order = picker.show_rows(groups, self.clock(), book.more_pages)
        self.update_status()

    def hold(self) -> None:
        """Keep the rows where they are for HOLD seconds (the user is moving through them)."""
        if not self.is_mounted:
            return
        held_before = time.monotonic() < self._hold_until
        self._hold_until = time.monotonic() + HOLD
        if not held_before:
            # When the hold ends, the order catches up on the next redraw.
            self.set_timer(HOLD, self._release)

    def _release(self) -> None:
        if time.monotonic() >= self._hold_until:
            self.list_version += 1
        else:
            self.set_timer(self._hold_until - time.monotonic(), self._release)

    @on(Picker.FilterChanged)
    def _filter_changed(self) -> None:
        self.list_version += 1

    # -- intents --------------------------------------------------------------------

    @on(Picker.Chosen)
    def _chosen(self, event: Picker.Chosen) -> None:
        self.monitor.open(event.conversation_id)
        self.log_view.lines.focus()

    @on(Picker.LoadMore)
    def _load_more(self, event: Picker.LoadMore) -> None:
        self.run_worker(self.monitor.load_more(event.agent_id), group="pages")

    @on(MessageLog.NeedsRedraw)
    def _redraw_log(self) -> None:
        entry = self._open_entry()
        if entry is not None:
            self.log_view.redraw(_title(entry), list(entry.timeline.items), now=self._now())

    @on(MessageLog.ReachedEnd)
    def _reached_end(self) -> None:
        self.monitor.seen_now()

    def action_filter(self) -> None:
        """Type to narrow the conversation list."""
        self.picker.open_filter()

    def action_jump(self, number: int) -> None:
        """Open the Nth conversation in the list."""
        if 0 < number <= len(self.order):
            self.monitor.open(self.order[number - 1])

    def action_cycle(self, step: int) -> None:
        """Open the next (step 1) or previous (step -1) conversation in the list."""
        if not self.order:
            return
        current = self.monitor.current
        index = (self.order.index(current) + step) % len(self.order) if current in self.order else 0
        self.monitor.open(self.order[index])

    def action_next_unread(self) -> None:
        """Open the next conversation with unread messages or needing attention."""
        order = self.order
        current = self.monitor.current
        start = order.index(current) + 1 if current in order else 0
        for offset in range(len(order)):
            candidate = order[(start + offset) % len(order)]
            entry = self.monitor.book.get(candidate)  # None: gone since the last redraw
            if entry is None or candidate == current:
                continue
            if entry.unread or entry.conversation.needs_attention:
                self.monitor.open(candidate)
                return
        self.notify("nothing unread", markup=False)

    def action_retry(self) -> None:
        """Reconnect the open conversation's stream if it gave up (or retry loading)."""
        app = self.app
        if not self.monitor.ready:
            app.start_up()  # type: ignore[attr-defined]
        else:
            self.monitor.retry()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)


def _title(entry: Entry) -> Content:
    c = entry.conversation
    channel = c.channel_type.removeprefix("test_")
    # Content, not a string: a string title is parsed as markup, and the names
    # come from the server (an escaped one can still fail to parse).
    return Content(one_line(f"{c.who} · {channel} · {entry.agent.name}", 120))
