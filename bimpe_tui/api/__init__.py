"""The BimpeAI Console API: REST client, models, errors and the resumable stream.

Nothing here imports Textual: the engine serves the TUI, `tail` and tests alike.
"""

from .client import DEFAULT_BASE_URL, ConsoleClient, iter_pages
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BimpeError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
)
from .models import Agent, Attachment, Conversation, ConversationDetail, Message, Page
from .stream import ResumableStream, StreamEvent, StreamStatus

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Agent",
    "Attachment",
    "AuthenticationError",
    "BimpeError",
    "ConsoleClient",
    "Conversation",
    "ConversationDetail",
    "MalformedResponseError",
    "Message",
    "NotFoundError",
    "Page",
    "RateLimitError",
    "ResumableStream",
    "StreamEvent",
    "StreamStatus",
    "iter_pages",
]
