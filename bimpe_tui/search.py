"""Finding text in a conversation's timeline, and choosing what a filter keeps; no Textual.

Matches are offsets into a message's raw text, the part the log shows
(`render.shown_part`), so the log can mark them where they are drawn and
the count says what a reader can see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .api.models import Message
from .book import TimelineItem
from .render import ROLES, shown_part

#: The roles a filter can choose, as the log names them; "other" is any role
#: the log shows as it is.
ROLE_NAMES = ("customer", "agent", "staff", "other")


@dataclass(frozen=True, slots=True)
class Hit:
    """One match: the item it is in (its index in the sequence searched) and where."""

    item: int
    start: int
    end: int


def compile_query(text: str, *, regex: bool) -> re.Pattern[str]:
    """The pattern for what the reader typed: literal unless `regex`, never case-sensitive.

    Raises re.error for a regex that does not compile.
    """
    return re.compile(text if regex else re.escape(text), re.IGNORECASE)


def find_hits(
    items: Sequence[TimelineItem], pattern: re.Pattern[str], *, first: int = 0
) -> list[Hit]:
    """Every non-empty match in the messages' shown text, in order; `first` offsets the items."""
    hits: list[Hit] = []
    search = pattern.search
    for number, item in enumerate(items, first):
        if not isinstance(item, Message) or not item.message:
            continue
        text = shown_part(item.message)
        # One search first: most messages have no match, and finditer's
        # iterator costs more than a failed search.
        if search(text) is None:
            continue
        hits.extend(
            Hit(number, found.start(), found.end())
            for found in pattern.finditer(text)
            if found.end() > found.start()
        )
    return hits


def role_name(role: str) -> str:
    """The filter's name for a message role: customer, agent, staff, or other."""
    known = ROLES.get(role)
    if known is None:
        return "other"
    label = known[0]
    return "customer" if label == "user" else label


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What the log shows while filtered: messages of these roles that contain this text."""

    #: Words of text, all of which a message must contain (any case).
    words: tuple[str, ...] = ()
    #: Roles kept (ROLE_NAMES); empty: all.
    roles: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> LogFilter:
        """`@customer @staff refund` keeps customer and staff messages containing "refund".

        A word `@name` with a name of ROLE_NAMES (or its start: `@cust`)
        chooses a role; the other words are text to find.
        """
        words: list[str] = []
        roles: set[str] = set()
        for word in text.split():
            if word.startswith("@") and len(word) > 1:
                named = [r for r in ROLE_NAMES if r.startswith(word[1:].casefold())]
                if len(named) == 1:
                    roles.add(named[0])
                    continue
            words.append(word.casefold())
        return cls(tuple(words), frozenset(roles))

    def __bool__(self) -> bool:
        return bool(self.words or self.roles)

    def keeps(self, item: TimelineItem) -> bool:
        """Whether the filtered log shows this item (a divider shows only unfiltered)."""
        if not isinstance(item, Message):
            return not self
        if self.roles and role_name(item.role) not in self.roles:
            return False
        if self.words:
            text = (item.message or "").casefold()
            return all(word in text for word in self.words)
        return True

    def describe(self) -> str:
        """The filter in words, for the status line."""
        parts = [*(f"@{role}" for role in ROLE_NAMES if role in self.roles), *self.words]
        return " ".join(parts)


def kept(items: Iterable[TimelineItem], log_filter: LogFilter) -> list[TimelineItem]:
    """The items a filter keeps, in order."""
    return [item for item in items if log_filter.keeps(item)]
