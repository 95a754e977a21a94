"""The conversation list: every agent's conversations, loaded page by page, kept true
by refreshing (new rows, changed flags, gone ones, new agents), and the auto-watch
rules applied to what it shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from ..alerts import conversation_alerts
from ..api.errors import BimpeError, RateLimitError
from ..api.models import Agent, Conversation
from ..api.stream import parse_timestamp
from ..book import Book
from ..refresh import AGENTS_INTERVAL, RefreshSchedule, list_health
from ..rules import WatchRules
from .alerting import Alerting
from .config import MonitorConfig
from .connection import Link
from .events import Emit, ListChanged, Notice
from .tasks import Job

#: Conversations per page when listing.
PAGE_SIZE = 50
#: Conversation lists come newest activity first, at start-up and on every refresh.
LIST_SORT = "-last_message_at"


class Listing:
    """What the list holds of each agent, how fresh it is, and what it asks to watch."""

    def __init__(
        self,
        book: Book,
        config: MonitorConfig,
        link: Link,
        emit: Emit,
        spawn: Callable[[Job], None],
        *,
        alerting: Alerting,
        is_open: Callable[[str], bool],
        watch: Callable[[str, str], None],
        has_room: Callable[[], bool],
        listed: Callable[[], None] = lambda: None,
    ) -> None:
        """`watch(id, reason)` starts watching a conversation; `has_room()` says whether
        a stream may start without another stopping (auto-watch pushes none out);
        `listed()` is called after every merge and page loaded (the waits look)."""
        self._book = book
        self._config = config
        self._link = link
        self._emit = emit
        self._spawn = spawn
        self._alerting = alerting
        self._is_open = is_open
        self._watch = watch
        self._has_room = has_room
        self._listed = listed
        self.watch_rules = WatchRules.parse(config.auto_watch)
        #: Per agent: when its list is refreshed next, and how the last refresh went.
        self.schedules: dict[str, RefreshSchedule] = {}
        #: Per agent: how many pages of its conversations are loaded (and refreshed).
        self._pages: dict[str, int] = {}
        #: Wall-clock time of the first listing (what "new" is measured from).
        self.listed_at: float | None = None

    # -- loading ------------------------------------------------------------------------

    async def load(self) -> None:
        """Every agent, and the first page of each one's conversations. Raises BimpeError."""
        if self.listed_at is None:
            self.listed_at = self._config.clock()
        client = self._link.client
        assert client is not None
        page_no = 1
        while True:
            page = await client.list_agents(page=page_no, limit=100)
            for agent in page.items:
                self._book.add_agent(agent)
            if not page.has_next_page or not page.items:
                break
            page_no += 1
        for agent in list(self._book.agents.values()):
            await self._load_page(agent, 1)

    async def _load_page(self, agent: Agent, page_no: int) -> None:
        client = self._link.client
        assert client is not None
        page = await client.list_conversations(
            agent.id, page=page_no, limit=PAGE_SIZE, sort=LIST_SORT
        )
        self._book.add_conversations(agent, page.items)
        self._pages[agent.id] = max(page_no, self._pages.get(agent.id, 0))
        if page.has_next_page and page.items:
            self._book.more_pages[agent.id] = page_no + 1
        else:
            self._book.more_pages.pop(agent.id, None)

    async def load_more(self, agent_id: str) -> None:
        """Load an agent's next page of conversations."""
        agent = self._book.agents.get(agent_id)
        page_no = self._book.more_pages.get(agent_id)
        if agent is None or page_no is None:
            return
        try:
            await self._load_page(agent, page_no)
        except BimpeError as exc:
            self._emit(Notice(f"cannot load more conversations: {exc}", "error"))
        self._emit(ListChanged())
        self._listed()

    # -- refreshing ---------------------------------------------------------------------

    def start_refreshing(self) -> None:
        """Refresh every agent's list from now on, and the list of agents (if refreshing)."""
        if self._config.refresh_interval <= 0:
            return
        for agent in self._book.agents.values():
            self._start_refresher(agent)
        self._spawn(self._refresh_agents())

    def _start_refresher(self, agent: Agent) -> None:
        if agent.id in self.schedules:
            return
        schedule = RefreshSchedule(self._config.refresh_interval)
        self.schedules[agent.id] = schedule
        self._spawn(self._refresh_loop(agent, schedule))

    async def _refresh_loop(self, agent: Agent, schedule: RefreshSchedule) -> None:
        """Refresh one agent's list forever: the pages the user has loaded (the first,
        unless they asked for more), one request in flight, spaced by the schedule."""
        wait = schedule.first(time.monotonic())
        while True:
            await asyncio.sleep(wait)
            if self.schedules.get(agent.id) is not schedule:
                return  # the agent went away (see _refresh_agents)
            problem = schedule.problem
            try:
                conversations, complete = await self._fetch_listing(agent)
            except RateLimitError as exc:
                wait = schedule.rate_limited(time.monotonic(), exc.retry_after)
            except BimpeError as exc:
                wait = schedule.failed(time.monotonic(), str(exc))
            else:
                wait = schedule.succeeded(time.monotonic())
                self.merge_listing(agent, conversations, complete=complete)
            if schedule.problem != problem:
                self._emit(ListChanged())  # the status line says how the list is doing

    async def _fetch_listing(self, agent: Agent) -> tuple[list[Conversation], bool]:
        """The agent's conversations on the pages loaded so far, and whether that is all."""
        client = self._link.client
        assert client is not None
        conversations: list[Conversation] = []
        for page_no in range(1, self._pages.get(agent.id, 1) + 1):
            page = await client.list_conversations(
                agent.id, page=page_no, limit=PAGE_SIZE, sort=LIST_SORT
            )
            conversations.extend(page.items)
            if not page.has_next_page or not page.items:
                return conversations, True
        return conversations, False

    async def _refresh_agents(self) -> None:
        """Pick up agents added on the server, and let go of removed ones; rarely."""
        client = self._link.client
        assert client is not None
        while True:
            await asyncio.sleep(AGENTS_INTERVAL)
            try:
                page = await client.list_agents(page=1, limit=100)
            except BimpeError:
                continue  # the per-agent refreshes say when the service is failing
            self.merge_agents(page.items, complete=not page.has_next_page)

    def list_health(self) -> str:
        """The list's freshness in words when refreshing fails; empty when all is well."""
        return list_health(list(self.schedules.values()), time.monotonic())

    # -- merging ------------------------------------------------------------------------

    def merge_agents(self, agents: Sequence[Agent], *, complete: bool) -> None:
        """Apply a fresh agent list: start refreshing new agents; when the list is
        whole, drop the agents it lacks (their watched conversations stay, gone)."""
        book = self._book
        for agent in agents:
            if agent.id not in book.agents:
                book.add_agent(agent)
                self._start_refresher(agent)
                self._emit(Notice(f"new agent: {agent.name or agent.id}"))
        if complete:
            listed = {agent.id for agent in agents}
            for agent_id in [a for a in book.agents if a not in listed]:
                self.schedules.pop(agent_id, None)  # its refresher stops
                self.merge_listing(book.agents[agent_id], [], complete=True)
                if not any(e.agent.id == agent_id for e in book.entries.values()):
                    del book.agents[agent_id]
        self._emit(ListChanged())

    def merge_listing(
        self, agent: Agent, conversations: Sequence[Conversation], *, complete: bool = False
    ) -> None:
        """Apply a fresh first page: new rows, changed flags in place, alerts, auto-watch.

        When the page is the agent's whole list (`complete`), a conversation it
        no longer shows is gone from the server's list: dropped, unless it is
        watched or open, which stay, marked gone (greyed in the picker).
        """
        book = self._book
        # What the book holds is what the last listings showed (alerts compare with it).
        before = {e.id: e.conversation for e in book.entries.values() if e.agent.id == agent.id}
        for conversation in conversations:
            if conversation.id not in before and not self._started_since(conversation):
                # Only beyond the first page before (it moved up with new activity):
                # not new, and compared with itself, so it alerts nothing.
                before[conversation.id] = conversation
        alerting = self._alerting
        for alert in conversation_alerts(alerting.rules, before, conversations, agent=agent.name):
            alerting.raise_alert(alert)
        changed = False
        for conversation in conversations:
            entry = book.get(conversation.id)
            if entry is None:
                book.add_conversations(agent, [conversation])
                book.entries[conversation.id].new = self._started_since(conversation)
                changed = True
            elif entry.conversation != conversation:
                moved = conversation.last_message_at != entry.conversation.last_message_at
                asks = conversation.needs_attention and not entry.conversation.needs_attention
                entry.conversation = conversation
                opened = self._is_open(entry.id)
                if moved and not entry.watched and not opened:
                    entry.active = True
                    entry.visited = False
                if asks and not opened:
                    entry.visited = False  # attention turned on: news
                changed = True
        listed = {c.id for c in conversations}
        for entry in [e for e in book.entries.values() if e.agent.id == agent.id]:
            gone = complete and entry.id not in listed
            if gone and not entry.watched and not self._is_open(entry.id):
                del book.entries[entry.id]
                changed = True
            elif entry.gone != gone:
                entry.gone = gone
                changed = True
        if changed:
            # A refresh that brings nothing new costs the shell nothing.
            self.auto_watch()
            self._emit(ListChanged())
        # Also when nothing changed: a wait passes its threshold with time alone.
        self._listed()

    def _started_since(self, conversation: Conversation) -> bool:
        """Whether a conversation was created after this run's first listing (less one
        refresh interval, for clocks that disagree a little)."""
        created = parse_timestamp(conversation.created_at) if conversation.created_at else None
        if created is None or self.listed_at is None:
            return True
        return created.timestamp() >= self.listed_at - self._config.refresh_interval

    # -- auto-watch ---------------------------------------------------------------------

    def auto_watch(self) -> None:
        """Watch what the auto-watch rules ask for, within the stream limit."""
        if not self.watch_rules.rules:
            return
        for entry in list(self._book.entries.values()):
            if entry.watched:
                continue
            # Rules never push out what the user chose to watch.
            if not self._has_room():
                return
            rule = self.watch_rules.matching(
                entry.conversation, agent_id=entry.agent.id, is_new=entry.new
            )
            if rule is not None:
                self._watch(entry.id, str(rule))
