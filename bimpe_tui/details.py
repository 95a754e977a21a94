"""Attachments for live messages, which the stream's message event does not carry.

The SDK's `StreamMessageEvent` has id, conversation_id, role, message,
message_type and created_at; history's `Message` has the attachments too. A
live image or document showed its badge without its link until a restart
brought it from history. So each live message whose type is not text is
fetched once more (GET one message) and takes its own place in the timeline.

Bounded: at most `MAX_INFLIGHT` requests at a time for the whole app, and
`MAX_QUEUED` waiting (a replay of thousands of media messages fetches the
newest ones; the rest keep their badge and come whole from history on the next
open). A failed fetch is not retried: the message stays as the stream gave it.
No Textual here: the monitor runs it on its own tasks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from .api.errors import BimpeError
from .api.models import Message

#: Requests for message details under way at once, across every conversation.
MAX_INFLIGHT = 4
#: Messages waiting for their details; past this, the oldest waiting are let go.
MAX_QUEUED = 200
#: The ids already asked for that are remembered (the newest): a day of live media
#: must not grow the set without end; an id older than these, delivered again, is
#: at worst fetched once more.
MAX_REMEMBERED = 10_000

Fetch = Callable[[str, str, str], Awaitable[Message]]
"""`fetch(agent_id, conversation_id, message_id)`: the message as history has it."""


def needs_details(message: Message) -> bool:
    """Whether a message from the stream may lack what history has (attachments)."""
    kind = message.message_type
    return bool(kind) and kind != "text" and not message.attachments


class DetailFetcher:
    """Fetches the details of live messages, a few at a time, and hands them back."""

    def __init__(
        self,
        fetch: Fetch,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        fetched: Callable[[str, Message], None],
    ) -> None:
        self._fetch = fetch
        self._spawn = spawn
        self._fetched = fetched
        self._waiting: deque[tuple[str, str, str]] = deque(maxlen=MAX_QUEUED)
        #: The ids asked for, oldest first (a dict keeps its insertion order).
        self._asked: dict[str, None] = {}
        self._inflight = 0
        #: Requests made (for tests and the bench: bounded means counted).
        self.requests = 0

    def want(self, agent_id: str, conversation_id: str, messages: Iterable[Message]) -> None:
        """Fetch the details of those of `messages` that need them (each id once)."""
        for message in messages:
            if needs_details(message) and message.id not in self._asked:
                if len(self._asked) == MAX_REMEMBERED:
                    del self._asked[next(iter(self._asked))]
                self._asked[message.id] = None
                self._waiting.append((agent_id, conversation_id, message.id))
        self._start()

    def _start(self) -> None:
        while self._waiting and self._inflight < MAX_INFLIGHT:
            self._inflight += 1
            self._spawn(self._one(*self._waiting.popleft()))

    async def _one(self, agent_id: str, conversation_id: str, message_id: str) -> None:
        try:
            self.requests += 1
            message = await self._fetch(agent_id, conversation_id, message_id)
        except BimpeError:
            return  # it stays as the stream gave it; history has it on the next open
        finally:
            self._inflight -= 1
            self._start()
        if message.id == message_id:
            self._fetched(conversation_id, message)
