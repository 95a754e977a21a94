"""What the app knows about every conversation, without any Textual.

The `Book` holds one `Entry` per conversation the picker lists: the API's
`Conversation`, and for watched ones the timeline (`timeline.py`), unread
count and stream status. It decides the picker's order and what the filter matches, so both
can be tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .api.models import Agent, Conversation, Message
from .api.stream import StreamStatus, parse_timestamp
from .timeline import (
    MAX_TIMELINE,
    Marker,
    MarkerKind,
    Pending,
    Timeline,
    TimelineItem,
    place_history,
)
from .waits import for_a_person, started_at, wait_start

# The timeline was part of this module; what imported it from here still can.
__all__ = [
    "MAX_TIMELINE",
    "Book",
    "Entry",
    "Marker",
    "MarkerKind",
    "Older",
    "Pending",
    "Timeline",
    "TimelineItem",
    "attention_order",
    "held",
    "place_history",
]

OlderState = Literal["idle", "loading", "failed", "start"]

#: The retry key named by the failed line (the main screen's `r`).
RETRY_KEY = "r"


@dataclass
class Older:
    """Paging back into a conversation's history: what the top of its log says.

    "idle": nothing asked (reaching the top asks); "loading": a page is on its
    way; "failed": the last page could not be loaded (`error` says why; reaching
    the top again or `r` retries); "start": the first message is held.
    """

    state: OlderState = "idle"
    error: str = ""
    #: With "start": the id of the conversation's first message (held then).
    first: str = ""

    def marker(self) -> Marker | None:
        """The line shown above the oldest message held, if any."""
        if self.state == "loading":
            return Marker("info", "loading older messages…")
        if self.state == "failed":
            return Marker(
                "info",
                f"could not load older messages: {self.error} — press {RETRY_KEY} to retry",
            )
        if self.state == "start":
            return Marker("info", "the first message of this conversation")
        return None


@dataclass
class Entry:
    """One conversation as the app sees it."""

    agent: Agent
    conversation: Conversation
    timeline: Timeline = field(default_factory=Timeline)
    unread: int = 0
    #: The stream's latest status; None while not watched.
    status: StreamStatus | None = None
    watched: bool = False
    history_loaded: bool = False
    #: Connections the current stream has made (the first is not a "reconnect").
    connections: int = 0
    #: The server could not resume by id since the user last looked.
    gap_possible: bool = False
    #: When the user last had it open (time.monotonic()), for least-recently-viewed.
    last_viewed: float = 0.0
    #: Appeared in a refresh of the list during this run, and not opened since.
    new: bool = False
    #: Not watched, and the list showed activity since the user last looked.
    active: bool = False
    #: No longer in the server's list (kept because it is watched or open).
    gone: bool = False
    #: Why it is watched: "you", or the auto-watch rule that asked for it.
    watched_by: str = ""
    #: Per message id, the spans of its text that matched a highlight rule.
    highlights: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    #: Opened since its last news: out of the hotlist until something new arrives
    #: (a message, activity in the list, or attention turning on).
    visited: bool = False
    #: The user took it over this run (the server confirmed the AI paused).
    yours: bool = False
    #: Scrollback into history: loading, failed, or at the first message.
    older: Older = field(default_factory=Older)
    #: The newest page of history, fetched to know the wait of one not streamed.
    wait_page: tuple[Message, ...] = ()
    #: The last wait worked out, and what it was worked out from (see `waiting_since`).
    _wait: tuple[tuple[object, ...], Message | None, float | None] | None = field(
        default=None, repr=False, compare=False
    )

    def waiting_since(self) -> float | None:
        """When the customer's wait began (epoch seconds); None if no one waits.

        From the timeline when it holds messages, else from `wait_page`; worked
        out again only when either changed (a redraw asks for every row).
        """
        return self._worked_out()[2]

    def wait_message(self) -> Message | None:
        """The customer's message the wait counts from (see `waiting_since`)."""
        return self._worked_out()[1]

    def _worked_out(self) -> tuple[tuple[object, ...], Message | None, float | None]:
        timeline = self.timeline
        newest = timeline.newest_message()
        person = for_a_person(self.conversation)
        key = (
            person,
            newest.id if newest else None,
            len(timeline),
            len(timeline.mine),
            # The page itself, not its id(): a new page may be made where a freed one
            # was; tuples of Messages compare by identity, so this costs little.
            self.wait_page,
        )
        if self._wait is not None and (self._wait[0] == key or timeline.detached):
            # Detached: the window is back in history, it says nothing of the newest.
            return self._wait
        messages = timeline.messages() if newest is not None else list(self.wait_page)
        start = wait_start(messages, person=person, mine=timeline.mine)
        self._wait = (key, start, started_at(start))
        return self._wait

    def wait_for_a_person(self) -> float | None:
        """When the wait for a person began, if it is one (attention, or the AI paused)."""
        return self.waiting_since() if for_a_person(self.conversation) else None

    def forget_start(self) -> None:
        """New arrivals pushed the conversation's first message out of the window: the
        top no longer says it is the start (reaching it asks for older pages again)."""
        if self.older.state != "start":
            return
        oldest = self.timeline.oldest_message()
        if oldest is None or oldest.id != self.older.first:
            self.older = Older()

    def shown(self) -> list[TimelineItem]:
        """What the log draws: the timeline, under the scrollback line if there is one."""
        top = self.older.marker()
        items = list(self.timeline.items)
        return [top, *items] if top is not None else items

    @property
    def hot(self) -> bool:
        """On the hotlist: unseen messages or needing attention, and not visited since."""
        if self.visited:
            return False
        return bool(self.unread or self.active or self.conversation.needs_attention)

    def urgency(self) -> tuple[bool, float, bool, bool, int, float]:
        """Sort key of the hotlist, most urgent first: attention, the longest wait for a
        person first among those; then news, a highlighted match, the most unread, the
        most recent activity."""
        attention = self.conversation.needs_attention
        news = bool(self.unread or self.active)
        return (
            not attention,
            longest_wait_first(self),
            not news,
            not self.highlights,
            -self.unread,
            -_activity_key(self),
        )

    @property
    def id(self) -> str:
        """The conversation id."""
        return self.conversation.id

    @property
    def live(self) -> bool:
        """Its history is in and its stream is live (or back after a break): what it shows
        is up to date. Start-up, the benchmarks and the screenshots wait for this."""
        return (
            self.history_loaded
            and self.status is not None
            and self.status.state in ("live", "resumed")
        )

    @property
    def last_activity(self) -> str | None:
        """The newest of the list's `last_message_at` and the last message received."""
        listed = self.conversation.last_message_at
        last = self.timeline.last_message
        if last is None:
            return listed
        if listed is None:
            return last.created_at
        a, b = parse_timestamp(listed), parse_timestamp(last.created_at)
        if a is None or b is None:
            return last.created_at if b is not None else listed
        return listed if a > b else last.created_at

    @property
    def preview(self) -> str:
        """The newest message text, else the list's preview."""
        last = self.timeline.last_message
        if last is not None and last.message:
            return last.message
        return self.conversation.last_message_preview or ""

    def matches(self, needle: str) -> bool:
        """Whether the filter text matches its name, ids, channel or preview."""
        if not needle:
            return True
        needle = needle.casefold()
        c = self.conversation
        haystack = (
            c.channel_user_username,
            c.channel_user_id,
            c.id,
            c.channel_type,
            self.agent.name,
            self.preview[:500],
        )
        return any(needle in value.casefold() for value in haystack if value)


