"""The REST history's part in a stream: a resume point's time, and a hole filled.

Two things a stream cannot learn from its own connection: the creation time
of a resume point it was given without one (the fall-back to a time needs
it), and what it missed when the server could not resume at all (then the
stream attaches live and `Backfill.fill` pages the history back to the last
message delivered).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from .errors import APIConnectionError, APIError, MalformedResponseError, printable
from .models import Message
from .reconnect import ReconnectPolicy
from .resume import ResumeLedger
from .status import Report, StreamEvent

if TYPE_CHECKING:
    from .client import ConsoleClient

__all__ = ["FALLBACK_LOOKUP_PAGES", "FILL_PAGES", "Backfill"]

#: How many pages of 100 messages to search for a rejected resume point's time.
FALLBACK_LOOKUP_PAGES = 3
#: How many pages of 100 messages a fill from history goes back, at most.
FILL_PAGES = 50


class Backfill:
    """One stream's use of the history: looking a message's time up, filling a hole.

    A fill is pending from `start` until it succeeds or is given up: the
    next connection that attaches without `after` runs it.
    """

    __slots__ = (
        "after",
        "agent_id",
        "cause",
        "client",
        "conversation_id",
        "ledger",
        "looked_up",
        "policy",
        "status",
    )

    def __init__(
        self,
        client: ConsoleClient,
        agent_id: str,
        conversation_id: str,
        ledger: ResumeLedger,
        policy: ReconnectPolicy,
        status: Report,
    ) -> None:
        self.client = client
        self.agent_id = agent_id
        self.conversation_id = conversation_id
        self.ledger = ledger
        self.policy = policy
        self.status = status
        #: The last message delivered before a stream that could not resume:
        #: the next connection attaches live and fills what came after it from
        #: the history. Kept until a fill succeeds or is given up.
        self.after: str | None = None
        #: Why the stream could not resume, the start of what a failed fill says.
        self.cause = ""
        #: The caller's resume point whose time was searched for in the history.
        self.looked_up: str | None = None

    def start(self, after: str, cause: str) -> None:
        """Fill what came after message `after` on the next live connection."""
        self.after = after
        self.cause = cause

    async def find_time(self, message_id: str) -> str | None:
        """Look a message's creation time up in the recent history, if it is there."""
        for page_no in range(1, FALLBACK_LOOKUP_PAGES + 1):
            try:
                page = await self.client.list_messages(
                    self.agent_id, self.conversation_id, page=page_no, limit=100
                )
            except (APIError, APIConnectionError, MalformedResponseError):
                return None
            for message in page.items:
                if message.id == message_id:
                    return message.created_at or None
            if not page.has_next_page:
                return None
        return None

    async def fill(self) -> AsyncGenerator[list[StreamEvent], None]:
        """Fill the hole a stream that could not resume left, from the REST history.

        The stream is attached already (what it sends waits in the socket, and
        ids drop what the history also had). The history is paged newest
        first back to the last message delivered; what came after it is
        delivered oldest first. When the history fails too, the log says what
        may be missing and the fill is tried again after the engine's back-off,
        up to the retry budget; then the stream goes on without it.
        """
        start = self.after
        assert start is not None
        ledger, policy = self.ledger, self.policy
        since = printable(ledger.last_created_at or "the last message delivered", 40)
        for attempt in range(policy.max_retries + 1):
            try:
                gap = await self._history_after(start)
            except (APIError, APIConnectionError, MalformedResponseError) as exc:
                last = attempt == policy.max_retries
                delay = policy.backoff(attempt)
                then = (
                    "going on without them"
                    if last
                    else f"trying the history again in {delay:.1f} s"
                )
                cause = (
                    f"{self.cause}, and the history could not be read to fill the gap "
                    f"({exc}): messages since {since} may be missing; {then}"
                )
                if attempt == 0 or last:
                    # Said when the history first fails and when the fill is
                    # given up; the tries between are quiet (one marker each
                    # would bury the conversation while the history is down).
                    yield [self.status("gap_possible", cause=cause, after=start)]
                if last:
                    self.after = None
                    return
                await asyncio.sleep(delay)
                continue
            self.after = None
            if gap is None:
                cause = (
                    f"{self.cause}, and the last message delivered is not in the newest "
                    f"{FILL_PAGES * 100} of the history: messages since {since} may be missing"
                )
                yield [self.status("gap_possible", cause=cause, after=start)]
                return
            filled = ledger.accept(gap)
            if filled:
                policy.failures = 0
            delivered: list[StreamEvent] = [*filled]
            delivered.append(self.status("resumed", after=start, filled=len(filled)))
            yield delivered
            return

    async def _history_after(self, message_id: str) -> list[Message] | None:
        """The messages after `message_id`, oldest first; None if it is not in reach.

        Pages are newest first and shift while messages arrive (a message
        seen at the end of one page comes again at the start of the next):
        ids, not page boundaries, say what was seen.
        """
        newest_first: list[Message] = []
        seen: set[str] = set()
        for page_no in range(1, FILL_PAGES + 1):
            page = await self.client.list_messages(
                self.agent_id, self.conversation_id, page=page_no, limit=100, sort="-created_at"
            )
            for message in page.items:
                if message.id == message_id:
                    newest_first.reverse()
                    return newest_first
                if message.id not in seen:
                    seen.add(message.id)
                    newest_first.append(message)
            if not page.has_next_page or not page.items:
                return None
        return None
