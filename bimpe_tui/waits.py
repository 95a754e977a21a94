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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .api.models import Message
from .api.outcomes import parse_timestamp
from .roles import role_name

if TYPE_CHECKING:
    from .api.models import Conversation

__all__ = [
    "DEFAULT_WAITS",
    "WaitAlarm",
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


@dataclass(slots=True)
class _Known:
    """A wait for a person as the alarm first knew it."""

    since: float
    #: Rung, or already past the threshold when first known: never rings (again).
    done: bool


@dataclass
class WaitAlarm:
    """Which waits for a person have just passed `alert_after`: each once, and only
    one this run saw below it.

    A wait already past the threshold when first known (at start-up, after a
    restart, or when a conversation starts needing a person with a customer
    who has waited long) never rings: the attention alert, or an earlier run,
    told of it. Only the starts are kept, one per conversation waiting.
    """

    alert_after: float
    _known: dict[str, _Known] = field(default_factory=dict)

    def passed(
        self, conversation_id: str, since: float | None, now: float, *, held_from: float | None
    ) -> float | None:
        """The start of the conversation's wait if it has just passed the threshold.

        `since`: when its wait for a person began (None: no one waits for a person).
        `held_from`: when the oldest message the wait was worked out from was
        written. A later start while the known one is older than that is the
        same wait seen through a window that moved on (the page of history
        slid past its first message): it keeps its first start. Returns None
        when nothing passed now; `alert_after` 0 never passes.
        """
        if since is None or self.alert_after <= 0:
            self._known.pop(conversation_id, None)
            return None
        known = self._known.get(conversation_id)
        if known is not None and since != known.since:
            slid = since > known.since and held_from is not None and held_from > known.since
            if slid:
                since = known.since
            else:
                known = None  # answered since: a new wait
        past = now - since >= self.alert_after
        if known is None:
            self._known[conversation_id] = _Known(since, done=past)
            return None
        if known.done or not past:
            return None
        known.done = True
        return since

    def forget_except(self, conversation_ids: Collection[str]) -> None:
        """Let go of the waits of conversations no longer listed."""
        for conversation_id in [c for c in self._known if c not in conversation_ids]:
            del self._known[conversation_id]
