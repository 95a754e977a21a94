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
from ..book import Entry, Pending, TimelineItem, held
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
from ..operator import Operator
from ..render import one_line
from ..status_words import status_line
from ..widgets.compose import ComposeBox
from ..widgets.message_log import MessageLog, SearchBox
from ..widgets.picker import ConversationList, Picker
from ..widgets.status_footer import StatusFooter
from .confirm import ConfirmScreen, dialog_open, open_dialog
from .history_results import HistoryResults
from .ids import IdsScreen, id_rows

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
        #: The conversation the reply box is open for.
        self._compose_for: str | None = None
        #: Conversations with a send in flight (their box takes no second enter).
        self._sending: set[str] = set()
        #: Conversations someone else has that the user chose to reply to anyway.
        self._replying_anyway: set[str] = set()
        self.tz = tz
        self.clock = clock
        #: Conversation ids in the order the picker shows them.
        self.order: list[str] = []
        self._drawn_version = -1
        self._last_drawn = 0.0
        self._redraw_timer: Timer | None = None
        self._ticks = 0
        self._hold_until = 0.0
        #: The order `]` and `[` walk, fixed at the start of a round (see `action_cycle`).
        self._round: list[str] = []
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
            if self._compose_for not in (None, event.conversation_id):
                self._close_compose()
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
        entry = self._open_entry()
        if entry is not None:
            self.log_view.highlights = entry.highlights
            self.log_view.mine = entry.timeline.mine
            self._drawn_top = entry.older.marker()
            self.log_view.live = not entry.timeline.detached
            self.log_view.show(self._title(entry), entry.shown(), now=self._now())

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
        groups = book.ordered(picker.filter_text)
        if time.monotonic() < self._hold_until:
            groups = held(groups, self.order)
        self.order = picker.show_rows(groups, self.clock(), book.more_pages)
        current = self.monitor.current
        if picker.options.highlighted is None and current is not None:
            # Opened before its row was listed (the state file opened slowly): the
            # cursor goes to it now, not nowhere.
            picker.highlight(current)
        self.update_status()
        entry = self._open_entry()
        if entry is not None:
            # A refresh of the list may say someone else paused or resumed the AI.
            title = self._title(entry)
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
        self._round = []
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
        entry = self._open_entry()
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
            self._title(entry), shown, now=self._now(), above=new_above, gone_above=gone_above
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
            entry = self._open_entry()
            count = entry.unread if entry is not None else 0
            self.notify(f"marked unread: {count:,} messages from the top of the log", markup=False)

    def action_filter(self) -> None:
        """Type to narrow the conversation list."""
        self.picker.open_filter()

    def _go(self, conversation_id: str) -> None:
        """Open a conversation from a key; in a narrow terminal the log shows it."""
        self.monitor.open(conversation_id)
        if self.narrow:
            self.action_show_pane("log")

    def action_jump(self, number: int) -> None:
        """Open the Nth conversation in the list."""
        if 0 < number <= len(self.order):
            self._go(self.order[number - 1])

    def action_cycle(self, step: int) -> None:
        """Open the next (step 1) or previous (step -1) conversation in the list.

        A round walks the order the list had when it began, so a conversation
        that moves up while the user walks is not visited twice and none is
        skipped; one that appears during the round joins at its end. Wrapping
        around starts a new round from the list as it is then.
        """
        order = self.order
        if not order:
            return
        listed = set(order)
        walk = [c for c in self._round if c in listed]
        in_round = set(walk)
        walk += [c for c in order if c not in in_round]
        current = self.monitor.current
        if current not in walk:
            self._round = list(order)
            self._go(order[0] if step > 0 else order[-1])
            return
        index = walk.index(current) + step
        if not 0 <= index < len(walk):
            walk = list(order)  # a new round, from the list as it is now
            index = 0 if step > 0 else len(walk) - 1
            if walk[index] == current and len(walk) > 1:
                index += step
        self._round = walk
        self._go(walk[index])

    def action_next_unread(self) -> None:
        """Open the most urgent conversation with news (the hotlist; see the README)."""
        current = self.monitor.current
        for entry in self.monitor.book.hotlist(self.picker.filter_text):
            if entry.id != current:
                self._go(entry.id)
                return
        self.notify("nothing new: every conversation with news has been visited", markup=False)

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

    def _title(self, entry: Entry) -> Content:
        holder = self.operator.holder(entry)
        return _title(entry, HOLDER_WORDS[holder])

    # -- ids ----------------------------------------------------------------------------

    def action_ids(self) -> None:
        """The open conversation's agent and conversation ids, and command lines, to copy."""
        entry = self._open_entry()
        if entry is None:
            self.notify("no conversation open", markup=False)
            return
        title = f"{one_line(entry.conversation.who, 40)} · {one_line(entry.agent.name, 40)}"
        rows = id_rows(entry.agent.id, entry.id, self.monitor.base_url)
        open_dialog(self.app, IdsScreen(title, rows))

    # -- export -----------------------------------------------------------------------

    def action_export(self) -> None:
        """Ask what to export of the open conversation, then write it (see export_open)."""
        entry = self._open_entry()
        if entry is None:
            self.notify("no conversation open to export", markup=False)
            return
        loaded = len(entry.timeline.messages())

        def chosen(choice: str | None) -> None:
            if choice is None or choice == "cancel":
                return
            scope, fmt = choice.split("-")
            self.export_open("jsonl" if fmt == "jsonl" else "md", everything=scope == "all")

        open_dialog(
            self.app,
            ConfirmScreen(
                "Export",
                f"Export {one_line(entry.conversation.who, 40)}: the {loaded:,} messages "
                "loaded, or all of it (every page fetched from the server)?",
                [
                    ("loaded-md", "Loaded → Markdown"),
                    ("loaded-jsonl", "Loaded → JSON Lines"),
                    ("all-md", "All → Markdown"),
                    ("all-jsonl", "All → JSON Lines"),
                    ("cancel", "Cancel"),
                ],
            ),
            chosen,
        )

    @work(group="export", exit_on_error=False)
    async def export_open(self, fmt: ExportFormat, *, everything: bool) -> None:
        """Export the open conversation in a worker; progress in the log's subtitle."""
        entry = self._open_entry()
        if entry is None:
            return
        log = self.log_view
        what = "all" if everything else "loaded"

        def progress(written: int, total: int | None) -> None:
            of = f" of {total:,}" if total else ""
            log.border_subtitle = f"exporting ({what}): {written:,}{of} messages"

        progress(0, None)
        try:
            path, written = await self.monitor.export(
                entry.id, fmt, everything=everything, progress=progress
            )
        except (BimpeError, OSError) as exc:
            self.notify(f"export failed: {exc}", severity="error", markup=False)
            return
        finally:
            log.border_subtitle = ""
        self.last_export = path
        self.notify(f"exported {written:,} messages to {path}", markup=False, timeout=10)

    # -- acting -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("take_over", "hand_back", "reply") and self._open_entry() is None:
            return None
        # Read-only: the keys still run, to say why nothing happens (the help,
        # the footer and the palette leave them out: see `Operator.refusal`).
        return True

    def _may_act(self) -> Entry | None:
        """The open conversation, if acting on it is allowed now; else says why not."""
        refusal = self.operator.refusal
        if refusal is not None:
            self.notify(refusal, severity="warning", markup=False)
            return None
        if dialog_open(self.app):
            return None  # one question at a time: this key was typed ahead of it
        return self._open_entry()

    def _refresh_title(self) -> None:
        entry = self._open_entry()
        if entry is not None:
            self.log_view.border_title = self._title(entry)
        self.refresh_bindings()

    def _acted(self, ok: bool, text: str) -> None:
        self.notify(text, severity="information" if ok else "error", markup=False)
        self._refresh_title()
        if not self.operator.can_act:
            self._close_compose()

    def action_take_over(self) -> None:
        """Pause the open conversation's AI (you have it), once confirmed."""
        entry = self._may_act()
        if entry is None:
            return
        c = entry.conversation
        conversation_id = entry.id
        if c.is_ai_chat_paused and entry.yours:
            self.notify("you have it already", markup=False)
            return

        def chosen(choice: str | None) -> None:
            if choice == "take-over":
                self._set_ai(conversation_id, True)

        already = " Its AI is paused already (by someone else)." if c.is_ai_chat_paused else ""
        self._ask(
            "Take over?",
            f"Pause the AI for {one_line(c.who, 40)} on {_channel(c.channel_type)}: it stops "
            f"answering until you hand back.{already}",
            [("take-over", "Take over"), ("cancel", "Cancel")],
            chosen,
        )

    def action_hand_back(self) -> None:
        """Resume the open conversation's AI, once confirmed."""
        entry = self._may_act()
        if entry is None:
            return
        c = entry.conversation
        conversation_id = entry.id
        if not c.is_ai_chat_paused:
            self.notify("the AI has it already", markup=False)
            return

        def chosen(choice: str | None) -> None:
            if choice == "hand-back":
                self._set_ai(conversation_id, False)

        self._ask(
            "Hand back?",
            f"Resume the AI for {one_line(c.who, 40)} on {_channel(c.channel_type)}: it "
            "answers the customer again.",
            [("hand-back", "Hand back to the AI"), ("cancel", "Cancel")],
            chosen,
        )

    def _ask(
        self,
        title: str,
        question: str,
        choices: list[tuple[str, str]],
        chosen: Callable[[str | None], None],
    ) -> bool:
        """A deliberate question (nothing chosen until the user moves to a choice)."""
        return open_dialog(
            self.app, ConfirmScreen(title, question, choices, deliberate=True), chosen
        )

    @work(group="act", exit_on_error=False)
    async def _set_ai(self, conversation_id: str, paused: bool, then_reply: bool = False) -> None:
        outcome = await self.operator.set_ai(conversation_id, paused)
        self._acted(outcome.ok, outcome.text)
        if then_reply and outcome.ok and self.monitor.current == conversation_id:
            self._open_compose(conversation_id)

    def action_reply(self) -> None:
        """Open the reply box; on a conversation the AI is answering, ask first."""
        entry = self._may_act()
        if entry is None:
            return
        c = entry.conversation
        conversation_id = entry.id
        if c.is_ai_chat_paused and (entry.yours or conversation_id in self._replying_anyway):
            self._open_compose(conversation_id)
            return
        if c.is_ai_chat_paused:
            # Someone else has it: two people answering one customer is asked first.

            def anyway(choice: str | None) -> None:
                if choice == "reply":
                    self._replying_anyway.add(conversation_id)
                    self._open_compose(conversation_id)

            self._ask(
                "Someone else has it",
                f"The AI for {one_line(c.who, 40)} on {_channel(c.channel_type)} was paused, "
                "not by you in this run: someone else may be answering. Reply anyway?",
                [("reply", "Reply anyway"), ("cancel", "Cancel")],
                anyway,
            )
            return

        def chosen(choice: str | None) -> None:
            if choice == "take-over":
                self._set_ai(conversation_id, True, then_reply=True)
            elif choice == "reply":
                self._open_compose(conversation_id)

        self._ask(
            "The AI is answering",
            f"The AI is answering {one_line(c.who, 40)} on {_channel(c.channel_type)}. "
            "Pause it (take over) before you reply?",
            [
                ("take-over", "Take over and reply"),
                ("reply", "Reply alongside the AI"),
                ("cancel", "Cancel"),
            ],
            chosen,
        )

    def _open_compose(self, conversation_id: str) -> None:
        if self.monitor.current != conversation_id or not self.operator.can_act:
            return
        box = self.compose_box
        if self._compose_for != conversation_id:
            box.text = self.operator.draft(conversation_id).text
            box.busy = conversation_id in self._sending
        self._compose_for = conversation_id
        box.add_class("-open")
        self.pane = "log"
        # At once: keys typed right after `c` belong in the box.
        self.set_focus(box)

    def _close_compose(self) -> None:
        conversation_id = self._compose_for
        if conversation_id is None:
            return
        box = self.compose_box
        self.operator.draft(conversation_id).text = box.text
        self._compose_for = None
        box.remove_class("-open")
        if box.has_focus:
            self.set_focus(self.log_view.lines)

    @on(ComposeBox.Cancelled)
    def _compose_cancelled(self, event: ComposeBox.Cancelled) -> None:
        event.stop()
        self._close_compose()

    @on(ComposeBox.Send)
    def _compose_send(self, event: ComposeBox.Send) -> None:
        """Send the box's text once: the box takes no other enter until this one is
        settled (sent, refused or cancelled; see `_settled`)."""
        event.stop()
        conversation_id = self._compose_for
        entry = self.monitor.book.get(conversation_id) if conversation_id else None
        if entry is None or conversation_id is None:
            self._settled(conversation_id)
            return
        if conversation_id in self._sending:
            return  # its send is still on its way: the box says so
        text = event.text
        if not self.operator.needs_send_confirmation:
            self._send(conversation_id, text)
            return
        c = entry.conversation

        def chosen(choice: str | None) -> None:
            if choice == "send":
                self.operator.confirm_sending()
                self._send(conversation_id, text)
            else:
                self._settled(conversation_id)

        host = self.monitor.base_url.split("://", 1)[-1]
        if not self._ask(
            "Send to a customer?",
            f"This message goes to {one_line(c.who, 40)} on {_channel(c.channel_type)} "
            f"({one_line(entry.agent.name, 40)}) through {one_line(host, 60)}. "
            "This is asked once per run.",
            [("send", "Send"), ("cancel", "Cancel")],
            chosen,
        ):
            self._settled(conversation_id)

    def _send(self, conversation_id: str, text: str) -> None:
        pending = self.operator.start_send(conversation_id, text)
        if pending is None:
            self._settled(conversation_id)
            return
        self._sending.add(conversation_id)
        if self._compose_for == conversation_id:
            # Only what is sent leaves the box: text typed after the enter (while
            # this was asked or queued) stays for the next message.
            box = self.compose_box
            box.text = box.text.removeprefix(text) if box.text.startswith(text) else box.text
        self._finish_send(conversation_id, pending)

    def _settled(self, conversation_id: str | None) -> None:
        """The box's send is over (or never started): enter sends again."""
        if conversation_id is not None:
            self._sending.discard(conversation_id)
        if conversation_id is None or self._compose_for == conversation_id:
            self.compose_box.busy = False

    @work(group="act", exit_on_error=False)
    async def _finish_send(self, conversation_id: str, pending: Pending) -> None:
        try:
            outcome = await self.operator.finish_send(conversation_id, pending)
        finally:
            self._settled(conversation_id)
        if not outcome.ok:
            draft = self.operator.draft(conversation_id)
            if self._compose_for == conversation_id and not self.compose_box.text.strip():
                # The text comes back where it was typed, to be sent again or edited.
                self.compose_box.text = draft.text
            self._acted(False, outcome.text)


#: The title's words for who has the conversation.
HOLDER_WORDS = {"you": "you have it", "taken": "AI paused by someone else", "AI": "AI"}


def _channel(channel_type: str) -> str:
    return one_line(channel_type.removeprefix("test_"), 20)


def _title(entry: Entry, holder: str) -> Content:
    c = entry.conversation
    channel = c.channel_type.removeprefix("test_")
    # Content, not a string: a string title is parsed as markup, and the names
    # come from the server (an escaped one can still fail to parse).
    return Content(one_line(f"{c.who} · {channel} · {entry.agent.name} · {holder}", 120))
