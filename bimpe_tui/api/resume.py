"""Where a stream resumes and what it must not deliver twice: the delivery ledger.

`ResumeLedger` is the state that makes a stream exactly-once across its
connections: the last delivered message (the next `after`), and a bounded
window of the ids delivered lately. The frame reader updates it inline on
its hot path; everything slower (a probe's held messages, the history's
fill) goes through `accept`.
"""

from __future__ import annotations

from collections import deque

from .models import Message
from .outcomes import is_timestamp

__all__ = ["DEFAULT_DEDUPE_WINDOW", "ResumeLedger"]

DEFAULT_DEDUPE_WINDOW = 2048


class ResumeLedger:
    """What a stream delivered: its resume point and the recent ids it drops if sent again."""

    __slots__ = ("cursor", "delivered", "last_created_at", "last_id", "recent", "recent_set")

    def __init__(self, after: str | None, after_created_at: str | None, dedupe_window: int) -> None:
        #: What the next connection sends as `after`.
        self.cursor: str | None = after
        #: The id and creation time of the last delivered message.
        self.last_id: str | None = None if after is None or is_timestamp(after) else after
        self.last_created_at: str | None = after_created_at
        self.delivered = 0
        #: The window, in delivery order (to forget the oldest) and as a set (to look up).
        self.recent: deque[str] = deque(maxlen=dedupe_window)
        self.recent_set: set[str] = set()
        if self.last_id is not None:
            self.remember(self.last_id)

    def remember(self, message_id: str) -> None:
        """Put `message_id` in the window, forgetting the oldest if it is full."""
        recent = self.recent
        if len(recent) == recent.maxlen:
            self.recent_set.discard(recent[0])
        recent.append(message_id)
        self.recent_set.add(message_id)

    def accept(self, messages: list[Message]) -> list[Message]:
        """Record `messages` as delivered, in order; returns those not delivered before.

        The slow path's bookkeeping (the frame reader inlines the same steps).
        The caller resets the retry budget when anything was delivered.
        """
        out: list[Message] = []
        for message in messages:
            if message.id in self.recent_set:
                continue
            self.remember(message.id)
            self.last_id = self.cursor = message.id
            self.last_created_at = message.created_at
            self.delivered += 1
            out.append(message)
        return out
