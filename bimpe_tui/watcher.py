"""One Textual worker per watched conversation, turning stream events into messages."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.message_pump import MessagePump
from textual.worker import Worker

from .api.client import ConsoleClient
from .api.models import Message
from .api.stream import ResumableStream
from .ui_messages import MessagesArrived, StreamStatusChanged

#: Streams at once; beyond this the least recently viewed conversation stops.
MAX_WATCHED = 50


class Watcher:
    """Starts and stops the stream workers; events reach `target` as Textual messages.

    Messages are batched: everything the stream yields before it next waits
    for the network goes up as one `MessagesArrived`, so a burst of thousands
    costs the UI a handful of updates, not thousands.
    """

    def __init__(
        self, target: MessagePump, client: ConsoleClient, options: dict[str, Any] | None = None
    ) -> None:
        self.target = target
        self.client = client
        self.options = dict(options or {})
        self.streams: dict[str, ResumableStream] = {}
        self.workers: dict[str, Worker[None]] = {}

    def start(
        self,
        agent_id: str,
        conversation_id: str,
        *,
        after: str | None,
        after_created_at: str | None,
    ) -> None:
        """Stream a conversation from `after` (replacing any stream it had)."""
        self.stop(conversation_id)
        stream = ResumableStream(
            self.client,
            agent_id,
            conversation_id,
            after=after,
            after_created_at=after_created_at,
            **self.options,
        )
        self.streams[conversation_id] = stream
        self.workers[conversation_id] = self.target.run_worker(  # type: ignore[attr-defined]
            self._pump(conversation_id, stream),
            name=f"stream:{conversation_id}",
            group="streams",
            exit_on_error=False,
        )

    def stop(self, conversation_id: str) -> None:
        """Stop a conversation's stream; its connection closes."""
        worker = self.workers.pop(conversation_id, None)
        self.streams.pop(conversation_id, None)
        if worker is not None:
            worker.cancel()

    def stop_all(self) -> None:
        """Stop every stream."""
        for conversation_id in list(self.workers):
            self.stop(conversation_id)

    def last_activity(self, conversation_id: str) -> float | None:
        """time.monotonic() of the stream's last byte, if any."""
        stream = self.streams.get(conversation_id)
        return stream.last_activity if stream is not None else None

    async def _pump(self, conversation_id: str, stream: ResumableStream) -> None:
        target = self.target
        loop = asyncio.get_running_loop()
        batch: list[Message] = []

        def flush() -> None:
            if batch:
                target.post_message(MessagesArrived(conversation_id, batch.copy()))
                batch.clear()

        async with stream:
            async for event in stream:
                if isinstance(event, Message):
                    batch.append(event)
                    if len(batch) == 1:
                        # Runs once the stream waits for the network: every
                        # message parsed from the bytes at hand goes up together.
                        loop.call_soon(flush)
                    continue
                flush()  # keep order: messages before the status that follows them
                target.post_message(StreamStatusChanged(conversation_id, event))
        flush()