def _activity_key(entry: Entry) -> float:
    parsed = parse_timestamp(entry.last_activity) if entry.last_activity else None
    return parsed.timestamp() if parsed is not None else 0.0


def longest_wait_first(entry: Entry) -> float:
    """Sort key among those needing attention: the longest wait for a person first
    (the earliest start), then those with no known wait."""
    if not entry.conversation.needs_attention:
        return 0.0
    since = entry.wait_for_a_person()
    return since if since is not None else float("inf")


def attention_order(entries: Iterable[Entry]) -> list[Entry]:
    """Needing attention first (the longest wait for a person first among them), then
    unread, then latest activity."""
    return sorted(
        entries,
        key=lambda e: (
            not e.conversation.needs_attention,
            longest_wait_first(e),
            e.unread == 0,
            -_activity_key(e),
        ),
    )


class Book:
    """Every listed conversation, grouped by agent."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}
        self.entries: dict[str, Entry] = {}
        #: Agents whose conversation list has more pages to load.
        self.more_pages: dict[str, int] = {}

    def add_agent(self, agent: Agent) -> None:
        """Record an agent (kept in the order added)."""
        self.agents.setdefault(agent.id, agent)

    def add_conversations(self, agent: Agent, conversations: Iterable[Conversation]) -> None:
        """Add or refresh conversations; refreshing keeps the timeline and status."""
        self.add_agent(agent)
        for conversation in conversations:
            entry = self.entries.get(conversation.id)
            if entry is None:
                self.entries[conversation.id] = Entry(agent, conversation)
            else:
                entry.conversation = conversation

    def get(self, conversation_id: str) -> Entry | None:
        """The entry of a conversation id."""
        return self.entries.get(conversation_id)

    def ordered(self, needle: str = "") -> Iterator[tuple[Agent, list[Entry]]]:
        """Agents with their matching conversations in attention order."""
        for agent_id, agent in self.agents.items():
            entries = [
                e for e in self.entries.values() if e.agent.id == agent_id and e.matches(needle)
            ]
            if entries or not needle:
                yield agent, attention_order(entries)

    def flat(self, needle: str = "") -> list[Entry]:
        """All matching conversations in picker order."""
        return [entry for _, entries in self.ordered(needle) for entry in entries]

    def hotlist(self, needle: str = "") -> list[Entry]:
        """Conversations with news for the user, most urgent first (what alt+a visits)."""
        return sorted((e for e in self.flat(needle) if e.hot), key=Entry.urgency)

    def watched(self) -> list[Entry]:
        """The conversations being streamed."""
        return [e for e in self.entries.values() if e.watched]


def held(
    groups: Iterable[tuple[Agent, list[Entry]]], previous: Sequence[str]
) -> Iterator[tuple[Agent, list[Entry]]]:
    """The same groups with every row kept where `previous` had it.

    Rows `previous` did not have follow, in their own (attention) order: while
    the user moves through the list nothing moves under them, and what is new
    still shows.
    """
    rank = {conversation_id: n for n, conversation_id in enumerate(previous)}
    last = len(rank)
    for agent, entries in groups:
        # sorted() is stable: rows new to the list keep their attention order.
        yield agent, sorted(entries, key=lambda e: rank.get(e.id, last))
