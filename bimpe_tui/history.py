"""Paging back through a conversation's history, older page after older page, to its start.

No Textual here: the conversation view asks a :class:`HistoryPager` for the page before
the oldest message it holds and prepends what comes back; the export walks whole
conversations with :func:`iter_all_messages`.

Why positions rather than a newest-first walk: list messages counts pages from the
newest message (``sort=-created_at``), so every message that arrives while the user
reads shifts every page by one, and a naive walk shows a message twice or, after a
reordering, not at all. Oldest first (``sort=created_at``), a message's position
never changes once it exists (new ones only append), so the pager finds the anchor's
position once, from a newest-first page, and from then on asks only for positions
below it: nothing twice, nothing skipped, however many arrive meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from .api.client import ConsoleClient
from .api.models import Message, Page

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "PAGES_AHEAD",
    "HistoryError",
    "HistoryPager",
    "Window",
    "iter_all_messages",
    "locate",
    "newer_than",
    "window_around",
]

DEFAULT_PAGE_SIZE = 100
"""Messages asked for per request: the API's largest page."""
PAGES_AHEAD = 3
"""Pages a whole-conversation walk keeps asked for at once (see iter_all_messages)."""
#: Pages tried while looking for the anchor before giving up: arrivals push it at most
#: a page or so further per request, so a few dozen covers any real drift.
_MAX_SEARCH_STEPS = 64


class HistoryError(Exception):
    """The server's pages do not let the history be followed (the anchor is not listed)."""


