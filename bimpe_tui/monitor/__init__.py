"""The monitor: every conversation of every agent, the watched ones streaming; no Textual.

The shell (the app, `bimpe-tui watch`) builds a `Monitor` with a `MonitorConfig`
(holding a `Connection`), receives its `MonitorEvent`s and sends it intents. Each
job lives in its own module, with its own state:

- `core`: `Monitor` itself: start-up and shut-down, opening, watching and letting
  go, the stream limit, retry; it composes the rest.
- `events`: what the monitor tells the shell.
- `config`, `connection`: what it is given; the server it connects to.
- `streams`: the pump: first history then the stream, delivery to timelines,
  statuses to markers.
- `listing`: the conversation list: loading, refreshing, merging, auto-watch.
- `reading`: the open conversation, peeking, the seen cursor, unread counts.
- `window`: older and newer pages of history, jumps, refills, history search.
- `cursors`: the state file's record of the server (received cursors, the record).
- `alerting`: highlight and list alerts, and the summaries' timer.
- `waiting`: customer waits: a page of history for the conversations not
  streamed, and the one alert when a wait for a person passes its threshold.
- `tasks`: the background tasks.

Exports of a conversation are in `bimpe_tui.export`.
"""

from .config import HISTORY_SIZE, MonitorConfig
from .connection import Connection, server_key
from .core import MAX_WATCHED, Monitor
from .events import (
    AlertRaised,
    Appended,
    Fatal,
    ListChanged,
    MonitorEvent,
    Notice,
    Opened,
    PhaseChanged,
    Reveal,
    StatusChanged,
    TimelineReplaced,
    WaitPassed,
)
from .listing import LIST_SORT, PAGE_SIZE
from .streams import HISTORY_PAGES

__all__ = [
    "HISTORY_PAGES",
    "HISTORY_SIZE",
    "LIST_SORT",
    "MAX_WATCHED",
    "PAGE_SIZE",
    "AlertRaised",
    "Appended",
    "Connection",
    "Fatal",
    "ListChanged",
    "Monitor",
    "MonitorConfig",
    "MonitorEvent",
    "Notice",
    "Opened",
    "PhaseChanged",
    "Reveal",
    "StatusChanged",
    "TimelineReplaced",
    "WaitPassed",
    "server_key",
]
