"""What the monitor tells its shell: plain events, no Textual.

The shell (the app, `bimpe-tui watch`) receives every `MonitorEvent` through one
callable and renders it; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..alerts import Decision
from ..api.stream import StreamStatus
from ..book import TimelineItem


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
class WaitPassed:
    """A customer's wait for a person has just passed `[waits] alert_after`: once per
    wait, whatever the alert settings (the alert itself, if any, is an AlertRaised)."""

    conversation_id: str
    agent_id: str
    #: When the wait began (epoch seconds).
    since: float
    #: How long it has lasted, in seconds.
    waited: float


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
    | WaitPassed
    | Fatal
)


#: Where the monitor's pieces send their events (the monitor's `emit`, looked up
#: at each call: a test may route it elsewhere after the monitor is built).
Emit = Callable[[MonitorEvent], None]
