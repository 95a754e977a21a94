"""The monitor: what the app does with the service, streams, cursors and the state file.

`Monitor` is to the app what `ResumableStream` is to `tail`: the whole
behaviour, without Textual. It lists the conversations, watches them (one
stream task each, at most `MAX_WATCHED`), places history, keeps the received
and seen cursors, turns stream statuses into timeline markers, and emits
plain `MonitorEvent`s that a shell renders. The shell sends it intents
(`open`, `watch`, `retry`, `seen_now`) and decides nothing about streams or
cursors.

This module holds what ties the pieces together: start-up and shut-down, opening,
watching (a conversation's first history, then its stream) and letting go. Each
other job has its own module and state (see the package's docstring).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..api.client import ConsoleClient
from ..api.errors import AuthenticationError, BimpeError
from ..book import Book, Entry
from ..details import DetailFetcher
from ..export import ExportFormat, Progress, export_from_app
from ..state import Cursor, ServerState
from .alerting import Alerting
from .config import MonitorConfig
from .connection import Link
from .cursors import Cursors
from .events import Fatal, ListChanged, MonitorEvent, Notice, Opened, PhaseChanged
from .listing import Listing
from .reading import Reading
from .streams import Streams, marker_for
from .tasks import Tasks
from .waiting import Waiting
from .window import Windows

#: Streams at once; beyond this the least recently viewed conversation stops.
MAX_WATCHED = 50


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
        self.book = Book()
        self.state = config.state
        self.state.on_error = self._state_trouble
        self.link = Link()
        self.base_url = ""
        self.ready = False
        self.phase = "starting"
        # The pieces send through `_emit`, which looks `emit` up at each call: a
        # shell (or a test) may route the events elsewhere once the monitor is built.
        self.tasks = Tasks(self._emit)
        self.cursors = Cursors(config.state, config.record)
        self.alerting = Alerting(
            config.alerts, self._emit, tmux_passthrough=config.tmux_passthrough
        )
        self.reading = Reading(
            self.book,
            self.cursors,
            self.link,
            self._emit,
            self.tasks.spawn,
            can_see=can_see,
            position=lambda conversation_id, oldest: self.windows.position(conversation_id, oldest),
        )
        self.windows = Windows(
            self.book,
            self.link,
            self._emit,
            self.tasks.spawn,
            current=lambda: self.reading.current,
            seen=self.reading.seen_if_open,
        )
        self.waiting = Waiting(
            self.book, config, self.link, self._emit, self.tasks.spawn, alerting=self.alerting
        )
        self.listing = Listing(
            self.book,
            config,
            self.link,
            self._emit,
            self.tasks.spawn,
            alerting=self.alerting,
            is_open=self.reading.is_open,
            watch=lambda conversation_id, reason: self.watch(conversation_id, reason),
            has_room=lambda: len(self.book.watched()) < MAX_WATCHED,
            listed=self.waiting.listed,
        )
        self.streams = Streams(
            self.book,
            config,
            self.link,
            self.cursors,
            self.reading,
            self.alerting,
            self._emit,
            self.tasks,
            delivered=self.waiting.check_one,
        )
        # What the shell calls, each answered by the piece that owns it.
        self.seen_now = self.reading.seen_now
        self.mark_unread_from = self.reading.mark_unread_from
        self.load_more = self.listing.load_more
        self.merge_agents = self.listing.merge_agents
        self.merge_listing = self.listing.merge_listing
        self.list_health = self.listing.list_health
        self.search_history = self.windows.search_history
        self.load_older = self.windows.load_older
        self.jump_to = self.windows.jump_to
        self.load_newer = self.windows.load_newer
        self.return_to_newest = self.windows.return_to_newest
        self.last_activity = self.streams.last_activity

    def _emit(self, event: MonitorEvent) -> None:
        self.emit(event)

    #: What a status leaves in the timeline (see `streams.marker_for`).
    marker_for = staticmethod(marker_for)

    @property
    def client(self) -> ConsoleClient | None:
        """The client, once started."""
        return self.link.client

    @property
    def server_key(self) -> str:
        """This server's key in the state file (known once started)."""
        return self.cursors.server_key

    @property
    def saved(self) -> ServerState:
        """What the state file holds for this server."""
        return self.cursors.saved

    def cursor(self, entry: Entry) -> Cursor:
        """The conversation's cursor, created if it has none."""
        return self.cursors.cursor(entry)

    @property
    def on_demo(self) -> bool:
        """Whether the server is the embedded demo one (nothing sent reaches a person)."""
        connection = self.config.connection
        return connection is not None and connection.demo

    @property
    def current(self) -> str | None:
        """The open conversation."""
        return self.reading.current

    @property
    def peeking(self) -> bool:
        """Whether the open conversation was opened with "peek" (its seen cursor stays)."""
        return self.reading.peeking

    @property
    def details(self) -> DetailFetcher:
        """What fetches live messages once more, for their details."""
        return self.streams.details

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
        connection = config.connection
        if connection is not None:
            self.base_url = connection.base_url
        if connection is None or not connection.api_key:
            self.emit(Fatal("bimpe-tui: no API key"))
            return
        self.cursors.server_key = connection.state_key + config.state_scope
        if self.link.client is None:
            self.link.client = ConsoleClient(connection.api_key, self.base_url)
            for warning in await asyncio.to_thread(self.state.open):
                self.emit(Notice(warning, "warning"))
        self._phase("loading conversations")
        try:
            await self.listing.load()
        except AuthenticationError as exc:
            self.emit(
                Fatal(
                    f"bimpe-tui: the API key was refused ({exc.status} {exc.code or ''}). "
                    "Set BIMPEAI_API_KEY or api_key in the config file."
                )
            )
            return
        except BimpeError as exc:
            # The hint first: the cause (which names host and port) may not fit the line.
            self._phase(f"cannot list conversations (press r to retry): {exc}", failed=True)
            return
        self.ready = True
        self._phase("ready")
        self.emit(ListChanged())
        self._restore()
        self.listing.auto_watch()
        self.listing.start_refreshing()
        # Last: what start-up watched has its wait from its stream, not a fetched page.
        self.waiting.start()

    def _restore(self) -> None:
        saved = self.saved
        for conversation_id in saved.watched[:MAX_WATCHED]:
            self.watch(conversation_id)
        target = saved.selected if saved.selected in self.book.entries else None
        if target is None and saved.selected is not None:
            cursor = saved.cursors.get(saved.selected)
            if cursor is not None:
                self.tasks.spawn(self.fetch_missing(cursor.agent_id, saved.selected, open_it=True))
                return
        if target is None:
            flat = self.book.flat()
            target = flat[0].id if flat else None
        if target is not None:
            # Peeked at when the app stopped: still peeked at (its messages stay unread).
            self.open(target, peek=saved.peeking and target == saved.selected)

    async def fetch_missing(self, agent_id: str, conversation_id: str, open_it: bool) -> None:
        """Add a remembered conversation that is not on the first page of its agent."""
        client = self.link.client
        assert client is not None
        agent = self.book.agents.get(agent_id)
        if agent is None:
            return
        try:
            detail = await client.get_conversation(agent_id, conversation_id)
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
        reading = self.reading
        reading.peeking = peek
        if reading.current != conversation_id and reading.current is not None:
            left = self.book.get(reading.current)
            if left is not None:
                left.gap_possible = False
        reading.current = conversation_id
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
                self.tasks.spawn(self.fetch_missing(remembered.agent_id, conversation_id, False))
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
        self.tasks.spawn(self.streams.history_then_stream(entry))

    def _limit_watched(self) -> None:
        current = self.reading.current
        watched = [e for e in self.book.watched() if e.id != current]
        excess = len(watched) + (1 if current else 0) - MAX_WATCHED
        if excess <= 0:
            return
        for entry in sorted(watched, key=lambda e: e.last_viewed)[:excess]:
            self.unwatch(
                entry,
                reason=f"stopped watching {entry.conversation.who}: {MAX_WATCHED} streams at most",
            )

    def unwatch(self, entry: Entry, reason: str) -> None:
        """Stop streaming a conversation and say so."""
        self.streams.stop(entry.id)
        entry.watched = False
        entry.status = None
        saved = self.saved
        if entry.id in saved.watched:
            saved.watched.remove(entry.id)
        self.state.changed()
        self.emit(Notice(reason))
        self.emit(ListChanged())

    # -- health -------------------------------------------------------------------------

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

    # -- export ---------------------------------------------------------------------------

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
        a failed export leaves no file. See `export.export_from_app`.
        """
        entry = self.book.get(conversation_id)
        client = self.link.client
        if entry is None or client is None:
            raise LookupError(f"no conversation {conversation_id}")
        return await export_from_app(
            client,
            entry,
            fmt,
            directory=self.config.export_dir,
            now=self.config.clock(),
            everything=everything,
            progress=progress,
        )

    # -- retry and shut-down ----------------------------------------------------------

    def retry(self) -> None:
        """Reconnect the open conversation's stream if it gave up; start it if unwatched.

        Also (first) loads the older page that failed to load, if one did.
        """
        entry = self.reading.open_entry()
        if entry is None:
            return
        if entry.older.state == "failed":
            self.load_older(entry.id)
        elif entry.status is not None and entry.status.state == "gave_up":
            cursor = self.saved.cursors.get(entry.id)
            entry.status = None
            self.streams.start(
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
        """Stop the streams and background tasks, save the state file, disconnect."""
        self.alerting.close()
        await self.tasks.cancel(self.streams.stop_all())
        await self.state.close()
        if self.link.client is not None:
            await self.link.client.aclose()
