"""The main screen: the conversation list, the open conversation, the status line.

It renders the monitor's events and turns key presses into the monitor's
intents; it decides nothing about streams or cursors.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Literal

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from ..api.errors import BimpeError
from ..api.models import Message
from ..book import Entry, TimelineItem, held
from ..export import ExportFormat
from ..history import HistoryError
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
from ..render import one_line
from ..status_words import status_line
from ..waits import waits_summary
from ..widgets.compose import ComposeBox
from ..widgets.message_log import MessageLog, SearchBox
from ..widgets.picker import ConversationList, Picker
from ..widgets.status_footer import StatusFooter
from .acting import Acting
from .confirm import dialog_open, open_dialog
from .exporting import ask_export, export_conversation
from .history_results import HistoryResults
from .ids import IdsScreen, id_rows
from .navigation import Navigation
from .titles import log_title

if TYPE_CHECKING:
    from collections.abc import Callable

#: The picker is redrawn at most this often (seconds), whatever the message rate.
REDRAW_INTERVAL = 0.25
#: The shortest delay given to a timer (seconds). Textual's one-shot timer
#: skips its tick if it is already overdue when the timer first looks (a delay
#: of microseconds), and spins forever, freezing the app, on a negative delay.
TIMER_FLOOR = 0.01
#: How often the clock-driven parts move: "last data 12 s ago", rows' ages.
TICK = 1.0
#: Seconds after a key press during which the list's rows do not move.
HOLD = 3.0
#: Ticks between redraws of an idle list, for its ages alone (an idle app stays
#: idle): ages are in minutes, and with dozens of rows one of them turns over
#: every few seconds; each redraw repaints the whole list.
ROW_AGES_EVERY = 15


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


#: Below this many columns one pane shows at a time (list or log, `h` / `l`).
NARROW_BELOW = 90
#: The smallest terminal the app draws itself in; below it, a message says so.
MIN_COLS = 40
MIN_ROWS = 10

Pane = Literal["list", "log"]


class MainScreen(Screen[None]):
    """Picker on the left, the open conversation on the right, the status line below."""

    BINDINGS = [
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
        # Digits work in every terminal (a text box takes them first while it has
        # focus); alt+digit where the terminal delivers it.
        *(
            Binding(str(n), f"jump({n})", f"Conversation {n}", show=False, id=f"main.digit_{n}")
            for n in range(1, 10)
        ),
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
        self.tz = tz
        self.clock = clock
        #: Conversation ids in the order the picker shows them.
        self.order: list[str] = []
        self._drawn_version = -1
        self._last_drawn = 0.0
        self._redraw_timer: Timer | None = None
        self._ticks = 0
        self._hold_until = 0.0
        #: The file the last export from the app wrote (tests and tools read it).
        self.last_export: str | None = None
        #: The scrollback line drawn at the top of the log (to keep the reader's place
        #: when it changes).
        self._drawn_top: TimelineItem | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield Picker(id="picker")
            # The reply box is given to the log from here (docked at its bottom),
            # so the log's own widget stays as it is.
            with MessageLog(tz=self.tz, id="log"):
                yield ComposeBox(id="compose")
        yield Static(id="too-small")
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

    @property
    def compose_box(self) -> ComposeBox:
        """The reply box under the log."""
        return self.query_one(ComposeBox)

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
        monitor = self.monitor
        if isinstance(event, ListChanged):
            self.list_version += 1
        elif isinstance(event, Opened):
            self.acting.opened(event.conversation_id)
            self.refresh_bindings()
            self.picker.highlight(event.conversation_id)
            self._show_open()
            self.update_status()
        elif isinstance(event, TimelineReplaced):
            if event.conversation_id == monitor.current:
                if event.keep_place:
                    self._redraw_log(above=event.above, gone=event.gone)
                    if event.arrived and not self.log_view.following:
                        self.log_view.new_count += event.arrived
                else:
                    self._show_open()
        elif isinstance(event, Appended):
            if event.conversation_id == monitor.current:
                self.log_view.append(event.items, now=self._now())
        elif isinstance(event, Reveal):
            if event.conversation_id == monitor.current:
                self.action_show_pane("log")
                if not self.log_view.reveal_message(event.message_id):
                    words = "that message is hidden by the log's filter (escape clears it)"
                    self.notify(words, markup=False)
        elif isinstance(event, StatusChanged):
            if event.conversation_id == monitor.current:
                self.update_status()
        elif isinstance(event, PhaseChanged):
            self.update_status()

    def _show_open(self) -> None:
        entry = self.open_entry()
        if entry is not None:
            self.log_view.highlights = entry.highlights
            self.log_view.mine = entry.timeline.mine
            self._drawn_top = entry.older.marker()
            self.log_view.live = not entry.timeline.detached
            self.log_view.show(self.title_of(entry), entry.shown(), now=self._now())

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
        if self._redraw_timer is not None:
            return
        wait = self._last_drawn + REDRAW_INTERVAL - time.monotonic()
        self._redraw_timer = self.set_timer(max(TIMER_FLOOR, wait), self.redraw_list)

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
        self.navigation.number_rows()
        numbers = self.numbers
        groups = book.ordered(picker.filter_text)
        if time.monotonic() < self._hold_until:
            groups = held(groups, self.order)
        now = self.clock()
        waits = self.monitor.config.waits
        self.order = picker.show_rows(
            groups,
            now,
            book.more_pages,
            number_of=numbers.of if numbers is not None else lambda _: None,
            waits=waits,
            summary=waits_summary(
                (
                    (e.conversation.needs_attention, e.wait_for_a_person())
                    for e in book.entries.values()
                ),
                now,
                waits,
            ),
        )
        current = self.monitor.current
        if picker.options.highlighted is None and current is not None:
            # Opened before its row was listed (the state file opened slowly): the
            # cursor goes to it now, not nowhere.
            picker.highlight(current)
        self.update_status()
        entry = self.open_entry()
        if entry is not None:
            # A refresh of the list may say someone else paused or resumed the AI.
            title = self.title_of(entry)
            if title != self.log_view.border_title:
                self.log_view.border_title = title

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
        # The clock read once: read again for the delay, it can have passed the
        # hold's end meanwhile (a busy machine takes the process off the CPU), and
        # Textual's timer given a negative delay spins forever, freezing the app.
        remaining = self._hold_until - time.monotonic()
        if remaining <= 0:
            self.list_version += 1
        else:
            # Not a sliver either (see TIMER_FLOOR): a skipped tick would leave
            # the hold on until the next key.
            self.set_timer(max(TIMER_FLOOR, remaining), self._release)

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
        self._redraw_log()

    def _redraw_log(self, above: int = 0, gone: Sequence[TimelineItem] = ()) -> None:
        """Draw the open conversation again where the reader is.

        `above` older messages were put on top (or the items `gone` were taken
        from it), and the scrollback line may have changed: the log is told
        both, so the line the reader had at the top of the screen stays there.
        """
        entry = self.open_entry()
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
        self.log_view.live = not entry.timeline.detached
        self.log_view.redraw(
            self.title_of(entry), shown, now=self._now(), above=new_above, gone_above=gone_above
        )

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
        """Ask the server for every match in the conversation; show them in a list."""
        # Said in the search's own count, not a toast: a toast would cover the count,
        # and one still up when the list opens and closes can outstay its time.
        self.log_view.asking_server(True)
        try:
            matches, total = await self.monitor.search_history(conversation_id, query)
        except (BimpeError, LookupError) as error:
            words = f"could not search the conversation: {error}"
            self.notify(words, severity="error", markup=False)
            return
        finally:
            self.log_view.asking_server(False)
        if dialog_open(self.app):
            return  # one dialog at a time: the answer came while another was up
        chosen = await self.app.push_screen_wait(HistoryResults(query, matches, total, self.tz))
        if chosen is not None:
            self._jump_to(conversation_id, chosen)

    @work(group="jump", exclusive=True, exit_on_error=False)
    async def _jump_to(self, conversation_id: str, message: Message) -> None:
        """Show a match of the server's search in its place (its page of history)."""
        try:
            await self.monitor.jump_to(conversation_id, message)
        except (BimpeError, HistoryError, LookupError) as error:
            words = f"could not go to that message: {error}"
            self.notify(words, severity="error", markup=False)

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
        entry = self.open_entry()
        if entry is None:
            self.notify("no conversation open", markup=False)
            return
        title = f"{one_line(entry.conversation.who, 40)} · {one_line(entry.agent.name, 40)}"
        rows = id_rows(entry.agent.id, entry.id, self.monitor.base_url)
        open_dialog(self.app, IdsScreen(title, rows))

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
