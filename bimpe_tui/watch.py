"""`bimpe-tui watch`: the monitor for scripts, one JSON object per line per event.

The same core as the app (`Monitor`), no screen. It streams every listed
conversation (up to the monitor's limit of 50 streams; past it, the first 50
in the list's order, conversations needing attention first), and prints:

- `message`: a new message (after a restart, first what came while it was not
  running: the stream resumes after its cursor);
- `conversation`: a conversation listed for the first time (`change: new`),
  or one the server no longer lists (`change: gone`);
- `attention`: a conversation's `needs_attention` turned on or off;
- `alert`: what the app would ring the bell for (the `[alerts]` rules);
- `status`: a stream's state changed (live, reconnecting, gave up...);
- `waiting`: a customer's wait for a person passed `[waits] alert_after`
  (`since`, when it began; `waited`, whole seconds), once per wait.

Each object has `event`, `agent_id`, `conversation_id` and `time` (UTC, ISO
8601; a message's own `created_at` for messages). Text is the server's: JSON
escapes its control characters, and the line and paragraph separators and
bidi controls are escaped too, so a line never changes a terminal.

Its cursors live in the state file under their own key (`…#watch`), apart
from the app's: a restart resumes after the last message printed, and a run
ended by SIGINT or SIGTERM saves first and exits 0. Killed (SIGKILL), the
last second's messages may print again: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from .api.models import Message
from .book import Entry
from .cli_parser import WATCH_EVENTS
from .monitor import (
    MAX_WATCHED,
    AlertRaised,
    Appended,
    Connection,
    Fatal,
    ListChanged,
    Monitor,
    MonitorConfig,
    MonitorEvent,
    Notice,
    StatusChanged,
    WaitPassed,
)
from .safe_text import json_line

if TYPE_CHECKING:
    from .demo.server import DemoServer

#: The event kinds `--event` chooses from.
EVENTS = WATCH_EVENTS
#: The state file's key for watch's own cursors is the server's with this after it.
STATE_SCOPE = "#watch"


@dataclass
class WatchFilter:
    """Which events are printed."""

    agents: frozenset[str] = frozenset()
    attention_only: bool = False
    events: frozenset[str] = frozenset(EVENTS)

    def keeps(self, kind: str, entry: Entry | None, *, wait: bool = False) -> bool:
        """Whether an event of `kind` about `entry` is printed.

        `wait`: the event is about a customer's wait for a person (a `waiting` line or
        its alert), which `--attention-only` keeps also where the AI is only paused:
        a person is what the customer waits for either way.
        """
        if kind not in self.events:
            return False
        if entry is None:
            return not self.agents and not self.attention_only
        if self.agents and entry.agent.id not in self.agents:
            return False
        return not self.attention_only or entry.conversation.needs_attention or wait


def _iso(seconds: float) -> str:
    """Epoch seconds as UTC, ISO 8601 with milliseconds: `2026-11-20T09:00:00.000Z`."""
    stamp = datetime.fromtimestamp(seconds, UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Watcher:
    """Turns the monitor's events into JSON lines (see the module's docstring)."""

    out: TextIO
    filter: WatchFilter
    clock: Any
    monitor: Monitor | None = None
    exit_code: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _known: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    _listed: bool = False
    _listing: bool = False

    def _now(self) -> str:
        return _iso(self.clock())

    def _emit(
        self, event_kind: str, entry: Entry | None, *, wait: bool = False, **fields: Any
    ) -> None:
        if not self.filter.keeps(event_kind, entry, wait=wait):
            return
        head: dict[str, Any] = {"event": event_kind}
        if entry is not None:
            head["agent_id"] = entry.agent.id
            head["conversation_id"] = entry.id
        head["time"] = fields.pop("time", None) or self._now()
        self.out.write(json_line({**head, **fields}) + "\n")
        self.out.flush()

    def _messages(self, entry: Entry, messages: Iterable[Message]) -> None:
        # New ones only: the timeline appends an id it does not hold, and history
        # (placed, not appended) is cut at the cursor, so a restart replays on the
        # stream what came after it.
        for message in messages:
            self._emit(
                "message",
                entry,
                time=message.created_at,
                id=message.id,
                role=message.role,
                message=message.message,
                message_type=message.message_type,
            )

    def event(self, event: MonitorEvent) -> None:
        """Every monitor event."""
        monitor = self.monitor
        if monitor is None:
            return
        if isinstance(event, Fatal):
            print(event.message, file=sys.stderr)
            self.exit_code = event.exit_code
            self.done.set()
        elif isinstance(event, Notice):
            print(f"bimpe-tui watch: {event.text}", file=sys.stderr)
        elif isinstance(event, Appended):
            entry = monitor.book.get(event.conversation_id)
            if entry is not None:
                self._messages(entry, (i for i in event.items if isinstance(i, Message)))
        elif isinstance(event, StatusChanged):
            entry = monitor.book.get(event.conversation_id)
            self._emit("status", entry, state=event.status.state, words=event.status.describe())
        elif isinstance(event, AlertRaised):
            # One line per alert, also when the app would fold several into a summary.
            for alert in event.decision.alerts:
                entry = monitor.book.get(alert.conversation_id)
                self._emit(
                    "alert",
                    entry,
                    wait=alert.kind == "waiting",
                    kind=alert.kind,
                    title=alert.title,
                    body=alert.body,
                )
        elif isinstance(event, WaitPassed):
            entry = monitor.book.get(event.conversation_id)
            self._emit(
                "waiting",
                entry,
                wait=True,
                since=_iso(event.since),
                waited=max(0, int(event.waited)),
            )
        elif isinstance(event, ListChanged):
            self._list_changed()

    def _list_changed(self) -> None:
        monitor = self.monitor
        if monitor is None or not monitor.ready or self._listing:
            return
        # Watching emits ListChanged again: not re-entered (each pass sees the list whole).
        self._listing = True
        try:
            self._diff(monitor)
        finally:
            self._listing = False

    def _diff(self, monitor: Monitor) -> None:
        room = MAX_WATCHED - len(monitor.book.watched())
        for entry in monitor.book.flat():
            wanted = self.filter.keeps("message", entry) and not entry.gone
            if wanted and not entry.watched and room > 0:
                # Up to the monitor's limit, in the list's order; beyond it, never
                # one for another (the limit lets the least recently viewed go,
                # which would come back here).
                room -= 1
                monitor.watch(entry.id, reason="watch")
        for entry in list(monitor.book.entries.values()):
            now = (entry.conversation.needs_attention, entry.gone)
            before = self._known.get(entry.id)
            self._known[entry.id] = now
            if before is None:
                if self._listed:
                    self._emit("conversation", entry, change="new")
                continue
            if now[0] != before[0]:
                self._emit("attention", entry, on=now[0])
            if now[1] and not before[1]:
                self._emit("conversation", entry, change="gone")
        self._listed = True


async def watch(
    config: MonitorConfig, out: TextIO, selected: WatchFilter, demo: DemoServer | None = None
) -> int:
    """Run until SIGINT or SIGTERM (0) or a fatal error; the exit status.

    With `demo`, watch that demo server (started here unless it is running, and then
    stopped here), whatever `config.connection` says.
    """
    config.state_scope = STATE_SCOPE
    watcher = Watcher(out, selected, config.clock)
    monitor = Monitor(config, watcher.event, can_see=lambda: False)
    watcher.monitor = monitor
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, watcher.done.set)
    owns_demo = demo is not None and not demo.running
    try:
        if demo is not None:
            if owns_demo:
                await demo.start()
            config.connection = Connection.to_demo(demo)
        await monitor.start()
        if monitor.ready:
            watcher.event(ListChanged())
        elif not watcher.done.is_set():
            print(f"bimpe-tui watch: {monitor.phase}", file=sys.stderr)
            return 1
        await watcher.done.wait()
    finally:
        await monitor.close()
        if owns_demo and demo is not None:
            await demo.stop()
    return watcher.exit_code
