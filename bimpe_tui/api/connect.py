"""One attempt's connection: a fresh single-use ticket, then the stream GET with it.

The API key goes only with the ticket's POST; the long-lived GET carries the
ticket and nothing else (`ConsoleClient.open_event_stream`). Where an attempt
failed, in the ticket call or in the stream, decides what it means
(`outcomes.classify`), so the `Connector` records it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from .outcomes import Phase
from .transport import EventStreamResponse

if TYPE_CHECKING:
    from .client import ConsoleClient

__all__ = ["Connector"]


class Connector:
    """Opens a stream's connections, one at a time: the ticket step, then the GET.

    After an attempt, `phase` says where it ended and `ticket` is the ticket
    it used (masked out of every cause), None if the ticket call failed.
    """

    __slots__ = ("agent_id", "client", "conversation_id", "phase", "ticket")

    def __init__(self, client: ConsoleClient, agent_id: str, conversation_id: str) -> None:
        self.client = client
        self.agent_id = agent_id
        self.conversation_id = conversation_id
        self.phase: Phase = "ticket"
        self.ticket: str | None = None

    @asynccontextmanager
    async def open(
        self, after: str | None, read_timeout: float
    ) -> AsyncIterator[EventStreamResponse]:
        """A new ticket (never retried here: the stream's own policy retries), then
        the stream GET after `after`, yielded once it is an event stream."""
        self.phase = "ticket"
        self.ticket = None
        # max_retries=0: a failed ticket call is an attempt of the stream's,
        # backed off and counted by its policy, not by the REST client's.
        self.ticket = (
            await self.client.create_stream_ticket(
                self.agent_id, self.conversation_id, max_retries=0
            )
        ).ticket
        self.phase = "stream"
        async with self.client.open_event_stream(
            self.agent_id,
            self.conversation_id,
            ticket=self.ticket,
            after=after,
            read_timeout=read_timeout,
        ) as response:
            yield response
