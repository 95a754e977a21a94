"""Who is waiting, and since when: the customer's wait, in words, and its thresholds.

Support is triaged by wait time. For a conversation that needs attention or
whose AI is paused, the customer waits for a person: since their first message
after the last one a person wrote (staff, or you in this run; the AI's answers
do not count). Otherwise they wait for anyone: since their oldest message no
one has answered yet. Known from what the app holds of the conversation (its
stream and loaded history, or the newest page of history fetched for it), so a
wait whose start is older than that is "at least" what is shown.

Pure: no I/O, no Textual.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .api.models import Message
from .api.outcomes import parse_timestamp
from .roles import role_name

if TYPE_CHECKING:
    from .api.models import Conversation

__all__ = [
    "DEFAULT_WAITS",
    "WaitRules",
    "for_a_person",
    "wait_start",
    "wait_words",
    "waits_summary",
]


@dataclass(frozen=True, slots=True)
class WaitRules:
    """When a wait is shown, coloured and alerted on, in seconds (config `[waits]`)."""

    #: A row says `waiting 4m` once the wait is this long.
    show_after: float = 120.0
    #: The words turn to the warning colour from here (and count in the list's title).
    colour_after: float = 300.0
    #: One alert per wait, once it is this long (0: never).
    alert_after: float = 600.0


DEFAULT_WAITS = WaitRules()


def for_a_person(conversation: Conversation) -> bool:
    """Whether the customer waits for a person (attention asked, or the AI paused)."""
    return conversation.needs_attention or conversation.is_ai_chat_paused


def wait_start(
    messages: Iterable[Message], *, person: bool, mine: Collection[str] = ()
) -> Message | None:
    """The customer's message the wait counts from; None if no one is waiting.

    `messages` oldest first (read from the newest back, until the answer that
    ends the search). `person`: only a person's message answers (staff, or one
    of `mine`, the ids you sent); else any message that is not the customer's.
    """
    items = messages if isinstance(messages, list) else list(messages)
    start: Message | None = None
    for message in reversed(items):
        who = role_name(message.role)
        if who == "customer" and message.id not in mine:
            start = message
            continue
        answered = who == "staff" or message.id in mine if person else True
        if answered:
            break
    return start


def started_at(message: Message | None) -> float | None:
    """When a wait began (epoch seconds), from its first message's time."""
    if message is None:
        return None
    parsed = parse_timestamp(message.created_at)
    if parsed is None:
        return None
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def duration_words(seconds: float) -> str:
    """`45s`, `4m`, `2h 5m`, `3d`: how long, shortly."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours}h {minutes}m" if minutes and hours < 10 else f"{hours}h"
    return f"{seconds // 86400}d"


def wait_words(since: float | None, now: float, rules: WaitRules = DEFAULT_WAITS) -> str:
    """`waiting 4m` once past `show_after`; empty before, or with no wait."""
    if since is None:
        return ""
    waited = now - since
    if waited < rules.show_after:
        return ""
    return f"waiting {duration_words(waited)}"


def waits_summary(
    conversations: Iterable[tuple[bool, float | None]],
    now: float,
    rules: WaitRules = DEFAULT_WAITS,
) -> str:
    """The list's summary of who needs a person: `3 need a person · longest wait 6m`.

    One `(needs attention, start of the wait for a person or None)` per
    conversation: it needs a person if it needs attention, or if its AI is
    paused and the customer waits. Empty when none does.
    """
    count = 0
    starts: list[float] = []
    for attention, since in conversations:
        if attention or since is not None:
            count += 1
        if since is not None:
            starts.append(since)
    if not count:
        return ""
    words = f"{count} need{'s' if count == 1 else ''} a person"
    longest = now - min(starts) if starts else 0.0
    if longest >= rules.show_after:
        words += f" · longest wait {duration_words(longest)}"
    return words
