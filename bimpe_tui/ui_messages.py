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
        # Textual asks the queued (older) message whether the next one may
        # supersede it. A transient status (connecting, live, reconnecting) is
        # moot once a newer status of the same stream is queued; the others
        # say something the user must see (stalled, gap possible, gave up...).
        return (
            isinstance(message, StreamStatusChanged)
            and message.conversation_id == self.conversation_id
            and self.status.state in ("connecting", "live", "reconnecting")
        )
