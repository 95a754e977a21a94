"""What a stream tells its consumer besides messages: `StreamStatus`, in plain words.

A value type and nothing else: every part of the engine builds statuses, the
TUI, `tail` and the tests read them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .errors import printable
from .models import Message

__all__ = ["Report", "StreamEvent", "StreamState", "StreamStatus"]

StreamState = Literal[
    "connecting",
    "live",
    "reconnecting",
    "resumed",
    "stalled",
    "gap_possible",
    "frame_skipped",
    "gave_up",
    "closed",
]


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """A change in what a stream is doing, with what a footer needs to say it."""

    state: StreamState
    attempt: int = 0
    max_retries: int = 0
    delay: float | None = None
    cause: str | None = None
    after: str | None = None
    replayed: int | None = None
    #: With `resumed` after a stream that could not resume: how many messages
    #: the history filled in (None: not such a resume).
    filled: int | None = None
    at: float = field(default_factory=time.time)

    @property
    def is_final(self) -> bool:
        """No event follows this one."""
        return self.state in ("gave_up", "closed")

    def describe(self) -> str:
        """The status in plain words, e.g. `reconnecting in 2.3 s (attempt 2/5): ...`.

        Ids and causes can come from the server: they are made printable, so
        no escape sequence reaches a terminal through a status line.
        """
        cause = f": {printable(self.cause)}" if self.cause else ""
        after = printable(self.after or "", 120)
        if self.state == "connecting":
            return (
                f"connecting (attempt {self.attempt}/{self.max_retries})"
                if self.attempt
                else ("connecting")
            )
        if self.state == "reconnecting":
            return (
                f"reconnecting in {self.delay or 0:.1f} s "
                f"(attempt {self.attempt}/{self.max_retries}){cause}"
            )
        if self.state == "resumed":
            if self.filled is not None:
                return f"resumed live after {after}, {self.filled} filled from history"
            count = "" if self.replayed is None else f", {self.replayed} replayed"
            return f"resumed after {after}{count}"
        if self.state == "gave_up":
            return f"gave up{cause}"
        if self.state == "frame_skipped":
            return f"skipped a frame{cause}"
        if self.state == "gap_possible":
            return f"gap possible{cause}"
        return f"{self.state}{cause}"


StreamEvent = Message | StreamStatus


class Report(Protocol):
    """What makes a stream's statuses: its `ResumableStream._status`, handed to each part.

    One place makes every status of a stream, so each carries the stream's
    retry budget and a test can watch them all.
    """

    def __call__(self, state: StreamState, **kw: object) -> StreamStatus: ...
