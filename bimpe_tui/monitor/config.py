"""What the monitor is given: the server, the state file, and its options."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..api.models import Message
from ..config import AlertSettings
from ..refresh import DEFAULT_INTERVAL
from ..state import StateStore
from ..waits import DEFAULT_WAITS, WaitRules
from .connection import Connection

#: Messages of history shown on first open (and when a window comes back to the newest).
HISTORY_SIZE = 50


@dataclass
class MonitorConfig:
    """What the monitor connects to and where it keeps its state."""

    state: StateStore
    #: The server (None until the shell knows it: a demo server's address is known
    #: once the shell has started it). Without one, `start` says there is no key.
    connection: Connection | None = None
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
