"""The main screen: the conversation list, the open conversation, the status line.

It renders the monitor's events and turns key presses into the monitor's
intents; it decides nothing about streams or cursors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Literal

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ..api.models import Message
from ..book import Entry
from ..export import ExportFormat
from ..monitor import (
    Appended,
    ListChanged,
    Monitor,
    MonitorEvent,
    Opened,
    PhaseChanged,
    Reveal,
    StatusChanged,
    TimelineReplaced,
)
from ..numbers import Numbers
from ..operator import Operator
from ..status_words import status_line
from ..widgets.compose import ComposeBox
from ..widgets.message_log import MessageLog, SearchBox
from ..widgets.picker import ConversationList, Picker
from ..widgets.status_footer import StatusFooter
from .acting import Acting
from .exporting import ask_export, export_conversation
from .history_search import read_in_place, search_whole_conversation
from .ids import show_ids
from .list_rows import ListRows
from .navigation import Navigation, jump_bindings
from .open_log import OpenLog
from .titles import log_title

if TYPE_CHECKING:
    from collections.abc import Callable

#: How often the clock-driven parts move: "last data 12 s ago", rows' ages.
TICK = 1.0
#: Ticks between redraws of an idle list, for its ages alone (an idle app stays
#: idle): ages are in minutes, and with dozens of rows one of them turns over
#: every few seconds; each redraw repaints the whole list.
ROW_AGES_EVERY = 15


#: Below this many columns one pane shows at a time (list or log, `h` / `l`).
NARROW_BELOW = 90
#: The smallest terminal the app draws itself in; below it, a message says so.
MIN_COLS = 40
MIN_ROWS = 10

Pane = Literal["list", "log"]


class MainScreen(Screen[None]):
    """Picker on the left, the open conversation on the right, the status line below."""

    BINDINGS = [
        # First, so the footer shows it whatever it has to cut at its end (60 columns).
        Binding("question_mark", "app.help", "Help", id="main.help"),
        Binding("slash", "filter", "Filter", id="main.filter"),
        Binding("alt+a", "next_unread", "Next unread", id="main.next_unread"),
        Binding("right_square_bracket", "cycle(1)", "Next", id="main.next"),
        # Shown in the help, not the footer: it has room for the common keys only.
        Binding("left_square_bracket", "cycle(-1)", "Previous", show=False, id="main.previous"),
        Binding("r", "retry", "Reconnect", show=False, id="main.retry"),
        # Two panes: tab goes to the other (in a narrow terminal, shows it).
        Binding("tab,shift+tab", "other_pane", "Other pane", show=False, id="main.other_pane"),
        Binding("h", "show_pane('list')", "List", id="main.list"),
        Binding("l", "show_pane('log')", "Log", id="main.log"),
        # Acting on the open conversation (hidden in read-only mode, see check_action).
        Binding("t", "take_over", "Take over", show=False, id="main.take_over"),
        Binding("b", "hand_back", "Hand back", show=False, id="main.hand_back"),
        Binding("c", "reply", "Reply", show=False, id="main.reply"),
        Binding("e", "export", "Export", show=False, id="main.export"),
        Binding("i", "ids", "Ids and commands", show=False, id="main.ids"),
        Binding(
            "ctrl+g,colon",
            "go_to",
            "Go to a conversation: by number (:12) or name",
            show=False,
            key_display="ctrl+g, :",
            id="main.go_to",
        ),
        *jump_bindings(),
    ]

    #: The list's focus lands on the conversations, never on the hidden filter box.
    AUTO_FOCUS = "#conversations"

    #: Bumped whenever the list's rows change; the picker redraws from it, rate-limited.
    #: A `var`: bumping it must not repaint the screen (the redraw it causes
    #: repaints what changed).
    list_version: var[int] = var(0, init=False)
    #: In a narrow terminal, the one pane shown.
    pane: reactive[Pane] = reactive("list", init=False)

    def __init__(
        self,
        monitor: Monitor,
        *,
        tz: tzinfo | None,
        clock: Callable[[], float],
        operator: Operator | None = None,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.operator = operator or Operator(monitor)
        #: Taking over, handing back and the reply box.
        self.acting = Acting(self)
        #: Numbers, rounds, the hotlist and go to.
        self.navigation = Navigation(self)
        #: The open conversation's log, drawn from the monitor's events.
        self.open_log = OpenLog(self)
        #: The list's rows, drawn at most every REDRAW_INTERVAL, held while keys move.
        self.rows = ListRows(self)
        self.tz = tz
        self.clock = clock
        #: Conversation ids in the order the picker shows them.
        self.order: list[str] = []
        self._ticks = 0
        # Kept, not queried on each read (every event; and as the app closes, too).
        self._picker = Picker(id="picker")
        self._log = MessageLog(tz=tz, id="log")
        self._box = ComposeBox(id="compose")
        self._status = StatusFooter(id="status")
        #: The file the last export from the app wrote (tests and tools read it).
        self.last_export: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield self._picker
            # The reply box is the log's from here (docked at its bottom).
            with self._log:
                yield self._box
        yield Static(id="too-small")
        yield self._status
        yield Footer()

    @property
    def picker(self) -> Picker:
        """The conversation picker."""
        return self._picker

    @property
    def log_view(self) -> MessageLog:
        """The message log of the open conversation."""
        return self._log

    @property
    def status_footer(self) -> StatusFooter:
        """The status line."""
        return self._status

    @property
    def compose_box(self) -> ComposeBox:
        """The reply box under the log."""
        return self._box

    def on_mount(self) -> None:
        self.log_view.border_title = "no conversation open"
        self.set_interval(TICK, self._tick)
        self._apply_pane()

    # -- layout -----------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        small = width < MIN_COLS or height < MIN_ROWS
        self.set_class(small, "-too-small")
        narrow = width < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        # One pane at a time needs h and l in the footer most: a narrow one
        # drops its spacing and the palette hint (ctrl+p still works, in the help).
        footer = self.query_one(Footer)
        footer.compact = narrow
        footer.show_command_palette = not narrow
        if small:
            self.query_one("#too-small", Static).update(
                f"Terminal too small: {width}x{height}.\n"
                f"bimpe-tui needs at least {MIN_COLS}x{MIN_ROWS}; q quits."
            )
        self._apply_pane()
        # Rows are cut to the list's width: draw them again for the new one.
        self.list_version += 1

    @property
    def narrow(self) -> bool:
        """Whether one pane shows at a time."""
        return self.has_class("-narrow")

    def watch_pane(self) -> None:
        self._apply_pane()

    def _apply_pane(self) -> None:
        # Only one pane at a time needs the classes; side by side, changing
        # them would restyle the whole screen on every tab for nothing.
        narrow = self.narrow
        self.set_class(narrow and self.pane == "list", "-show-list")
        self.set_class(narrow and self.pane == "log", "-show-log")

    def action_show_pane(self, pane: Pane) -> None:
        """Move to the list or the log (in a narrow terminal, show it instead of the other)."""
        self.pane = pane
        target = self.picker.options if pane == "list" else self.log_view.lines
        # At once, not through focus()'s call_later: keys typed right after this
        # one are already queued and belong to the pane shown.
        self.set_focus(target)

    def action_other_pane(self) -> None:
        """From the list (or its filter box) to the log, and back."""
        in_log = self.focused is not None and self.log_view in self.focused.ancestors_with_self
        self.action_show_pane("list" if in_log else "log")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # The pane follows the focus (tab, a click), so the focused one is the one shown.
        widget = event.widget
        if widget is not self.focused:
            # The focus has moved on since: this event climbed the widgets' queues
            # after the move (a digit then h, typed fast: the log's event can come
            # after the list's), and the move itself set the pane.
            return
        if self.log_view in widget.ancestors_with_self:
            self.pane = "log"
        elif self.picker in widget.ancestors_with_self:
            self.pane = "list"

    # -- monitor events -------------------------------------------------------------

    def render_event(self, event: MonitorEvent) -> None:
        """Show what the monitor did."""
        if isinstance(event, ListChanged):
            self.list_version += 1
        elif isinstance(event, Opened):
            self.acting.opened(event.conversation_id)
            self.refresh_bindings()
            self.picker.highlight(event.conversation_id)
            self.open_log.show()
            self.update_status()
        elif isinstance(event, TimelineReplaced | Appended | Reveal):
            self.open_log.render(event)
        elif isinstance(event, StatusChanged):
            if event.conversation_id == self.monitor.current:
                self.update_status()
        elif isinstance(event, PhaseChanged):
            self.update_status()

    def open_entry(self) -> Entry | None:
        current = self.monitor.current
        return self.monitor.book.get(current) if current else None

    def update_status(self) -> None:
        """Recompute the status line from the monitor's state."""
        entry = self.open_entry()
        age = None
        if entry is not None:
            last = self.monitor.last_activity(entry.id)
            age = None if last is None else max(0.0, time.monotonic() - last)
        monitor = self.monitor
        self.status_footer.line = status_line(
            entry, monitor.book.entries.values(), age, monitor.phase, monitor.health()
        )

    def _tick(self) -> None:
        self.update_status()
        self._ticks += 1
        if self._ticks % ROW_AGES_EVERY == 0:
            # Rows show ages ("3m"): let them move even when nothing else does.
            self.list_version += 1

    # -- the picker, rate-limited -----------------------------------------------------

    def watch_list_version(self) -> None:
        self.rows.schedule()

    @property
    def redraw_pending(self) -> bool:
        """Whether the picker shows stale rows until its next redraw."""
        return self.rows.pending

    def redraw_list(self) -> None:
        """Rebuild the picker's rows from the book now."""
        self.rows.redraw()

    def hold(self) -> None:
        """Keep the rows where they are for a while (the user is moving through them)."""
        if self.is_mounted:
            self.rows.hold()

    @on(Picker.FilterChanged)
    def _filter_changed(self) -> None:
        self.navigation.new_round()
        self.list_version += 1

    @on(ConversationList.Resized)
    def _list_resized(self) -> None:
        self.list_version += 1

    # -- intents --------------------------------------------------------------------

    @on(Picker.Chosen)
    def _chosen(self, event: Picker.Chosen) -> None:
        self.monitor.open(event.conversation_id)
        self.action_show_pane("log")

    @on(ConversationList.Peek)
    def _peek(self, event: ConversationList.Peek) -> None:
        self.monitor.open(event.conversation_id, peek=True)
        self.action_show_pane("log")
        self.notify("peeking: its messages stay unread", markup=False)

    @on(Picker.LoadMore)
    def _load_more(self, event: Picker.LoadMore) -> None:
        self.run_worker(self.monitor.load_more(event.agent_id), group="pages")

    @on(MessageLog.NeedsRedraw)
    def _needs_redraw(self) -> None:
        self.open_log.redraw()

    @on(MessageLog.ReachedEnd)
    def _reached_end(self, event: MessageLog.ReachedEnd) -> None:
        self.monitor.seen_now()
        # At the end of a window moved into history: the end key brings the newest
        # back; scrolling down, the next newer page (if the window knows its place).
        if event.newest:
            self.monitor.return_to_newest()
        else:
            self.monitor.load_newer()

    @on(SearchBox.AskServer)
    def _ask_server(self, event: SearchBox.AskServer) -> None:
        event.stop()
        if self.monitor.current is not None:
            self._search_history(self.monitor.current, event.query)

    @work(group="history_search", exclusive=True, exit_on_error=False)
    async def _search_history(self, conversation_id: str, query: str) -> None:
        """Ask the server for every match in the conversation; read the chosen one in place."""
        chosen = await search_whole_conversation(self, conversation_id, query)
        if chosen is not None:
            self._jump_to(conversation_id, chosen)

    @work(group="jump", exclusive=True, exit_on_error=False)
    async def _jump_to(self, conversation_id: str, message: Message) -> None:
        """Show a match of the server's search in its place (its page of history)."""
        await read_in_place(self, conversation_id, message)

    @on(MessageLog.ReachedTop)
    def _reached_top(self) -> None:
        """The reader is at the top of the log: the next older page (or a retry)."""
        self.monitor.load_older()

    @on(MessageLog.MarkUnread)
    def _mark_unread(self, event: MessageLog.MarkUnread) -> None:
        if self.monitor.mark_unread_from(event.message_id):
            entry = self.open_entry()
            count = entry.unread if entry is not None else 0
            self.notify(f"marked unread: {count:,} messages from the top of the log", markup=False)

    def action_filter(self) -> None:
        """Type to narrow the conversation list."""
        self.picker.open_filter()

    def _go(self, conversation_id: str) -> None:
        self.navigation.go(conversation_id)

    @property
    def numbers(self) -> Numbers | None:
        """Each listed conversation's number (None until the first listing is whole)."""
        return self.navigation.numbers

    def action_jump(self, number: int) -> None:
        """Open the conversation numbered `number` (numbers stay as the list re-sorts)."""
        self.navigation.jump(number)

    def action_cycle(self, step: int) -> None:
        """Open the next (step 1) or previous (step -1) conversation in the list."""
        self.navigation.cycle(step)

    def action_next_unread(self) -> None:
        """Open the most urgent conversation with news (the hotlist)."""
        self.navigation.next_unread()

    def action_go_to(self) -> None:
        """Find a conversation by its number or part of a name, and open it."""
        self.navigation.go_to()

    def action_retry(self) -> None:
        """Reconnect a stream that gave up, retry older messages that failed to load,
        or retry a failed start."""
        app = self.app
        if not self.monitor.ready:
            app.start_up()  # type: ignore[attr-defined]
        else:
            self.monitor.retry()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def title_of(self, entry: Entry) -> Content:
        """The log's title for `entry`, with who has it now."""
        return log_title(entry, self.operator.holder(entry))

    # -- ids ----------------------------------------------------------------------------

    def action_ids(self) -> None:
        """The open conversation's agent and conversation ids, and command lines, to copy."""
        show_ids(self)

    # -- export -----------------------------------------------------------------------

    def action_export(self) -> None:
        """Ask what to export of the open conversation, then write it (see export_open)."""
        ask_export(self)

    @work(group="export", exit_on_error=False)
    async def export_open(self, fmt: ExportFormat, *, everything: bool) -> None:
        """Export the open conversation in a worker; progress in the log's subtitle."""
        path = await export_conversation(self, fmt, everything=everything)
        if path is not None:
            self.last_export = path

    # -- acting -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("take_over", "hand_back", "reply") and self.open_entry() is None:
            return None
        # Read-only: the keys still run, to say why nothing happens (the help,
        # the footer and the palette leave them out: see `Operator.refusal`).
        return True

    def action_take_over(self) -> None:
        """Pause the open conversation's AI (you have it), once confirmed."""
        self.acting.take_over()

    def action_hand_back(self) -> None:
        """Resume the open conversation's AI, once confirmed."""
        self.acting.hand_back()

    def action_reply(self) -> None:
        """Open the reply box; on a conversation the AI is answering, ask first."""
        self.acting.reply()

    @on(ComposeBox.Cancelled)
    def _compose_cancelled(self, event: ComposeBox.Cancelled) -> None:
        event.stop()
        self.acting.close_compose()

    @on(ComposeBox.Send)
    def _compose_send(self, event: ComposeBox.Send) -> None:
        event.stop()
        self.acting.compose_send(event.text)
