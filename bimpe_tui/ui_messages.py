"""Textual messages that carry stream events and user choices upward to the app."""

from __future__ import annotations

from textual.message import Message as TextualMessage

from .api.models import Message
from .api.stream import StreamStatus


class MessagesArrived(TextualMessage):
    """A batch of new messages of one conversation, in order."""

    def __init__(self, conversation_id: str, messages: list[Message]) -> None:
        self.conversation_id = conversation_id
        self.messages = messages
        super().__init__()


class StreamStatusChanged(TextualMessage):
    """A conversation's stream changed what it is doing."""

    def __init__(self, conversation_id: str, status: StreamStatus) -> None:
        self.conversation_id = conversation_id
        self.status = status
        super().__init__()

    def can_replace(self, message: TextualMessage) -> bool:
        # A newer status of the same stream makes an unprocessed older one
        # moot, except the final ones, which must not be lost.
        return (
            isinstance(message, StreamStatusChanged)
            and message.conversation_id == self.conversation_id
            and not message.status.is_final
            and message.status.state not in ("resumed", "gap_possible")
        )
