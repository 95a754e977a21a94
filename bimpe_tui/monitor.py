"""The monitor: what the app does with the service, streams, cursors and the state file.

`Monitor` is to the app what `ResumableStream` is to `tail`: the whole
behaviour, without Textual. It lists the conversations, watches them (one
stream task each, at most `MAX_WATCHED`), places history, keeps the received
and seen cursors, turns stream statuses into timeline markers, and emits
plain `MonitorEvent`s that a shell renders. The shell sends it intents
(`open`, `watch`, `retry`, `seen_now`) and decides nothing about streams or
cursors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TextIO

from .alerts import Alert, Alerter, AlertRules, Decision, conversation_alerts, highlight_alert
from .api.client import ConsoleClient
from .api.errors import AuthenticationError, BimpeError, RateLimitError
from .api.models import Agent, Conversation, Message
from .api.stream import ResumableStream, StreamStatus, parse_timestamp
from .book import Book, Entry, Marker, Older, TimelineItem, place_history
from .config import AlertSettings
from .details import DetailFetcher
from .export import (
    ExportFormat,
    ExportHeader,
    Progress,
    atomic_text_file,
    export_conversation,
    export_file_name,
    export_messages,
)
from .history import HistoryError, HistoryPager, Window, newer_than, window_around
from .refresh import AGENTS_INTERVAL, DEFAULT_INTERVAL, RefreshSchedule, list_health
from .render import gap_words
from .rules import WatchRules
from .state import Cursor, ServerState, StateStore
from .waits import DEFAULT_WAITS, WaitRules

if TYPE_CHECKING:
    from .demo.server import DemoServer

#: Conversations per page when listing, and messages of history on first open.
PAGE_SIZE = 50
HISTORY_SIZE = 50
#: Conversation lists come newest activity first, at start-up and on every refresh.
LIST_SORT = "-last_message_at"
#: Pages of history searched for the last received message after a restart.
HISTORY_PAGES = 4
#: Streams at once; beyond this the least recently viewed conversation stops.
MAX_WATCHED = 50


@dataclass
class MonitorConfig:
    """What the monitor connects to and where it keeps its state."""

    state: StateStore
    #: Never in a repr: Textual's crash report prints local variables.
    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    #: A demo server to serve from (started by the monitor if it is not running).
    demo: DemoServer | None = None
    #: Extra options for every ResumableStream (tests shorten the timeouts).
    stream_options: dict[str, Any] = field(default_factory=dict)
    #: Wall-clock seconds; tests pin it for stable screenshots.
    clock: Callable[[], float] = time.time
    #: Where to write every message as it leaves a stream or history, as JSON lines.
    record: TextIO | None = None
    #: Called with every batch of messages as it leaves a stream, before the
    #: timeline drops repeats: what soak and tests count duplicates on.
    tap: Callable[[str, Sequence[Message]], None] | None = None
    #: Seconds between refreshes of each agent's conversation list (0: never).
    refresh_interval: float = DEFAULT_INTERVAL
    #: Auto-watch rules (`needs_attention`, `new`, `agent:ID`, `channel:NAME`).
    auto_watch: tuple[str, ...] = ()
    #: What alerts and how.
    alerts: AlertSettings = field(default_factory=AlertSettings)
    #: When a customer's wait shows, is coloured and alerts (config `[waits]`).
    waits: WaitRules = DEFAULT_WAITS
    #: Wrap terminal notifications for tmux's passthrough.
    tmux_passthrough: bool = False
    #: After the server's key in the state file: a tool with cursors of its own
    #: (`bimpe-tui watch`) keeps them apart from the app's.
    state_scope: str = ""
    #: Where exports from the app are written (None: the user's downloads directory).
    export_dir: str | None = None


# -- events the shell renders ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListChanged:
    """Rows of the conversation list changed (order, unread, state, new rows)."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A conversation became the open one: show its whole timeline."""

    conversation_id: str


@dataclass(frozen=True, slots=True)
class TimelineReplaced:
    """A conversation's timeline was rebuilt (history placed): draw it again if open.

    `keep_place`: only items changed in place (a sent message's "sending…"
    item), or older messages were put on top: a reader scrolled up stays where
    they are. `above`: how many older messages were put on top (the view moves
    down by their lines, so the reader's place holds); `gone`, what was taken
    from the top (it moves up by theirs).
    """

    conversation_id: str
    keep_place: bool = False
    above: int = 0
    #: Items let go of from the top (a window moved on towards the newest).
    gone: tuple[TimelineItem, ...] = ()
    #: New messages among the items (a reader scrolled up counts them as new).
    arrived: int = 0


@dataclass(frozen=True, slots=True)
class Appended:
    """Items were added at the end of a conversation's timeline."""

    conversation_id: str
    items: list[TimelineItem]


@dataclass(frozen=True, slots=True)
class Reveal:
    """Show this message of a conversation, if it is the open one (a jump to it)."""

    conversation_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """A conversation's stream changed what it is doing."""

    conversation_id: str
    status: StreamStatus


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell the user once (a toast)."""

    text: str
    severity: Literal["information", "warning", "error"] = "information"


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    """Start-up moved on: `phase` says where, in words; `failed` if it stopped there."""

    phase: str
    failed: bool = False


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """Tell the user now: a toast with `title` and `body`, and `terminal` written as is."""

    decision: Decision


@dataclass(frozen=True, slots=True)
class Fatal:
    """The monitor cannot run at all (no key, key refused): the app should exit."""

    message: str
    exit_code: int = 2


MonitorEvent = (
    ListChanged
    | Opened
    | TimelineReplaced
    | Appended
    | Reveal
    | StatusChanged
    | Notice
    | PhaseChanged
    | AlertRaised
    | Fatal
)


def server_key(base_url: str, demo: DemoServer | None) -> str:
    """The state file's key for a server: its base URL, or one stable key per demo world."""
    if demo is not None:
        return f"demo:seed={demo.world.seed},rate={demo.world.rate:g}"
    return base_url


