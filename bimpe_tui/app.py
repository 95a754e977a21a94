"""The Textual app: layout, app-wide bindings, and routing of stream events to widgets."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Footer, Header

from .api.client import ConsoleClient
from .api.errors import AuthenticationError, BimpeError
from .api.models import Agent, Conversation, Message
from .book import Book, Entry, Marker, TimelineItem, place_history
from .render import one_line
from .state import Cursor, StateStore
from .ui_messages import MessagesArrived, StreamStatusChanged
from .watcher import MAX_WATCHED, Watcher
from .widgets.help_screen import HelpScreen
from .widgets.message_log import MessageLog
from .widgets.picker import ConversationList, Picker
from .widgets.status_footer import StatusFooter

if TYPE_CHECKING:
    from .demo.server import DemoServer

#: Conversations per page when listing, and messages of history on first open.
PAGE_SIZE = 50
HISTORY_SIZE = 50
#: Pages of history searched for the last received message after a restart.
HISTORY_PAGES = 4
#: How often the picker and footer are redrawn at most (seconds).
REDRAW_INTERVAL = 0.25
#: Seconds without a byte after which a live stream is reported as quiet
#: (heartbeats come every 15 s; the watchdog acts at the read timeout).
QUIET_AFTER = 20.0

STATE_STYLES = {
    "live": "green",
    "resumed": "green",
    "gap_possible": "green",
    "frame_skipped": "green",
    "connecting": "yellow",
    "reconnecting": "yellow",
    "stalled": "yellow",
    "gave_up": "red",
    "closed": "dim",
}


@dataclass
class AppConfig:
    """What the app connects to and where it keeps its state."""

    state: StateStore
    #: Never in a repr: Textual's crash report prints local variables.
    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    #: A demo server to serve from (started by the app if it is not running).
    demo: DemoServer | None = None
    #: Extra options for every ResumableStream (tests shorten the timeouts).
    stream_options: dict[str, Any] = field(default_factory=dict)
    #: The time zone for message times (None: the machine's).
    tz: tzinfo | None = None
    #: Wall-clock seconds; tests pin it for stable screenshots.
    clock: Callable[[], float] = time.time
    #: Warnings gathered before the app started (config file problems).
    warnings: list[str] = field(default_factory=list)
    #: Where to write every message the app takes in, as JSON lines (tools, tests).
    record: TextIO | None = None


def server_key(base_url: str, demo: DemoServer | None) -> str:
    """The state file's key for a server: its base URL, or one stable key per demo world."""
    if demo is not None:
        return f"demo:seed={demo.world.seed},rate={demo.world.rate:g}"
    return base_url


