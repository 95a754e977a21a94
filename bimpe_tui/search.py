"""Finding text in a conversation's timeline, and choosing what a filter keeps; no Textual.

Matches are offsets into a message's raw text, the part the log shows
(`render.shown_part`), so the log can mark them where they are drawn and
the count says what a reader can see.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .api.models import Message
from .book import Marker, Pending, TimelineItem
from .render import shown_part
from .roles import ROLE_NAMES, role_name

#: The roles a filter can choose, as the log names them; "other" is any role
#: the log shows as it is.


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


#: Between two messages' texts in a `Corpus`: no message can hold it (the log
#: shows a NUL as a symbol, but the raw text keeps it, so one that does is cut there).
_SEPARATOR = "\x00"


@dataclass
class Corpus:
    """The shown text of many items as one string, searched in one pass.

    One regex pass over a few megabytes runs in C; a pass per message pays
    Python's cost 100,000 times (200 ms against 20 ms here). Texts are
    added as items arrive; the string is joined again only when searched.
    """

    #: The number of the first item (as the view counts them).
    first: int = 0
    _texts: list[str] = field(default_factory=list)
    _joined: str | None = None
    _lowered: str | None = None
    _starts: list[int] = field(default_factory=list)

    def reset(self, items: Sequence[TimelineItem], first: int) -> None:
        """Hold these items' texts instead."""
        self.first = first
        self._texts = []
        self._joined = self._lowered = None
        self.extend(items)

    def extend(self, items: Iterable[TimelineItem]) -> None:
        """Add items' texts at the end (markers add an empty one)."""
        add = self._texts.append
        for item in items:
            if isinstance(item, Message) and item.message:
                add(shown_part(item.message).split(_SEPARATOR, 1)[0])
            else:
                add("")
        self._joined = self._lowered = None

    def drop_front(self, first: int) -> None:
        """Forget the items numbered before `first`."""
        if first > self.first:
            del self._texts[: first - self.first]
            self.first = first
            self._joined = self._lowered = None

    def find(self, pattern: re.Pattern[str]) -> list[Hit]:
        """Every non-empty match inside one item's text, in order."""
        if self._joined is None:
            self._join()
        assert self._joined is not None
        return self._hits(pattern.finditer(self._joined))

    def find_text(self, text: str) -> list[Hit]:
        """Every occurrence of `text`, in any case: what `compile_query` finds, faster.

        A case-insensitive regex over megabytes is seven times slower than a
        plain one over the lowered text; that one serves whenever lowering
        keeps every offset (no character lowers to two).
        """
        if self._joined is None:
            self._join()
        if self._lowered is None:
            return self.find(compile_query(text, regex=False))
        return self._hits(re.finditer(re.escape(text.lower()), self._lowered))

    def _join(self) -> None:
        joined = self._joined = _SEPARATOR.join(self._texts)
        lowered = joined.lower()
        self._lowered = lowered if len(lowered) == len(joined) else None
        starts, at = [], 0
        for text in self._texts:
            starts.append(at)
            at += len(text) + 1
        self._starts = starts

    def _hits(self, matches: Iterable[re.Match[str]]) -> list[Hit]:
        starts = self._starts
        hits: list[Hit] = []
        for found in matches:
            start, end = found.span()
            if end <= start:
                continue
            item = bisect_right(starts, start) - 1
            offset = starts[item]
            if end > offset + len(self._texts[item]):
                continue  # across two messages: a regex's `.` on the separator
            hits.append(Hit(self.first + item, start - offset, end - offset))
        return hits


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
        """Whether the filtered log shows this item.

        A divider shows only unfiltered; but what the user is sending, and the
        "info" lines (older messages loading or failing, a frame skipped), show
        whatever the filter: hiding them would hide a failure or a send.
        """
        if isinstance(item, Pending) or (isinstance(item, Marker) and item.kind == "info"):
            return True
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