class Monitor:
    """Every conversation of every agent, the watched ones streaming; no Textual."""

    def __init__(
        self,
        config: MonitorConfig,
        emit: Callable[[MonitorEvent], None],
        *,
        can_see: Callable[[], bool] = lambda: True,
    ) -> None:
        """`emit` receives every event; `can_see()` says whether the user can see the
        newest message of the open conversation right now (moves the seen cursor)."""
        self.config = config
        self.emit = emit
        self.can_see = can_see
        self.book = Book()
        self.state = config.state
        self.state.on_error = self._state_trouble
        self.client: ConsoleClient | None = None
        self.server_key = ""
        self.base_url = ""
        self.current: str | None = None
        #: The open conversation was opened with "peek": its seen cursor stays put.
        self.peeking = False
        self.ready = False
        self.phase = "starting"
        self._owns_demo = False
        self._streams: dict[str, ResumableStream] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Live messages that may carry attachments are fetched once more (see details).
        self.details = DetailFetcher(self._fetch_message, self._spawn, self._detailed)
        self.alert_rules = AlertRules(config.alerts)
        self.alerter = Alerter(config.alerts, tmux_passthrough=config.tmux_passthrough)
        self._flush_handle: asyncio.TimerHandle | None = None
        self.watch_rules = WatchRules.parse(config.auto_watch)
        #: Per agent: when its list is refreshed next, and how the last refresh went.
        self.schedules: dict[str, RefreshSchedule] = {}
        #: Per agent: how many pages of its conversations are loaded (and refreshed).
        self._pages: dict[str, int] = {}
        #: Wall-clock time of the first listing (what "new" is measured from).
        self._listed_at: float | None = None
        #: Per conversation: the pager back into its history, and the message id it
        #: continues from (a moved window starts a new pager).
        self._pagers: dict[str, tuple[HistoryPager, str]] = {}
        #: Conversations whose newest page is being fetched again (see return_to_newest).
        self._refilling: set[str] = set()
        #: Per conversation moved to a place in its history (a jump): the position of
        #: the newest message held, counted from the first, and its id.
        self._ahead: dict[str, tuple[int, str]] = {}
        #: Conversations whose next newer page is on its way (see load_newer).
        self._loading_newer: set[str] = set()

    @property
    def saved(self) -> ServerState:
        """What the state file holds for this server."""
        return self.state.server(self.server_key)

    def cursor(self, entry: Entry) -> Cursor:
        """The conversation's cursor, created if it has none."""
        return self.saved.cursors.setdefault(entry.id, Cursor(agent_id=entry.agent.id))

    # -- start-up -------------------------------------------------------------------

    def _phase(self, phase: str, failed: bool = False) -> None:
        self.phase = phase
        self.emit(PhaseChanged(phase, failed))

    async def start(self) -> None:
        """Connect, read the state file, list conversations, reopen what was watched.

        Safe to call again after a failed listing (the `r` key): the state file
        is read and its warnings given only on the first call.
        """
        config = self.config
        demo = config.demo
        if demo is not None and not demo.running:
            await demo.start()
            self._owns_demo = True
        api_key = demo.api_key if demo is not None else config.api_key
        self.base_url = demo.base_url if demo is not None else config.base_url
        if not api_key:
            self.emit(Fatal("bimpe-tui: no API key"))
            return
        self.server_key = server_key(self.base_url, demo) + config.state_scope
        if self.client is None:
            self.client = ConsoleClient(api_key, self.base_url)
            for warning in await asyncio.to_thread(self.state.open):
                self.emit(Notice(warning, "warning"))
        self._phase("loading conversations")
        if self._listed_at is None:
            self._listed_at = config.clock()
        try:
            await self._load_conversations()
        except AuthenticationError as exc:
            self.emit(
                Fatal(
                    f"bimpe-tui: the API key was refused ({exc.status} {exc.code or ''}). "
                    "Set BIMPEAI_API_KEY or api_key in the config file."
                )
            )
            return
        except BimpeError as exc:
            self._phase(f"cannot list conversations: {exc} — press r to retry", failed=True)
            return
        self.ready = True
        self._phase("ready")
        self.emit(ListChanged())
        self._restore()
        self._auto_watch()
        if config.refresh_interval > 0:
            for agent in self.book.agents.values():
                self._start_refresher(agent)
            self._spawn(self._refresh_agents())

    async def _load_conversations(self) -> None:
        assert self.client is not None
        page_no = 1
        while True:
            page = await self.client.list_agents(page=page_no, limit=100)
            for agent in page.items:
                self.book.add_agent(agent)
            if not page.has_next_page or not page.items:
                break
            page_no += 1
        for agent in list(self.book.agents.values()):
            await self._load_page(agent, 1)

    async def _load_page(self, agent: Agent, page_no: int) -> None:
        assert self.client is not None
        page = await self.client.list_conversations(
            agent.id, page=page_no, limit=PAGE_SIZE, sort=LIST_SORT
        )
        self.book.add_conversations(agent, page.items)
        self._pages[agent.id] = max(page_no, self._pages.get(agent.id, 0))
        if page.has_next_page and page.items:
            self.book.more_pages[agent.id] = page_no + 1
        else:
            self.book.more_pages.pop(agent.id, None)

    async def load_more(self, agent_id: str) -> None:
        """Load an agent's next page of conversations."""
        agent = self.book.agents.get(agent_id)
        page_no = self.book.more_pages.get(agent_id)
        if agent is None or page_no is None:
            return
        try:
            await self._load_page(agent, page_no)
        except BimpeError as exc:
            self.emit(Notice(f"cannot load more conversations: {exc}", "error"))
        self.emit(ListChanged())

    def _restore(self) -> None:
        saved = self.saved
        for conversation_id in saved.watched[:MAX_WATCHED]:
            self.watch(conversation_id)
        target = saved.selected if saved.selected in self.book.entries else None
        if target is None and saved.selected is not None:
            cursor = saved.cursors.get(saved.selected)
            if cursor is not None:
                self._spawn(self.fetch_missing(cursor.agent_id, saved.selected, open_it=True))
                return
        if target is None:
            flat = self.book.flat()
            target = flat[0].id if flat else None
        if target is not None:
            # Peeked at when the app stopped: still peeked at (its messages stay unread).
            self.open(target, peek=saved.peeking and target == saved.selected)

    async def fetch_missing(self, agent_id: str, conversation_id: str, open_it: bool) -> None:
        """Add a remembered conversation that is not on the first page of its agent."""
        assert self.client is not None
        agent = self.book.agents.get(agent_id)
        if agent is None:
            return
        try:
            detail = await self.client.get_conversation(agent_id, conversation_id)
        except BimpeError as exc:
            self.emit(Notice(f"cannot reopen {conversation_id}: {exc}", "warning"))
            return
        self.book.add_conversations(agent, [detail])
        self.emit(ListChanged())
        if open_it:
            self.open(conversation_id, peek=self.saved.peeking)
        else:
            self.watch(conversation_id)

    # -- opening and watching -------------------------------------------------------

    def open(self, conversation_id: str, *, peek: bool = False) -> None:
        """Make a conversation the open one, and watch it if it is not yet watched.

        `peek`: its seen cursor stays where it is while it is open (and its
        unread count keeps counting), until a conversation is opened normally.
        """
        entry = self.book.get(conversation_id)
        if entry is None:
            return
        self.peeking = peek
        if self.current != conversation_id and self.current is not None:
            left = self.book.get(self.current)
            if left is not None:
                left.gap_possible = False
        self.current = conversation_id
        entry.last_viewed = time.monotonic()
        entry.new = entry.active = False
        entry.visited = True
        self.saved.selected = conversation_id
        self.saved.peeking = peek
        self.state.changed()
        if not entry.watched:
            # First, so the shell never shows an opened conversation as unwatched.
            self.watch(conversation_id)
        self.emit(Opened(conversation_id))
        self.seen_now()
        self.emit(ListChanged())

    def watch(self, conversation_id: str, reason: str = "you") -> None:
        """Load history and start streaming a conversation in the background.

        `reason` says why: "you", or the auto-watch rule that asked for it.
        """
        entry = self.book.get(conversation_id)
        if entry is None:
            remembered = self.saved.cursors.get(conversation_id)
            if remembered is not None:
                self._spawn(self.fetch_missing(remembered.agent_id, conversation_id, False))
            return
        if entry.watched:
            return
        entry.watched = True
        entry.watched_by = reason
        entry.active = False
        saved = self.saved
        if conversation_id not in saved.watched:
            saved.watched.append(conversation_id)
        self.cursor(entry)
        self.state.changed()
        self._limit_watched()
        self._spawn(self._history_then_stream(entry))

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
        self._stop_stream(entry.id)
        entry.watched = False
        entry.status = None
        saved = self.saved
        if entry.id in saved.watched:
            saved.watched.remove(entry.id)
        self.state.changed()
        self.emit(Notice(reason))
        self.emit(ListChanged())

    async def _history_then_stream(self, entry: Entry) -> None:
        """First open: the latest page of history, then stream after its newest message."""
        cursor = self.saved.cursors.get(entry.id)
        received = cursor.received if cursor else None
        received_at = cursor.received_at if cursor else None
        if not entry.history_loaded:
            try:
                history = await self._history_until(entry, received)
            except BimpeError as exc:
                entry.timeline.mark(Marker("info", f"history unavailable: {exc}"))
                history = []
            if received is None and len(history) > HISTORY_SIZE:
                # A first open: saved now, before its page is shown, the cursor
                # says the page and all after it are still to come. Killed
                # before the debounced save, a run used to leave no cursor, and
                # the restart opened the conversation afresh on the newest page:
                # whatever arrived between the two pages was never delivered.
                # The message just before the page is history, never claimed.
                # Saved before the page is placed: nothing else sees a timeline
                # with its history in but not yet announced.
                self._record_received(entry, history[HISTORY_SIZE])
                await self.state.flush()
            entry.unread += place_history(
                entry.timeline,
                history,
                received=received,
                received_at=received_at,
                seen=cursor.seen if cursor else None,
                keep=HISTORY_SIZE,
            )
            entry.history_loaded = True
            self._write_record(
                entry.id, [i for i in entry.timeline.items if isinstance(i, Message)]
            )
            last = entry.timeline.last_message
            if received is None and last is not None:
                received, received_at = last.id, last.created_at
                self._record_received(entry, last)
            self.emit(TimelineReplaced(entry.id))
            if self.current == entry.id:
                self.seen_now()
            self.emit(ListChanged())
        if entry.watched:
            self._start_stream(entry, received, received_at)

    async def _history_until(self, entry: Entry, received: str | None) -> list[Message]:
        """The newest history, newest first, reaching back to `received` when there is one.

        After a long absence the newest page is all news; going back a few
        pages finds the last message received, so the "new since you left"
        divider has the conversation's context above it.
        """
        assert self.client is not None
        history: list[Message] = []
        # A first open takes one page, one message longer than it shows: the
        # message before what it shows is its first saved cursor.
        limit = HISTORY_SIZE if received is not None else HISTORY_SIZE + 1
        for page_no in range(1, HISTORY_PAGES + 1):
            page = await self.client.list_messages(
                entry.agent.id, entry.id, page=page_no, limit=limit
            )
            history.extend(page.items)
            found = received is not None and any(m.id == received for m in page.items)
            if received is None or found or not page.has_next_page or not page.items:
                break
        return history

    # -- streams --------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        # Kept until done: the loop holds tasks only weakly.
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def _fetch_message(self, agent_id: str, conversation_id: str, message_id: str) -> Message:
        if self.client is None:
            raise BimpeError("not connected")
        return await self.client.get_message(agent_id, conversation_id, message_id)

    def _detailed(self, conversation_id: str, message: Message) -> None:
        """A live message's details came: it looks as history would show it."""
        entry = self.book.get(conversation_id)
        if entry is None or not entry.timeline.replace_message(message):
            return
        if not entry.timeline.detached:
            self.emit(TimelineReplaced(conversation_id, keep_place=True))

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.emit(Notice(f"internal error: {type(exc).__name__}: {exc}", "error"))

    def _start_stream(self, entry: Entry, after: str | None, after_created_at: str | None) -> None:
        assert self.client is not None
        self._stop_stream(entry.id)
        stream = ResumableStream(
            self.client,
            entry.agent.id,
            entry.id,
            after=after,
            after_created_at=after_created_at,
            **self.config.stream_options,
        )
        self._streams[entry.id] = stream
        task = asyncio.get_running_loop().create_task(self._pump(entry.id, stream))
        self._pumps[entry.id] = task
        task.add_done_callback(self._task_done)

    def _stop_stream(self, conversation_id: str) -> None:
        task = self._pumps.pop(conversation_id, None)
        self._streams.pop(conversation_id, None)
        if task is not None:
            task.cancel()

    def last_activity(self, conversation_id: str) -> float | None:
        """time.monotonic() of the stream's last byte, if it is streaming."""
        stream = self._streams.get(conversation_id)
        return stream.last_activity if stream is not None else None

    async def _pump(self, conversation_id: str, stream: ResumableStream) -> None:
        """Apply one stream's events; messages go up in batches.

        Everything the stream yields before it next waits for the network is
        delivered as one batch, so a burst of thousands costs the shell a
        handful of updates, not thousands.
        """
        loop = asyncio.get_running_loop()
        batch: list[Message] = []

        def flush() -> None:
            if batch:
                messages = batch.copy()
                batch.clear()
                self._deliver(conversation_id, stream, messages)

        async with stream:
            async for event in stream:
                if isinstance(event, Message):
                    batch.append(event)
                    if len(batch) == 1:
                        # Runs once the stream waits for the network: every
                        # message parsed from the bytes at hand goes up together.
                        loop.call_soon(flush)
                    continue
                flush()  # keep order: messages before the status that follows them
                self._apply_status(conversation_id, stream, event)
        flush()

    def _deliver(
        self, conversation_id: str, stream: ResumableStream, messages: list[Message]
    ) -> None:
        if self._streams.get(conversation_id) is not stream:
            return  # a stream that was stopped or replaced: its leftovers are moot
        # Counted as they leave the stream, before the timeline drops repeats.
        if self.config.tap is not None:
            self.config.tap(conversation_id, messages)
        self._write_record(conversation_id, messages)
        entry = self.book.get(conversation_id)
        if entry is None or not entry.watched:
            return
        before = entry.timeline.last_message
        added = entry.timeline.add(messages)
        entry.forget_start()
        last = entry.timeline.last_message
        if last is not None and last is not before:
            # Also when nothing was added: the stream's copy of a sent message
            # (shown from the POST's answer) is where delivery now stands.
            self._record_received(entry, last)
        if not added:
            if last is not before and entry.id == self.current:
                self.seen_now()  # your own message is read where you are
            return
        self.details.want(
            entry.agent.id, conversation_id, (m for m in added if isinstance(m, Message))
        )
        # Spans first: the log draws what was appended with its highlights.
        self._highlight(entry, added)
        fresh = sum(1 for item in added if isinstance(item, Message))
        if entry.timeline.take_replaced():
            # Put before a sent message still waiting for the stream: not at the
            # end, so the log draws it all again. Never also appended: drawn twice.
            self.emit(TimelineReplaced(conversation_id, keep_place=True, arrived=fresh))
        elif not entry.timeline.detached:
            # A window moved back into history shows none of them (see Timeline.add).
            self.emit(Appended(conversation_id, added))
        if entry.id != self.current or not self.seen_now():
            entry.unread += fresh
            if fresh:
                entry.visited = False  # news: back on the hotlist
        self.emit(ListChanged())

    def _apply_status(
        self, conversation_id: str, stream: ResumableStream, status: StreamStatus
    ) -> None:
        if self._streams.get(conversation_id) is not stream:
            return
        entry = self.book.get(conversation_id)
        if entry is None or not entry.watched:
            return
        entry.status = status
        marker = self.marker_for(entry, status)
        if marker is not None:
            entry.timeline.mark(marker)
            self.emit(Appended(conversation_id, [marker]))
        self.emit(StatusChanged(conversation_id, status))
        self.emit(ListChanged())

    @staticmethod
    def marker_for(entry: Entry, status: StreamStatus) -> Marker | None:
        """What a status leaves in the timeline (and the entry's counters it moves)."""
        if status.state == "live":
            entry.connections += 1
        elif status.state == "gap_possible":
            entry.gap_possible = True
            return Marker("gap", gap_words(status.cause or "", status.after))
        elif status.state == "frame_skipped":
            # Something the server sent could not be shown: say so where it was.
            return Marker("info", status.describe())
        elif status.state == "resumed":
            # The replay is over: what comes next arrived while the app was
            # running, so a "new since you left" still waiting for a message
            # (nothing was missed) must not land above it.
            entry.timeline.pending_marker = None
            if status.filled is not None:
                # A stream that could not resume, its hole filled from the
                # history: no gap left to warn of.
                entry.gap_possible = False
                if status.filled:
                    return Marker("resumed", f"reconnected — {status.filled} filled from history ↑")
                return None
            if status.replayed and entry.connections > 1:
                # Said once the replay is over, so the divider follows what came back.
                return Marker("resumed", f"reconnected — {status.replayed} replayed ↑")
        return None

    def _write_record(self, conversation_id: str, messages: Sequence[Message]) -> None:
        # Written before the state file can move the received cursor past
        # these messages, so a crash never leaves the cursor ahead of the record.
        record = self.config.record
        if record is None or not messages:
            return
        for message in messages:
            record.write(json.dumps({"c": conversation_id, "id": message.id}) + "\n")
        record.flush()

    def _record_received(self, entry: Entry, last: Message) -> None:
        cursor = self.cursor(entry)
        cursor.received = last.id
        cursor.received_at = last.created_at or None
        self.state.changed()

    # -- the list stays true ------------------------------------------------------------

    def _start_refresher(self, agent: Agent) -> None:
        if agent.id in self.schedules:
            return
        schedule = RefreshSchedule(self.config.refresh_interval)
        self.schedules[agent.id] = schedule
        self._spawn(self._refresh_loop(agent, schedule))

    async def _refresh_loop(self, agent: Agent, schedule: RefreshSchedule) -> None:
        """Refresh one agent's list forever: the pages the user has loaded (the first,
        unless they asked for more), one request in flight, spaced by the schedule."""
        wait = schedule.first(time.monotonic())
        while True:
            await asyncio.sleep(wait)
            if self.schedules.get(agent.id) is not schedule:
                return  # the agent went away (see _refresh_agents)
            problem = schedule.problem
            try:
                conversations, complete = await self._fetch_listing(agent)
            except RateLimitError as exc:
                wait = schedule.rate_limited(time.monotonic(), exc.retry_after)
            except BimpeError as exc:
                wait = schedule.failed(time.monotonic(), str(exc))
            else:
                wait = schedule.succeeded(time.monotonic())
                self.merge_listing(agent, conversations, complete=complete)
            if schedule.problem != problem:
                self.emit(ListChanged())  # the status line says how the list is doing

    async def _fetch_listing(self, agent: Agent) -> tuple[list[Conversation], bool]:
        """The agent's conversations on the pages loaded so far, and whether that is all."""
        assert self.client is not None
        conversations: list[Conversation] = []
        for page_no in range(1, self._pages.get(agent.id, 1) + 1):
            page = await self.client.list_conversations(
                agent.id, page=page_no, limit=PAGE_SIZE, sort=LIST_SORT
            )
            conversations.extend(page.items)
            if not page.has_next_page or not page.items:
                return conversations, True
        return conversations, False

    async def _refresh_agents(self) -> None:
        """Pick up agents added on the server, and let go of removed ones; rarely."""
        assert self.client is not None
        while True:
            await asyncio.sleep(AGENTS_INTERVAL)
            try:
                page = await self.client.list_agents(page=1, limit=100)
            except BimpeError:
                continue  # the per-agent refreshes say when the service is failing
            self.merge_agents(page.items, complete=not page.has_next_page)

    def merge_agents(self, agents: Sequence[Agent], *, complete: bool) -> None:
        """Apply a fresh agent list: start refreshing new agents; when the list is
        whole, drop the agents it lacks (their watched conversations stay, gone)."""
        for agent in agents:
            if agent.id not in self.book.agents:
                self.book.add_agent(agent)
                self._start_refresher(agent)
                self.emit(Notice(f"new agent: {agent.name or agent.id}"))
        if complete:
            listed = {agent.id for agent in agents}
            for agent_id in [a for a in self.book.agents if a not in listed]:
                self.schedules.pop(agent_id, None)  # its refresher stops
                self.merge_listing(self.book.agents[agent_id], [], complete=True)
                if not any(e.agent.id == agent_id for e in self.book.entries.values()):
                    del self.book.agents[agent_id]
        self.emit(ListChanged())

    def merge_listing(
        self, agent: Agent, conversations: Sequence[Conversation], *, complete: bool = False
    ) -> None:
        """Apply a fresh first page: new rows, changed flags in place, alerts, auto-watch.

        When the page is the agent's whole list (`complete`), a conversation it
        no longer shows is gone from the server's list: dropped, unless it is
        watched or open, which stay, marked gone (greyed in the picker).
        """
        # What the book holds is what the last listings showed (alerts compare with it).
        before = {
            e.id: e.conversation for e in self.book.entries.values() if e.agent.id == agent.id
        }
        for conversation in conversations:
            if conversation.id not in before and not self._started_since(conversation):
                # Only beyond the first page before (it moved up with new activity):
                # not new, and compared with itself, so it alerts nothing.
                before[conversation.id] = conversation
        for alert in conversation_alerts(self.alert_rules, before, conversations, agent=agent.name):
            self._raise(alert)
        changed = False
        for conversation in conversations:
            entry = self.book.get(conversation.id)
            if entry is None:
                self.book.add_conversations(agent, [conversation])
                self.book.entries[conversation.id].new = self._started_since(conversation)
                changed = True
            elif entry.conversation != conversation:
                moved = conversation.last_message_at != entry.conversation.last_message_at
                asks = conversation.needs_attention and not entry.conversation.needs_attention
                entry.conversation = conversation
                if moved and not entry.watched and entry.id != self.current:
                    entry.active = True
                    entry.visited = False
                if asks and entry.id != self.current:
                    entry.visited = False  # attention turned on: news
                changed = True
        listed = {c.id for c in conversations}
        for entry in [e for e in self.book.entries.values() if e.agent.id == agent.id]:
            gone = complete and entry.id not in listed
            if gone and not entry.watched and entry.id != self.current:
                del self.book.entries[entry.id]
                changed = True
            elif entry.gone != gone:
                entry.gone = gone
                changed = True
        if changed:
            # A refresh that brings nothing new costs the shell nothing.
            self._auto_watch()
            self.emit(ListChanged())

    def _started_since(self, conversation: Conversation) -> bool:
        """Whether a conversation was created after this run's first listing (less one
        refresh interval, for clocks that disagree a little)."""
        created = parse_timestamp(conversation.created_at) if conversation.created_at else None
        if created is None or self._listed_at is None:
            return True
        return created.timestamp() >= self._listed_at - self.config.refresh_interval

    def _auto_watch(self) -> None:
        """Watch what the auto-watch rules ask for, within the stream limit."""
        if not self.watch_rules.rules:
            return
        for entry in list(self.book.entries.values()):
            if entry.watched:
                continue
            # Rules never push out what the user chose to watch.
            if len(self.book.watched()) >= MAX_WATCHED:
                return
            rule = self.watch_rules.matching(
                entry.conversation, agent_id=entry.agent.id, is_new=entry.new
            )
            if rule is not None:
                self.watch(entry.id, reason=str(rule))

    def list_health(self) -> str:
        """The list's freshness in words when refreshing fails; empty when all is well."""
        return list_health(list(self.schedules.values()), time.monotonic())

    def health(self) -> str:
        """What the status line leads its sums with: the list's and the state file's
        trouble, in words; empty when all is well."""
        state = self.state
        saving = ""
        if state.failure:
            retrying = "" if state.read_only else ", retrying"
            saving = f"not saving {state.path} ({state.failure}){retrying}"
        return " · ".join(part for part in (saving, self.list_health()) if part)

    def _state_trouble(self, error: str | None) -> None:
        """The state file stopped (or resumed) being written: said once each way."""
        if error is not None:
            self.emit(Notice(f"{error}; retrying, the app goes on", "error"))
        else:
            self.emit(Notice(f"the state file is saved again: {self.state.path}"))

    # -- alerts -------------------------------------------------------------------------

    def _highlight(self, entry: Entry, items: Sequence[TimelineItem]) -> None:
        """Alert for new messages that match the highlight rules."""
        rules = self.alert_rules
        needs_attention = entry.conversation.needs_attention
        for item in items:
            if isinstance(item, Message):
                match = rules.match_message(item, needs_attention)
                if match is not None:
                    entry.highlights[item.id] = match.spans
                    alert = highlight_alert(entry.conversation, item, match, agent=entry.agent.name)
                    self._raise(alert)

    def _raise(self, alert: Alert) -> None:
        decision = self.alerter.offer(alert, time.monotonic())
        if decision.action == "notify":
            self.emit(AlertRaised(decision))
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        due = self.alerter.next_flush_at()
        if due is None or self._flush_handle is not None:
            return
        loop = asyncio.get_running_loop()
        self._flush_handle = loop.call_later(max(0.0, due - time.monotonic()), self._flush_alerts)

    def _flush_alerts(self) -> None:
        self._flush_handle = None
        decision = self.alerter.flush(time.monotonic())
        if decision is not None and decision.action == "notify":
            self.emit(AlertRaised(decision))
        self._schedule_flush()

    # -- seen cursor ------------------------------------------------------------------

    def seen_now(self) -> bool:
        """Advance the open conversation's seen cursor if the user can see its newest message."""
        entry = self.book.get(self.current) if self.current else None
        if entry is None or self.peeking or not self.can_see() or entry.timeline.detached:
            # Detached: the newest messages are not in the window the reader sees.
            return False
        had_unread = entry.unread
        entry.unread = 0
        last = entry.timeline.last_message
        if last is not None:
            cursor = self.cursor(entry)
            if cursor.seen != last.id:
                cursor.seen, cursor.seen_at = last.id, last.created_at or None
                self.state.changed()
                had_unread = True
        if had_unread:
            self.emit(ListChanged())
        return True

    def mark_unread_from(self, message_id: str) -> bool:
        """Move the open conversation's seen cursor back to just before `message_id`.

        The picker's count then counts from there; reaching the end again
        (or a new message while at the end) moves the cursor forward as usual.
        """
        entry = self.book.get(self.current) if self.current else None
        if entry is None:
            return False
        before: Message | None = None
        for item in entry.timeline.items:
            if isinstance(item, Message):
                if item.id == message_id:
                    break
                before = item
        else:
            return False
        cursor = self.cursor(entry)
        seen = (before.id, before.created_at or None) if before is not None else (None, None)
        cursor.seen, cursor.seen_at = seen
        entry.unread = entry.timeline.count_after(cursor.seen)
        entry.visited = False
        if before is None and entry.older.state != "start" and self.client is not None:
            # The first message held, with history above it: "seen" is the message
            # before it, which only the server knows (None would mean nothing seen).
            self._spawn(self._seen_before(entry, message_id))
        self.state.changed()
        self.emit(ListChanged())
        return True

    async def _seen_before(self, entry: Entry, message_id: str) -> None:
        oldest = entry.timeline.oldest_message()
        if oldest is None or oldest.id != message_id:
            return
        known = self._pagers.get(entry.id)
        position = known[0].remaining if known is not None and known[1] == oldest.id else None
        held = len(entry.timeline.messages())
        pager = HistoryPager(
            self._require_client(),
            entry.agent.id,
            entry.id,
            oldest,
            newer_hint=max(0, held - 1),
            position=position,
        )
        try:
            batch = await pager.older()
        except (BimpeError, HistoryError, LookupError) as exc:
            self.emit(Notice(f"could not mark the older messages unread: {exc}", "warning"))
            return
        cursor = self.cursor(entry)
        if batch and cursor.seen is None:
            cursor.seen, cursor.seen_at = batch[-1].id, batch[-1].created_at or None
            self.state.changed()

    # -- scrollback into history --------------------------------------------------------

    async def search_history(
        self, conversation_id: str, query: str, *, limit: int = 50
    ) -> tuple[list[Message], int]:
        """The server's matches for `query` in the whole conversation: newest first
        (at most `limit`), and how many there are in all. Raises BimpeError."""
        entry = self.book.get(conversation_id)
        if entry is None or self.client is None:
            raise LookupError(f"no conversation {conversation_id}")
        page = await self.client.list_messages(
            entry.agent.id, conversation_id, search=query, sort="-created_at", limit=limit
        )
        total = page.meta.total_count if page.meta is not None else len(page.items)
        return list(page.items), total

    def load_older(self, conversation_id: str | None = None) -> bool:
        """Load the page before the oldest message held (the reader reached the top).

        Nothing happens while a page is loading, once the first message is held, or
        before the first history is placed. Returns whether a load started.
        """
        entry = self.book.get(conversation_id or self.current or "")
        if entry is None or self.client is None or not entry.history_loaded:
            return False
        if entry.older.state in ("loading", "start"):
            return False
        oldest = entry.timeline.oldest_message()
        if oldest is None:
            return False
        entry.older = Older("loading")
        self.emit(TimelineReplaced(entry.id, keep_place=True))
        self._spawn(self._load_older(entry, oldest))
        return True

    def _pager(self, entry: Entry, oldest: Message) -> HistoryPager:
        assert self.client is not None
        known = self._pagers.get(entry.id)
        if known is not None and known[1] == oldest.id:
            return known[0]
        # A new window (first scroll back, or its oldest end was let go of): the
        # pager finds where the oldest held message is, once.
        held = len(entry.timeline.messages())
        pager = HistoryPager(
            self.client, entry.agent.id, entry.id, oldest, newer_hint=max(0, held - 1)
        )
        self._pagers[entry.id] = (pager, oldest.id)
        return pager

    async def _load_older(self, entry: Entry, oldest: Message) -> None:
        pager = self._pager(entry, oldest)
        try:
            batch = await pager.older()
        except (BimpeError, HistoryError) as exc:
            if isinstance(exc, HistoryError):
                self._pagers.pop(entry.id, None)  # look for the anchor again on retry
            entry.older = Older("failed", str(exc))
            self.emit(TimelineReplaced(entry.id, keep_place=True))
            return
        if entry.timeline.oldest_message() is not oldest:
            # The window moved meanwhile (new messages pushed its oldest out, or the
            # newest were fetched again): this page may not join it; ask again later.
            self._pagers.pop(entry.id, None)
            entry.older = Older()
            self.emit(TimelineReplaced(entry.id, keep_place=True))
            return
        placed = entry.timeline.prepend(batch)
        if placed:
            self._pagers[entry.id] = (pager, placed[0].id)
        newest = entry.timeline.newest_message()
        if placed and entry.timeline.detached and pager.remaining is not None and newest:
            # The window let go of its newest end: it knows where that end is now
            # (the messages held follow one another), so scrolling down pages on from
            # there. Were there a gap in them, the count would fall short of the true
            # place: the page asked for would overlap what is held, never skip.
            last = pager.remaining + len(entry.timeline.messages()) - 1
            self._ahead[entry.id] = (last, newest.id)
        first = entry.timeline.oldest_message()
        if pager.done and first is not None:
            entry.older = Older("start", first=first.id)
        else:
            entry.older = Older()
        self.emit(TimelineReplaced(entry.id, keep_place=True, above=len(placed)))

    async def jump_to(self, conversation_id: str, message: Message) -> None:
        """Show `message` in its place: at once if it is held, else the timeline moves to
        the page of history that holds it (scrolling up and down from there loads more,
        the end key comes back to the newest). Raises BimpeError or HistoryError."""
        entry = self.book.get(conversation_id)
        if entry is None or self.client is None:
            raise LookupError(f"no conversation {conversation_id}")
        if message.id not in entry.timeline:
            window = await window_around(self.client, entry.agent.id, entry.id, message)
            self._move_window(entry, window)
        self.emit(Reveal(entry.id, message.id))

    def _move_window(self, entry: Entry, window: Window) -> None:
        entry.timeline.move_to(window.messages, at_end=window.at_end)
        self._ahead.pop(entry.id, None)
        self._pagers.pop(entry.id, None)
        if window.messages:
            oldest = window.messages[0]
            pager = HistoryPager(
                self._require_client(), entry.agent.id, entry.id, oldest, position=window.first
            )
            self._pagers[entry.id] = (pager, oldest.id)
            if not window.at_end:
                self._ahead[entry.id] = (window.last, window.messages[-1].id)
        if window.first == 0 and window.messages:
            entry.older = Older("start", first=window.messages[0].id)
        else:
            entry.older = Older()
        self.emit(TimelineReplaced(entry.id))

    def _require_client(self) -> ConsoleClient:
        if self.client is None:
            raise LookupError("not connected")
        return self.client

    def load_newer(self, conversation_id: str | None = None) -> bool:
        """The reader reached the end of a window moved into history: the next newer page
        if the window knows where it is (a jump), else the newest page. Returns whether a
        load started."""
        entry = self.book.get(conversation_id or self.current or "")
        if entry is None or not entry.timeline.detached:
            return False
        ahead = self._ahead.get(entry.id)
        newest = entry.timeline.newest_message()
        if ahead is None or newest is None or newest.id != ahead[1]:
            return self.return_to_newest(entry.id)
        if entry.id in self._loading_newer:
            return False
        self._loading_newer.add(entry.id)
        self._spawn(self._load_newer(entry, ahead[0]))
        return True

    async def _load_newer(self, entry: Entry, last: int) -> None:
        try:
            window = await newer_than(self._require_client(), entry.agent.id, entry.id, last)
        except (BimpeError, LookupError) as exc:
            self.emit(Notice(f"could not load newer messages: {exc}", "error"))
            return
        finally:
            self._loading_newer.discard(entry.id)
        if self._ahead.get(entry.id, (None,))[0] != last:
            return  # the window moved meanwhile
        dropped = entry.timeline.extend_window(window.messages, at_end=window.at_end)
        self._ahead.pop(entry.id, None)
        if not window.at_end and window.messages:
            self._ahead[entry.id] = (window.last, window.messages[-1].id)
        if dropped:
            # The oldest end was let go of: scrolling up starts from the new oldest,
            # whose place is known (no looking for it).
            pager = self._pagers.pop(entry.id, None)
            oldest = entry.timeline.oldest_message()
            remaining = pager[0].remaining if pager is not None else None
            if remaining is not None and oldest is not None:
                gone = sum(1 for item in dropped if isinstance(item, Message))
                moved = HistoryPager(
                    self._require_client(),
                    entry.agent.id,
                    entry.id,
                    oldest,
                    position=remaining + gone,
                )
                self._pagers[entry.id] = (moved, oldest.id)
            entry.older = Older()
        self.emit(TimelineReplaced(entry.id, keep_place=True, gone=tuple(dropped)))
        if window.at_end and self.current == entry.id:
            self.seen_now()

    def return_to_newest(self, conversation_id: str | None = None) -> bool:
        """The reader is back at the end of a window moved into history: fetch the
        newest page again (the window holds no newer message). Returns whether it started."""
        entry = self.book.get(conversation_id or self.current or "")
        if entry is None or not entry.timeline.detached or entry.id in self._refilling:
            return False
        self._refilling.add(entry.id)
        self._spawn(self._refill(entry))
        return True

    async def _refill(self, entry: Entry) -> None:
        assert self.client is not None
        try:
            page = await self.client.list_messages(
                entry.agent.id, entry.id, page=1, limit=HISTORY_SIZE
            )
        except BimpeError as exc:
            self.emit(Notice(f"could not load the newest messages: {exc}", "error"))
            return
        finally:
            self._refilling.discard(entry.id)
        entry.timeline.refill(page.items)
        entry.older = Older()
        self._pagers.pop(entry.id, None)
        self._ahead.pop(entry.id, None)
        self.emit(TimelineReplaced(entry.id))
        if self.current == entry.id:
            self.seen_now()

    # -- export ---------------------------------------------------------------------------

    def export_path(self, conversation_id: str, fmt: ExportFormat) -> str:
        """Where an export of a conversation is written (the directory is created)."""
        directory = self.config.export_dir
        if directory is None:
            import platformdirs

            directory = platformdirs.user_downloads_dir()
        os.makedirs(directory, exist_ok=True)
        now = datetime.fromtimestamp(self.config.clock(), UTC)
        return os.path.join(directory, export_file_name(conversation_id, fmt, now))

    async def export(
        self,
        conversation_id: str,
        fmt: ExportFormat,
        *,
        everything: bool,
        progress: Progress | None = None,
    ) -> tuple[str, int]:
        """Write a conversation to a file: what is loaded, or all of it (fetching pages).

        Returns the path written and how many messages. Raises BimpeError or OSError;
        a failed export leaves no file.
        """
        entry = self.book.get(conversation_id)
        if entry is None or self.client is None:
            raise LookupError(f"no conversation {conversation_id}")
        client = self.client
        path = await asyncio.to_thread(self.export_path, conversation_id, fmt)
        if everything:
            # The file's opening, writes (in export_conversation) and commit (fsync,
            # rename) run in threads: a slow disk must not stall the UI loop.
            stack = contextlib.ExitStack()
            out = await asyncio.to_thread(stack.enter_context, atomic_text_file(path))
            try:
                written = await export_conversation(
                    client, entry.agent.id, conversation_id, out, fmt, progress=progress
                )
            except BaseException as exc:
                await asyncio.to_thread(stack.__exit__, type(exc), exc, exc.__traceback__)
                raise
            await asyncio.to_thread(stack.close)
            return path, written
        messages = entry.timeline.messages()
        header = ExportHeader(
            entry.agent.id,
            conversation_id,
            who=entry.conversation.who,
            channel=entry.conversation.channel_type,
            scope="messages loaded in the app",
        )
        loop = asyncio.get_running_loop()

        def report(written: int, total: int | None) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress, written, total)

        def write() -> int:
            with atomic_text_file(path) as out:
                return export_messages(
                    out, fmt, messages, header=header, total=len(messages), progress=report
                )

        written = await asyncio.to_thread(write)
        return path, written

    # -- retry and shut-down ----------------------------------------------------------

    def retry(self) -> None:
        """Reconnect the open conversation's stream if it gave up; start it if unwatched.

        Also (first) loads the older page that failed to load, if one did.
        """
        entry = self.book.get(self.current) if self.current else None
        if entry is None:
            return
        if entry.older.state == "failed":
            self.load_older(entry.id)
        elif entry.status is not None and entry.status.state == "gave_up":
            cursor = self.saved.cursors.get(entry.id)
            entry.status = None
            self._start_stream(
                entry,
                cursor.received if cursor else None,
                cursor.received_at if cursor else None,
            )
            self.emit(Notice(f"reconnecting {entry.conversation.who}"))
            self.emit(ListChanged())
        elif not entry.watched:
            self.watch(entry.id)
        else:
            state = entry.status.state if entry.status else "connecting"
            self.emit(Notice(f"the stream is {state.replace('_', ' ')}: nothing to retry"))

    async def close(self) -> None:
        """Stop the streams, save the state file, stop an embedded demo server."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        pending = [*self._pumps.values(), *self._tasks]
        for conversation_id in list(self._pumps):
            self._stop_stream(conversation_id)
        for task in self._tasks:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.state.close()
        if self.client is not None:
            await self.client.aclose()
        if self._owns_demo and self.config.demo is not None:
            await self.config.demo.stop()