class BimpeApp(App[None]):
    """Watch conversations of all agents live; resume where you left off."""

    CSS_PATH = "app.tcss"
    TITLE = "bimpe-tui"

    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("slash", "filter", "Filter", id="app.filter"),
        Binding("alt+a", "next_unread", "Next unread", id="app.next_unread"),
        Binding("right_square_bracket", "cycle(1)", "Next", id="app.next"),
        Binding("left_square_bracket", "cycle(-1)", "Previous", id="app.previous"),
        Binding("r", "retry", "Reconnect", id="app.retry"),
        *(
            Binding(f"alt+{n}", f"jump({n})", f"Conversation {n}", show=False, id=f"app.jump_{n}")
            for n in range(1, 10)
        ),
    ]

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self.config = config
        self.book = Book()
        self.state = config.state
        self.client: ConsoleClient | None = None
        self.watcher: Watcher | None = None
        self.server_key = ""
        self.current: str | None = None
        self.order: list[str] = []
        self.ready = False
        self._dirty_picker = False
        self._owns_demo = False
        self._last_filter = ""
        #: Set whenever a stream event has been applied (tests and tools wait on it).
        self.updated = asyncio.Event()

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield Picker(id="picker")
            yield MessageLog(tz=self.config.tz, id="log")
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
        self.status_footer.state_words = "starting"
        self.set_interval(REDRAW_INTERVAL, self._redraw)
        self.set_interval(1.0, self._update_footer)
        self.start_up()

    # -- start-up ---------------------------------------------------------------

    @work(group="startup", exclusive=True, exit_on_error=False)
    async def start_up(self) -> None:
        """Connect, read the state file, list conversations, reopen what was watched."""
        config = self.config
        first_attempt = self.client is None
        if first_attempt:
            for warning in config.warnings:
                self.notify(warning, severity="warning", timeout=10, markup=False)
        demo = config.demo
        if demo is not None and not demo.running:
            await demo.start()
            self._owns_demo = True
        api_key = demo.api_key if demo is not None else config.api_key
        base_url = demo.base_url if demo is not None else config.base_url
        if not api_key:
            self.exit(return_code=2, message="bimpe-tui: no API key")
            return
        self.server_key = server_key(base_url, demo)
        self.sub_title = "demo server" if demo is not None else urlsplit(base_url).netloc
        if first_attempt:
            # Once only: a retry (r) after a failed listing must not reread the
            # state file over what this run already changed, nor warn again.
            self.client = ConsoleClient(api_key, base_url)
            self.watcher = Watcher(self, self.client, config.stream_options)
            for warning in await self._load_state():
                self.notify(warning, severity="warning", timeout=10, markup=False)
        self.status_footer.state_words = "loading conversations"
        try:
            await self._load_conversations()
        except AuthenticationError as exc:
            self.exit(
                return_code=2,
                message=f"bimpe-tui: the API key was refused ({exc.status} {exc.code or ''}). "
                "Set BIMPEAI_API_KEY or api_key in the config file.",
            )
            return
        except BimpeError as exc:
            self.status_footer.state_style = "red"
            self.status_footer.state_words = f"cannot list conversations: {exc} — press r to retry"
            return
        self.ready = True
        self._restore()
        self.updated.set()

    async def _load_state(self) -> list[str]:
        return await asyncio.to_thread(self.state.load)

    async def _load_conversations(self) -> None:
        assert self.client is not None
        client = self.client
        page_no = 1
        while True:
            page = await client.list_agents(page=page_no, limit=100)
            for agent in page.items:
                self.book.add_agent(agent)
            if not page.has_next_page or not page.items:
                break
            page_no += 1
        for agent in list(self.book.agents.values()):
            await self._load_page(agent, 1)
        self._dirty_picker = True
        self._redraw()

    async def _load_page(self, agent: Agent, page_no: int) -> None:
        assert self.client is not None
        page = await self.client.list_conversations(agent.id, page=page_no, limit=PAGE_SIZE)
        self.book.add_conversations(agent, page.items)
        if page.has_next_page and page.items:
            self.book.more_pages[agent.id] = page_no + 1
        else:
            self.book.more_pages.pop(agent.id, None)

    def _restore(self) -> None:
        saved = self.state.server(self.server_key)
        for conversation_id in saved.watched[:MAX_WATCHED]:
            self.watch_conversation(conversation_id)
        target = saved.selected if saved.selected in self.book.entries else None
        if target is None and saved.selected is not None:
            cursor = saved.cursors.get(saved.selected)
            if cursor is not None:
                self.fetch_missing(cursor.agent_id, saved.selected, open_it=True)
                return
        if target is None:
            flat = self.book.flat()
            target = flat[0].id if flat else None
        if target is not None:
            self.open_conversation(target)
        self.picker.options.focus()

    @work(group="fetch", exit_on_error=False)
    async def fetch_missing(self, agent_id: str, conversation_id: str, open_it: bool) -> None:
        """Add a remembered conversation that is not on the first page of its agent."""
        assert self.client is not None
        agent = self.book.agents.get(agent_id)
        if agent is None:
            return
        try:
            detail = await self.client.get_conversation(agent_id, conversation_id)
        except BimpeError as exc:
            self.notify(f"cannot reopen {conversation_id}: {exc}", severity="warning", markup=False)
            return
        self.book.add_conversations(agent, [detail])
        self._dirty_picker = True
        if open_it:
            self.open_conversation(conversation_id)
        else:
            self.watch_conversation(conversation_id)

    # -- opening and watching ----------------------------------------------------

    def open_conversation(self, conversation_id: str) -> None:
        """Show a conversation in the log, and watch it if it is not yet watched."""
        entry = self.book.get(conversation_id)
        if entry is None:
            return
        if self.current != conversation_id and self.current is not None:
            left = self.book.get(self.current)
            if left is not None:
                left.gap_possible = False
        self.current = conversation_id
        entry.last_viewed = time.monotonic()
        saved = self.state.server(self.server_key)
        saved.selected = conversation_id
        self.state.changed()
        self.picker.highlight(conversation_id)
        self.log_view.show(_title(entry), list(entry.timeline.items), now=self._now_datetime())
        if not entry.watched:
            self.watch_conversation(conversation_id)
        self._mark_seen()
        self._dirty_picker = True
        self._update_footer()

    def watch_conversation(self, conversation_id: str) -> None:
        """Load history and start streaming a conversation in the background."""
        entry = self.book.get(conversation_id)
        if entry is None:
            remembered = self.state.server(self.server_key).cursors.get(conversation_id)
            if remembered is not None:
                self.fetch_missing(remembered.agent_id, conversation_id, open_it=False)
            return
        if entry.watched:
            return
        entry.watched = True
        saved = self.state.server(self.server_key)
        if conversation_id not in saved.watched:
            saved.watched.append(conversation_id)
        saved.cursors.setdefault(conversation_id, Cursor(agent_id=entry.agent.id))
        self.state.changed()
        self._limit_watched()
        self.load_history_then_stream(entry)

    def _limit_watched(self) -> None:
        watched = [e for e in self.book.watched() if e.id != self.current]
        excess = len(watched) + (1 if self.current else 0) - MAX_WATCHED
        if excess <= 0:
            return
        for entry in sorted(watched, key=lambda e: e.last_viewed)[:excess]:
            self.unwatch(
                entry,
                reason=f"stopped watching {entry.conversation.who}: {MAX_WATCHED} streams at most",
            )

    def unwatch(self, entry: Entry, reason: str) -> None:
        """Stop streaming a conversation and say so."""
        assert self.watcher is not None
        self.watcher.stop(entry.id)
        entry.watched = False
        entry.status = None
        saved = self.state.server(self.server_key)
        if entry.id in saved.watched:
            saved.watched.remove(entry.id)
        self.state.changed()
        self.notify(reason, severity="information", markup=False)
        self._dirty_picker = True

    @work(group="history", exit_on_error=False)
    async def load_history_then_stream(self, entry: Entry) -> None:
        """First open: the latest page of history, then stream after its newest message."""
        assert self.client is not None
        assert self.watcher is not None
        cursor = self.state.server(self.server_key).cursors.get(entry.id)
        received = cursor.received if cursor else None
        received_at = cursor.received_at if cursor else None
        if not entry.history_loaded:
            try:
                history = await self._history_until(entry, received)
            except BimpeError as exc:
                entry.timeline.mark(Marker("info", f"history unavailable: {exc}"))
                history = []
            entry.unread += place_history(
                entry.timeline,
                history,
                received=received,
                received_at=received_at,
                seen=cursor.seen if cursor else None,
                keep=HISTORY_SIZE,
            )
            if self.config.record is not None:
                self._write_record(entry.id, list(entry.timeline.items))
            entry.history_loaded = True
            if received is None and entry.timeline.last_message is not None:
                last = entry.timeline.last_message
                received, received_at = last.id, last.created_at
                self._record_received(entry, last.id, last.created_at)
            if self.current == entry.id:
                self.log_view.show(
                    _title(entry), list(entry.timeline.items), now=self._now_datetime()
                )
                self._mark_seen()
            self._dirty_picker = True
        if entry.watched:
            self.watcher.start(
                entry.agent.id, entry.id, after=received, after_created_at=received_at
            )
        self.updated.set()

    async def _history_until(self, entry: Entry, received: str | None) -> list[Message]:
        """The newest history, newest first, reaching back to `received` when there is one.

        After a long absence the newest page is all news; going back a few
        pages finds the last message received, so the "new since you left"
        divider has the conversation's context above it.
        """
        assert self.client is not None
        history: list[Message] = []
        for page_no in range(1, HISTORY_PAGES + 1):
            page = await self.client.list_messages(
                entry.agent.id, entry.id, page=page_no, limit=HISTORY_SIZE
            )
            history.extend(page.items)
            found = received is not None and any(m.id == received for m in page.items)
            if received is None or found or not page.has_next_page or not page.items:
                break
        return history

    # -- stream events ------------------------------------------------------------

    @on(MessagesArrived)
    def _messages_arrived(self, event: MessagesArrived) -> None:
        entry = self.book.get(event.conversation_id)
        if entry is None or not entry.watched:
            return
        added = entry.timeline.add(event.messages)
        if not added:
            return
        if self.config.record is not None:
            self._write_record(entry.id, added)
        last = entry.timeline.last_message
        if last is not None:
            self._record_received(entry, last.id, last.created_at)
        fresh = sum(1 for item in added if not isinstance(item, Marker))
        if entry.id == self.current:
            self.log_view.append(added, now=self._now_datetime())
            if not self._mark_seen():
                entry.unread += fresh
        else:
            entry.unread += fresh
        self._dirty_picker = True
        self.updated.set()

    def _write_record(self, conversation_id: str, items: list[TimelineItem]) -> None:
        # Written before the state file can move the received cursor past
        # these messages, so a crash never leaves the cursor ahead of the record.
        record = self.config.record
        assert record is not None
        for item in items:
            if isinstance(item, Message):
                record.write(json.dumps({"c": conversation_id, "id": item.id}) + "\n")
        record.flush()

    def _record_received(self, entry: Entry, message_id: str, created_at: str) -> None:
        cursor = self.state.server(self.server_key).cursors.setdefault(
            entry.id, Cursor(agent_id=entry.agent.id)
        )
        cursor.received = message_id
        cursor.received_at = created_at or None
        self.state.changed()

    @on(StreamStatusChanged)
    def _status_changed(self, event: StreamStatusChanged) -> None:
        entry = self.book.get(event.conversation_id)
        if entry is None or not entry.watched:
            return
        status = event.status
        entry.status = status
        if status.state == "live":
            entry.connections += 1
        elif status.state == "gap_possible":
            entry.gap_possible = True
            self._add_marker(entry, Marker("gap", f"gap possible — {status.cause}"))
        elif status.state == "frame_skipped":
            # Something the server sent could not be shown: say so where it was.
            self._add_marker(entry, Marker("info", status.describe()))
        elif status.state == "resumed" and status.replayed and entry.connections > 1:
            # Said once the replay is over, so the divider follows what came back.
            self._add_marker(
                entry, Marker("resumed", f"reconnected — {status.replayed} replayed ↑")
            )
        if entry.id == self.current:
            self._update_footer()
        self._dirty_picker = True
        self.updated.set()

    # -- seen cursor --------------------------------------------------------------

    def _mark_seen(self) -> bool:
        """Advance the seen cursor if the user can see the newest message now."""
        entry = self.book.get(self.current) if self.current else None
        if entry is None or not self.app_focus or not self.log_view.following:
            return False
        if isinstance(self.screen, HelpScreen):
            return False
        last = entry.timeline.last_message
        entry.unread = 0
        if last is None:
            return True
        cursor = self.state.server(self.server_key).cursors.setdefault(
            entry.id, Cursor(agent_id=entry.agent.id)
        )
        if cursor.seen != last.id:
            cursor.seen = last.id
            self.state.changed()
            self._dirty_picker = True
        return True

    def watch_app_focus(self, focused: bool) -> None:
        if focused:
            self._mark_seen()

    def _add_marker(self, entry: Entry, marker: Marker) -> None:
        entry.timeline.mark(marker)
        if entry.id == self.current:
            self.log_view.append([marker])

    @on(MessageLog.NeedsRedraw)
    def _redraw_log(self) -> None:
        entry = self.book.get(self.current) if self.current else None
        if entry is not None:
            self.log_view.show(_title(entry), list(entry.timeline.items), now=self._now_datetime())

    @on(MessageLog.ReachedEnd)
    def _reached_end(self) -> None:
        self._mark_seen()

    # -- picker ---------------------------------------------------------------------

    @on(Picker.Chosen)
    def _chosen(self, event: Picker.Chosen) -> None:
        self.open_conversation(event.conversation_id)
        self.log_view.lines.focus()

    @on(Picker.LoadMore)
    def _load_more(self, event: Picker.LoadMore) -> None:
        self.load_more(event.agent_id)

    @work(group="pages", exit_on_error=False)
    async def load_more(self, agent_id: str) -> None:
        """Load an agent's next page of conversations."""
        agent = self.book.agents.get(agent_id)
        page_no = self.book.more_pages.get(agent_id)
        if agent is None or page_no is None:
            return
        try:
            await self._load_page(agent, page_no)
        except BimpeError as exc:
            self.notify(f"cannot load more conversations: {exc}", severity="error", markup=False)
        self._dirty_picker = True

    @property
    def redraw_pending(self) -> bool:
        """Whether the picker shows stale rows until the next redraw tick."""
        return self._dirty_picker

    def _redraw(self) -> None:
        picker = self.picker
        if picker.filter_text != self._last_filter:
            self._last_filter = picker.filter_text
            self._dirty_picker = True
        if not self._dirty_picker:
            return
        self._dirty_picker = False
        self.order = picker.show_rows(
            self.book.ordered(picker.filter_text), self.config.clock(), self.book.more_pages
        )
        self._update_footer()

    def _update_footer(self) -> None:
        footer = self.status_footer
        counts = self.book.summary()
        if self.book.watched():
            footer.summary = " · ".join(f"{n} {label}" for label, n in counts.items())
        entry = self.book.get(self.current) if self.current else None
        if entry is None:
            return
        status = entry.status
        if status is None:
            footer.state_words, footer.state_style = "not watched", "dim"
            footer.activity = ""
            return
        words = status.describe()
        style = STATE_STYLES.get(status.state, "")
        if status.state in ("resumed", "gap_possible", "frame_skipped"):
            words = "live"
        if status.state == "gave_up":
            words = f"{words} — press r to retry"
        age = self._activity_age(entry)
        if words == "live" and entry.gap_possible:
            # Said until the user has looked at the conversation again.
            words, style = "live · gap possible: the server could not resume by id", "yellow"
        if words.startswith("live") and age is not None and age >= QUIET_AFTER:
            # Heartbeats should have come by now: say so before the watchdog acts.
            words, style = f"live, but no data for {age:.0f} s", "yellow"
        footer.state_words = words
        footer.state_style = style
        footer.activity = self._activity_words(age)

    def _activity_age(self, entry: Entry) -> float | None:
        last = self.watcher.last_activity(entry.id) if self.watcher is not None else None
        return None if last is None else max(0.0, time.monotonic() - last)

    @staticmethod
    def _activity_words(age: float | None) -> str:
        if age is None:
            return ""
        return "data just now" if age < 1 else f"last data {age:.0f} s ago"

    # -- actions --------------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key binding."""
        self.push_screen(HelpScreen(self.binding_sections()))

    def binding_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every binding the user can press, by where it applies."""

        def rows(bindings: Iterable[Binding | tuple[str, ...]]) -> list[tuple[str, str]]:
            out = []
            for binding in bindings:
                if isinstance(binding, Binding):
                    out.append((self.get_key_display(binding), binding.description))
            return out

        return [
            (
                "everywhere",
                [
                    *rows(self.BINDINGS),
                    ("tab / shift+tab", "Move focus"),
                    ("ctrl+p", "Command palette"),
                    ("ctrl+q", "Quit"),
                ],
            ),
            (
                "conversation list",
                [
                    ("up / down, j / k", "Move"),
                    ("enter", "Open"),
                    *rows(ConversationList.BINDINGS),
                    *rows(Picker.BINDINGS),
                ],
            ),
            (
                "message log",
                [("up / down, page up / page down", "Scroll"), *rows(MessageLog.BINDINGS)],
            ),
        ]

    def action_filter(self) -> None:
        """Type to narrow the conversation list."""
        self.picker.open_filter()

    def action_jump(self, number: int) -> None:
        """Open the Nth conversation in the list."""
        if 0 < number <= len(self.order):
            self.open_conversation(self.order[number - 1])

    def action_cycle(self, step: int) -> None:
        """Open the next (step 1) or previous (step -1) conversation in the list."""
        if not self.order:
            return
        if self.current in self.order:
            index = (self.order.index(self.current) + step) % len(self.order)
        else:
            index = 0
        self.open_conversation(self.order[index])

    def action_next_unread(self) -> None:
        """Open the next conversation with unread messages or needing attention."""
        if not self.order:
            return
        start = self.order.index(self.current) + 1 if self.current in self.order else 0
        for offset in range(len(self.order)):
            candidate = self.order[(start + offset) % len(self.order)]
            entry = self.book.entries[candidate]
            if candidate != self.current and (entry.unread or entry.conversation.needs_attention):
                self.open_conversation(candidate)
                return
        self.notify("nothing unread", markup=False)

    def action_retry(self) -> None:
        """Reconnect the open conversation's stream if it gave up (or retry loading)."""
        if not self.ready:
            self.start_up()
            return
        entry = self.book.get(self.current) if self.current else None
        if entry is None:
            return
        if entry.status is not None and entry.status.state == "gave_up":
            assert self.watcher is not None
            cursor = self.state.server(self.server_key).cursors.get(entry.id)
            entry.status = None
            self.watcher.start(
                entry.agent.id,
                entry.id,
                after=cursor.received if cursor else None,
                after_created_at=cursor.received_at if cursor else None,
            )
            self._update_footer()
        elif not entry.watched:
            self.watch_conversation(entry.id)
        else:
            self.notify("the stream has not given up", markup=False)

    async def action_quit(self) -> None:
        """Leave; where you are is saved on the way out."""
        self.exit()

    async def on_unmount(self) -> None:
        await self.shut_down()

    async def shut_down(self) -> None:
        """Stop the streams, save the state file, stop an embedded demo server."""
        if self.watcher is not None:
            self.watcher.stop_all()
        await self.state.flush()
        if self.client is not None:
            await self.client.aclose()
        if self._owns_demo and self.config.demo is not None:
            await self.config.demo.stop()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Next unread", "Open the next conversation with unread", self.action_next_unread
        )
        yield SystemCommand(
            "Next conversation", "Open the next conversation", lambda: self.action_cycle(1)
        )
        yield SystemCommand(
            "Previous conversation", "Open the previous one", lambda: self.action_cycle(-1)
        )
        yield SystemCommand("Filter conversations", "Type to narrow the list", self.action_filter)
        yield SystemCommand("Reconnect", "Reconnect a stream that gave up", self.action_retry)
        yield SystemCommand("Keys", "Show every key binding", self.action_help)

    def _now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.config.clock(), UTC)


def _title(entry: Entry) -> str:
    c: Conversation = entry.conversation
    channel = c.channel_type.removeprefix("test_")
    # A border title is parsed as markup: the names come from the server.
    return escape(one_line(f"{c.who} · {channel} · {entry.agent.name}", 120))
