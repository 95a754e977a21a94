"""How a conversation is named in titles and questions: who, channel, agent, holder."""

from __future__ import annotations

from textual.content import Content

from ..book import Entry
from ..operator import Holder
from ..render import one_line

__all__ = ["HOLDER_WORDS", "channel_name", "channel_words", "log_title"]

#: The title's words for who has the conversation.
HOLDER_WORDS: dict[Holder, str] = {
    "you": "you have it",
    "taken": "AI paused by someone else",
    "AI": "AI",
}


def channel_name(channel_type: str) -> str:
    """The channel in a sentence ("on whatsapp"), cut to a sane length."""
    return one_line(channel_type.removeprefix("test_"), 20)


def channel_words(entry: Entry) -> str:
    """The channel as the row names it: `telephony test` for a test channel."""
    c = entry.conversation
    channel = c.channel_type.removeprefix("test_")
    return f"{channel} test" if c.is_test_channel else channel


def log_title(entry: Entry, holder: Holder) -> Content:
    """The log's title: who · channel · agent · who has it."""
    c = entry.conversation
    # Content, not a string: a string title is parsed as markup, and the names
    # come from the server (an escaped one can still fail to parse).
    words = f"{c.who} · {channel_words(entry)} · {entry.agent.name} · {HOLDER_WORDS[holder]}"
    return Content(one_line(words, 120))