def _instant(iso: str) -> datetime | None:
    # Compared as instants, not strings: "10:00:00Z" sorts after "10:00:00.5Z" as text.
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class HistoryPager:
    """Pages of a conversation older than one message, newest page first.

    ``before`` is the oldest message the caller holds; ``newer_hint`` how many messages
    it believes are newer than that one (say, how many it loaded), which spares walking
    the pages in between: a wrong hint costs requests, never correctness. ``position``:
    ``before``'s place counted from the first message, when the caller knows it already
    (a :class:`Window`), which spares looking for it.

    Each :meth:`older` call returns the next batch oldest first, ready to prepend, and an
    empty list once the conversation's first message has been returned. A call that
    raises (network, server) leaves the pager as it was: calling again retries it.
    """

    def __init__(
        self,
        client: ConsoleClient,
        agent_id: str,
        conversation_id: str,
        before: Message,
        *,
        newer_hint: int = 0,
        position: int | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._client = client
        self._agent_id = agent_id
        self._conversation_id = conversation_id
        self._before = before
        self._hint = max(0, newer_hint)
        self._page_size = page_size
        # How many messages are older than the oldest returned so far, once known: the
        # anchor's position in oldest-first order (`position`, when the caller knows it).
        self._remaining: int | None = position

    @property
    def done(self) -> bool:
        """True once the first message of the conversation has been returned."""
        return self._remaining == 0

    @property
    def remaining(self) -> int | None:
        """How many older messages are still to come (None until the first request)."""
        return self._remaining

    async def _page(self, page: int, sort: str) -> Page[Message]:
        return await self._client.list_messages(
            self._agent_id,
            self._conversation_id,
            page=page,
            limit=self._page_size,
            sort=sort,
        )

    async def _locate(self) -> int:
        """The anchor's position counted from the first message (0 for the first)."""
        anchor = self._before
        anchor_at = _instant(anchor.created_at)
        page = self._hint // self._page_size + 1
        tried: set[int] = set()
        for _ in range(_MAX_SEARCH_STEPS):
            tried.add(page)
            found = await self._page(page, "-created_at")
            meta = found.meta
            for offset, message in enumerate(found.items):
                if message.id == anchor.id:
                    if meta is None or meta.total_count <= 0:
                        raise HistoryError("the server's pages say nothing of their total")
                    newer = (page - 1) * self._page_size + offset
                    # Total and position come from one answer, so they agree even when
                    # messages arrived since the last request.
                    return meta.total_count - 1 - newer
            if not found.items and meta is not None and meta.total_count > 0:
                # Past the end (the hint overshot): straight to the oldest page there is.
                last = (meta.total_count - 1) // self._page_size + 1
                if last < page and last not in tried:
                    page = last
                    continue
            step = self._direction(found, anchor_at)
            if step == 0 or page + step < 1 or page + step in tried:
                break
            page += step
        raise HistoryError(f"message {anchor.id} is not in the conversation's pages")

    @staticmethod
    def _direction(found: Page[Message], anchor_at: datetime | None) -> int:
        """+1 if the anchor must be on a later (older) page, -1 on an earlier one, 0: nowhere."""
        if not found.items:
            # Past the end (the hint overshot): back towards the newest.
            return -1
        oldest = _instant(found.items[-1].created_at)
        newest = _instant(found.items[0].created_at)
        if anchor_at is None or oldest is None or newest is None:
            # Without comparable times only the order of arrivals helps: later pages.
            return 1 if found.has_next_page else 0
        if oldest >= anchor_at:
            return 1 if found.has_next_page else 0
        if newest <= anchor_at:
            return -1
        # The anchor's time is inside this page and it is not there: it is not listed.
        return 0

    async def older(self) -> list[Message]:
        """The next batch of older messages, oldest first; empty when there are no more."""
        remaining = self._remaining
        if remaining is None:
            remaining = await self._locate()
            self._remaining = remaining
        if remaining == 0:
            return []
        # The oldest-first page holding position remaining - 1, cut at the anchor: pages
        # are aligned on page_size, so the first batch may be short, the others are full.
        size = self._page_size
        page = (remaining - 1) // size + 1
        found = await self._page(page, "created_at")
        start = (page - 1) * size
        batch = found.items[: remaining - start]
        if len(batch) != remaining - start:
            raise HistoryError(
                f"the server listed {len(found.items)} messages on page {page}, "
                f"expected at least {remaining - start}"
            )
        self._remaining = start
        return batch


@dataclass(frozen=True, slots=True)
class Window:
    """A run of a conversation's messages somewhere in its history, oldest first.

    ``first`` is the position of ``messages[0]`` counted from the conversation's first
    message; ``at_end``: the run reaches the newest message there was when it was listed.
    """

    messages: list[Message]
    first: int
    at_end: bool

    @property
    def last(self) -> int:
        """The position of the newest message of the run."""
        return self.first + len(self.messages) - 1


async def locate(
    client: ConsoleClient,
    agent_id: str,
    conversation_id: str,
    message: Message,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[Page[Message], int]:
    """The oldest-first page holding `message`, and its number: a binary search on times.

    Oldest first, pages do not move as messages arrive, so halving the pages by the
    message's time finds it in about log2(pages) requests (11 for 100,000 messages).
    Raises HistoryError if it is not where its time says, BimpeError for the server's.
    """
    wanted = _instant(message.created_at)
    if wanted is None:
        raise HistoryError(f"message {message.id} has no time to look for it by")

    async def fetch(number: int) -> Page[Message]:
        return await client.list_messages(
            agent_id, conversation_id, page=number, limit=page_size, sort="created_at"
        )

    first = await fetch(1)
    low, high = 1, max(1, first.meta.page_count if first.meta is not None else 1)
    found: Page[Message] | None = first
    number = 1
    for _ in range(_MAX_SEARCH_STEPS):
        if found is None:
            number = (low + high) // 2
            found = await fetch(number)
        if any(item.id == message.id for item in found.items):
            return found, number
        if not found.items:
            high = number - 1  # past the end (the count moved): look lower
        else:
            oldest = _instant(found.items[0].created_at)
            newest = _instant(found.items[-1].created_at)
            if oldest is None or newest is None:
                raise HistoryError("the server's messages have no comparable times")
            # At a page's edge time the message may sit on the next page over (same times).
            if wanted <= oldest:
                high = number - 1
            elif wanted >= newest:
                low = number + 1
            else:
                break  # inside this page's times and not on it: not listed
        if low > high:
            break
        found = None
    raise HistoryError(f"message {message.id} is not in the conversation's pages")


async def window_around(
    client: ConsoleClient,
    agent_id: str,
    conversation_id: str,
    message: Message,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Window:
    """The page of history holding `message`, and the next one when it sits in the newer
    half, so that some of what followed shows under it (what preceded it loads as the
    reader scrolls up)."""
    page, number = await locate(client, agent_id, conversation_id, message, page_size=page_size)
    messages = list(page.items)
    offset = next(n for n, item in enumerate(messages) if item.id == message.id)
    at_end = not page.has_next_page
    if offset >= page_size // 2 and not at_end:
        after = await client.list_messages(
            agent_id, conversation_id, page=number + 1, limit=page_size, sort="created_at"
        )
        messages.extend(after.items)
        at_end = not after.has_next_page
    return Window(messages, (number - 1) * page_size, at_end)


async def newer_than(
    client: ConsoleClient,
    agent_id: str,
    conversation_id: str,
    last: int,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Window:
    """The messages after position `last`, to the end of the oldest-first page that holds
    the next one (a reader scrolling down a window moved into history)."""
    wanted = last + 1
    number = wanted // page_size + 1
    page = await client.list_messages(
        agent_id, conversation_id, page=number, limit=page_size, sort="created_at"
    )
    start = (number - 1) * page_size
    return Window(list(page.items[wanted - start :]), wanted, not page.has_next_page)


async def iter_all_messages(
    client: ConsoleClient,
    agent_id: str,
    conversation_id: str,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    ahead: int = PAGES_AHEAD,
) -> AsyncIterator[tuple[list[Message], int]]:
    """Every message of a conversation, oldest first, a page at a time, with the total.

    Yields ``(batch, total)`` where ``total`` is the server's latest count (it grows if
    messages arrive meanwhile; they are included up to the last page read). Oldest
    first, positions do not move as messages arrive, so none is listed twice, and the
    next ``ahead`` pages can be asked for while one is being written: the server builds
    a page while the client writes the one before.
    """
    if ahead < 1:
        raise ValueError("ahead must be at least 1")

    async def fetch(number: int) -> Page[Message]:
        return await client.list_messages(
            agent_id, conversation_id, page=number, limit=page_size, sort="created_at"
        )

    page = 1
    # Pages the first answer says exist; beyond them only the next one is asked for.
    known_pages = 1
    pending: dict[int, asyncio.Task[Page[Message]]] = {}
    try:
        while True:
            for number in range(page, max(page + 1, min(page + ahead, known_pages + 1))):
                if number not in pending:
                    pending[number] = asyncio.create_task(fetch(number))
            found = await pending.pop(page)
            total = found.meta.total_count if found.meta is not None else 0
            if found.meta is not None:
                known_pages = max(known_pages, found.meta.page_count)
            if found.items:
                yield found.items, max(total, (page - 1) * page_size + len(found.items))
            if not found.has_next_page or not found.items:
                return
            page += 1
    finally:
        for task in pending.values():
            task.cancel()
        await asyncio.gather(*pending.values(), return_exceptions=True)
