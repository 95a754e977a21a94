"""Customer waits: known for the conversations not streamed, and the one alert when a
wait for a person passes `[waits] alert_after`.

A conversation that needs a person (attention, or its AI paused) and is neither
watched nor has its history loaded has nothing in its timeline to tell its wait
from: its newest page of history is fetched into `Entry.wait_page`. Once when
it first needs a person, and again only when its `last_message_at` moved (or,
after a failed fetch, a minute on); never more than `MAX_IN_FLIGHT` at a time.

Every wait for a person is checked against `alert_after` after each listing,
each delivery and every `CHECK_EVERY` seconds; `waits.WaitAlarm` says which
just passed it (each wait once, only one this run saw below it, so a restart
never rings again for a wait already past).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..alerts import waiting_alert
from ..api.errors import BimpeError
from ..book import Book, Entry
from ..waits import WaitAlarm, for_a_person, started_at
from .alerting import Alerting
from .config import MonitorConfig
from .connection import Link
from .events import Emit, ListChanged, WaitPassed
from .tasks import Job

#: Messages fetched to know the wait of a conversation not streamed.
WAIT_PAGE_SIZE = 50
#: History requests for waits in flight at once (a start-up with hundreds
#: waiting must not spend the API's rate limit in one burst).
MAX_IN_FLIGHT = 4
#: Seconds between two checks of every wait against `alert_after`: a wait passes
#: its threshold with nothing arriving, so time alone must be looked at.
CHECK_EVERY = 5.0
#: After a failed fetch, seconds before it is tried again with nothing changed.
RETRY_AFTER = 60.0


def held_from(entry: Entry) -> float | None:
    """When the oldest message the entry's wait is worked out from was written
    (its timeline when it holds messages, else its page of history)."""
    timeline = entry.timeline
    if timeline.newest_message() is not None:
        return started_at(timeline.oldest_message())
    return started_at(entry.wait_page[0]) if entry.wait_page else None


class Waiting:
    """The pages fetched for waits, and the alarm on waits for a person."""

    def __init__(
        self,
        book: Book,
        config: MonitorConfig,
        link: Link,
        emit: Emit,
        spawn: Callable[[Job], None],
        *,
        alerting: Alerting,
    ) -> None:
        self._book = book
        self._config = config
        self._link = link
        self._emit = emit
        self._spawn = spawn
        self._alerting = alerting
        self._alarm = WaitAlarm(config.waits.alert_after)
        self._gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        #: Per conversation: the `last_message_at` its page was (or is being) fetched at.
        self._asked: dict[str, str | None] = {}
        #: Per conversation: when (time.monotonic()) its last fetch failed.
        self._failed: dict[str, float] = {}
        self._started = False
        #: Fetches queued or in flight.
        self._pending = 0

    @property
    def idle(self) -> bool:
        """Whether no page is being fetched (every wait due is known, or failed)."""
        return self._pending == 0

    def start(self) -> None:
        """From now on (the list is loaded): fetch what is due, and check every few seconds."""
        if self._started:
            return
        self._started = True
        self.listed()
        if self._config.waits.alert_after > 0:
            self._spawn(self._ticking())

    async def _ticking(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY)
            self.check()

    def listed(self) -> None:
        """After a listing: fetch the pages now due, then check every wait."""
        if not self._started:
            return
        self._fetch_due()
        self.check()

    # -- pages ----------------------------------------------------------------------------

    def _wants_page(self, entry: Entry) -> bool:
        return for_a_person(entry.conversation) and not entry.watched and not entry.history_loaded

    def _fetch_due(self) -> None:
        book = self._book
        for conversation_id in [c for c in self._asked if c not in book.entries]:
            del self._asked[conversation_id]
            self._failed.pop(conversation_id, None)
        dropped = False
        now = time.monotonic()
        for entry in book.entries.values():
            if not for_a_person(entry.conversation):
                # No one waits for a person any more: a page kept would show a stale
                # wait in the row, and needing one again is a first time again.
                self._asked.pop(entry.id, None)
                self._failed.pop(entry.id, None)
                if entry.wait_page:
                    entry.wait_page = ()
                    dropped = True
                continue
            if not self._wants_page(entry):
                continue
            key = entry.conversation.last_message_at
            if entry.id in self._asked and self._asked[entry.id] == key:
                failed = self._failed.get(entry.id)
                if failed is None or now - failed < RETRY_AFTER:
                    continue
            self._asked[entry.id] = key
            self._failed.pop(entry.id, None)
            self._pending += 1
            self._spawn(self._fetch(entry, key))
        if dropped:
            self._emit(ListChanged())

    def _current(self, entry: Entry, key: str | None) -> bool:
        """Whether a fetch for `entry` at `key` is still the one wanted."""
        return self._book.get(entry.id) is entry and self._asked.get(entry.id) == key

    async def _fetch(self, entry: Entry, key: str | None) -> None:
        try:
            await self._fetch_page(entry, key)
        finally:
            self._pending -= 1

    async def _fetch_page(self, entry: Entry, key: str | None) -> None:
        async with self._gate:
            # Queued behind others: it may have been watched, or moved on, meanwhile.
            client = self._link.client
            if client is None or not self._current(entry, key) or not self._wants_page(entry):
                return
            try:
                page = await client.list_messages(
                    entry.agent.id, entry.id, page=1, limit=WAIT_PAGE_SIZE
                )
            except BimpeError:
                # Quiet: the row just shows no wait; tried again at the next change.
                if self._current(entry, key):
                    self._failed[entry.id] = time.monotonic()
                return
        if not self._current(entry, key):
            return  # a newer fetch is due, or the conversation went
        entry.wait_page = tuple(reversed(page.items))  # the API gives the newest first
        self._emit(ListChanged())
        self.check_one(entry)

    # -- the alarm -------------------------------------------------------------------------

    def check(self) -> None:
        """Every wait for a person against `alert_after`; one that just passed it alerts."""
        if self._config.waits.alert_after <= 0:
            return
        entries = self._book.entries
        self._alarm.forget_except(entries)
        for entry in list(entries.values()):
            self.check_one(entry)

    def check_one(self, entry: Entry) -> None:
        """One conversation's wait against `alert_after` (after a delivery, a fetch)."""
        if not self._started or self._config.waits.alert_after <= 0:
            return
        since = entry.wait_for_a_person()
        now = self._config.clock()
        start = self._alarm.passed(
            entry.id, since, now, held_from=held_from(entry) if since is not None else None
        )
        if start is None:
            return
        waited = now - start
        self._emit(WaitPassed(entry.id, entry.agent.id, start, waited))
        said = entry.wait_message()
        self._alerting.raise_alert(
            waiting_alert(
                entry.conversation,
                start,
                agent=entry.agent.name,
                waited=waited,
                said=said.message if said is not None else None,
            )
        )
