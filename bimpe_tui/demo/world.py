"""The demo world: agents, conversations and messages as a pure function of seed and clock.

:class:`DemoWorld` answers what exists at an instant; the pieces it is built from live
beside it: :mod:`~bimpe_tui.demo.clock` (time), :mod:`~bimpe_tui.demo.ids` (ids and
seeded numbers), :mod:`~bimpe_tui.demo.regulars` and
:mod:`~bimpe_tui.demo.newcomers` (who is in the world), :mod:`~bimpe_tui.demo.conv`
(when a conversation's messages fall), :mod:`~bimpe_tui.demo.messages` (what they say)
and :mod:`~bimpe_tui.demo.frames` (the stream's JSON).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from bimpe_tui.demo.clock import (
    ANCHOR,
    ANCHOR_MS,
    AdjustableClock,
    format_iso,
    iso_from_ms,
    ms_floor,
    parse_iso_ms,
)
from bimpe_tui.demo.conv import (
    NO_END,
    Conv,
    bench_conv,
    latest_ms,
    life_conv,
    newcomer_conv,
    time_ms,
)
from bimpe_tui.demo.frames import stream_payloads
from bimpe_tui.demo.ids import b36, make_id
from bimpe_tui.demo.messages import DemoMessage, build_message, search_texts
from bimpe_tui.demo.newcomers import MAX_MESSAGES, MAX_PERIOD, RETENTION, SPACING, slot_of_suffix
from bimpe_tui.demo.regulars import (
    AGENTS,
    BENCH_AGENTS,
    CONVERSATIONS,
    LIFE_CACHE,
    LONG_BACKLOG,
    LONG_OVERRUN,
    LONG_SEAT,
    LONG_WINDOW,
    MAX_LIFE,
    MAX_LIFE_NUMBER,
    MIN_LIFE,
    Seat,
    bench_specs,
    make_seat,
    parse_life_suffix,
)

# ANCHOR, the LONG_* and *_LIFE bounds, AdjustableClock, format_iso and parse_iso_ms are
# re-exported: tests, benchmarks and the soak import them from here.
__all__ = [
    "ANCHOR",
    "LONG_BACKLOG",
    "LONG_OVERRUN",
    "LONG_WINDOW",
    "MAX_LIFE",
    "MIN_LIFE",
    "AdjustableClock",
    "DemoMessage",
    "DemoWorld",
    "format_iso",
    "parse_iso_ms",
]

_PREVIEW_CHARS = 120
_MAX_NEWCOMER_SLOT = 36**7 - 1
_NEWCOMER_CACHE = 4096


class DemoWorld:
    """Agents, conversations and messages derived only from ``seed``, ``rate`` and ``clock``.

    Fifteen regular *seats* (a customer on a channel of an agent, with fixed flags) are
    each held by one conversation at a time. A seat has a timeline of ticks, tick ``t``
    falling at ``ANCHOR + (t + jitter) * period / rate`` (whole milliseconds, ``jitter``
    in ``[0, 0.9)``, so times strictly increase) and the seat's conversations take turns
    on it: each lives ``MIN_LIFE`` to ``MAX_LIFE`` messages (a length drawn per seat from
    the seed, as is the tick its first life ends on), then ends, and the next one starts
    on the following tick. One seat holds the long conversation instead: each of its
    lives already has ``LONG_BACKLOG`` messages (written on the ticks before) when it
    takes the seat and receives ``LONG_WINDOW`` more live, so the one listed always has
    about 100,000 (once the clock is that many periods past ``ANCHOR``); it goes on for
    ``LONG_OVERRUN`` more once the next has taken the seat. Lists show each
    seat's current conversation; an ended one can still be fetched, streamed and paged by
    id. The newest message at any instant is found in O(1).

    Besides them, newcomers start over time (unless ``newcomers`` is False): slot ``k``
    starts in ``[k, k + 0.9) * SPACING / rate`` seconds after ``ANCHOR``, sends a few
    dozen to a few hundred messages on the same arithmetic, then ends. Its flags follow
    its life (see :class:`~bimpe_tui.demo.newcomers.Life`). Lists show the newcomers that
    have started and whose last message is at most ``RETENTION / rate`` seconds old; any
    started newcomer can still be fetched, streamed and paged by id.

    With ``bench_conversations`` > 0 the world is instead one agent with that many
    conversations, each creating a message every ``bench_period / rate`` seconds exactly
    (whole milliseconds, no jitter), their phases spread evenly over one period so the
    total load is uniform rather than in bursts; it has no newcomers.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        rate: float = 1.0,
        clock: Callable[[], float] = time.time,
        bench_conversations: int = 0,
        bench_period: float = 0.05,
        newcomers: bool = True,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be positive")
        if bench_conversations < 0:
            raise ValueError("bench_conversations must not be negative")
        if not bench_period > 0:
            raise ValueError("bench_period must be positive")
        self.seed = seed
        self.rate = rate
        self.clock = clock
        self.bench_conversations = bench_conversations
        bench = bench_conversations > 0
        agent_specs = BENCH_AGENTS if bench else AGENTS
        self._agents: list[dict[str, object]] = []
        self._agent_ids: list[str] = []
        for spec in agent_specs:
            agent_id = make_id(seed, "ag_", 8, "agent", spec.slot)
            self._agent_ids.append(agent_id)
            self._agents.append(
                {
                    "id": agent_id,
                    "name": spec.name,
                    "description": spec.description,
                    "status": spec.status,
                    "language": "en",
                    "persona": spec.persona,
                    "timezone": spec.timezone,
                    "business_name": spec.business_name,
                    "created_at": spec.created_at,
                    "updated_at": spec.updated_at,
                }
            )
        # Bench conversations, which never end; the regulars' lives are built on demand.
        self._convs: dict[str, Conv] = {}
        self._by_suffix: dict[str, Conv] = {}
        self._seats: list[Seat] = []
        self._life_cache: dict[tuple[int, int], Conv] = {}
        # The same lives by id: every message and list call looks its conversation up.
        self._life_ids: dict[str, Conv] = {}
        if not bench:
            self._seats = [
                make_seat(
                    seed, rate, number, spec, self._agent_ids[spec.agent], AGENTS[spec.agent].kind
                )
                for number, spec in enumerate(CONVERSATIONS)
            ]
        specs = bench_specs(bench_conversations, bench_period) if bench else ()
        for slot, conv_spec in enumerate(specs):
            agent_id, kind = self._agent_ids[conv_spec.agent], agent_specs[conv_spec.agent].kind
            conv = bench_conv(seed, slot, conv_spec, len(specs), agent_id, kind, rate)
            self._convs[conv.id] = conv
            self._by_suffix[conv.suffix] = conv
        if len(self._by_suffix) != len(specs):  # pragma: no cover - hash collision
            raise RuntimeError("conversation id collision; pick another seed")
        self.newcomers = newcomers and not bench
        self._spacing_ms = max(1, round(SPACING * 1000 / rate))
        self._retention_ms = round(RETENTION * 1000 / rate)
        longest_life_ms = MAX_MESSAGES * (round(MAX_PERIOD * 1000 / rate) + 1)
        # How far back a slot may have started and still be listed: its whole life, the
        # retention after it, and its start's offset within the slot.
        self._reach_ms = longest_life_ms + self._retention_ms + self._spacing_ms
        self._newcomer_cache: dict[int, Conv] = {}

    # --- structure -------------------------------------------------------------------

    def agents(self) -> list[dict[str, object]]:
        """API ``Agent`` shapes in a stable order (oldest first)."""
        return [dict(agent) for agent in self._agents]

    def agent(self, agent_id: str) -> dict[str, object] | None:
        """One API ``Agent`` shape, or None if unknown."""
        for agent in self._agents:
            if agent["id"] == agent_id:
                return dict(agent)
        return None

    def conversation_ids(self, now: float | None = None) -> list[tuple[str, str]]:
        """``(agent_id, conversation_id)`` of what is listed at ``now`` (default: clock()).

        The regulars first, in a stable order, then the listed newcomers, oldest first:
        exactly the conversations that :meth:`conversations` returns at that instant.
        """
        now_ms = ms_floor(self.clock() if now is None else now)
        return [(conv.agent_id, conv.id) for conv in self._listed(now_ms)]

    def is_newcomer(self, conversation_id: str) -> bool:
        """True for a newcomer's id (started or not), False for a regular or unknown one."""
        conv = self._newcomer_by_id(conversation_id)
        return conv is not None

    def final_index(self, conversation_id: str) -> int | None:
        """Index of the last message a conversation will ever have; None if it never ends."""
        conv = self._conv(conversation_id)
        return None if conv.last_index == NO_END else conv.last_index

    def long_conversation(self, now: float | None = None) -> tuple[str, str] | None:
        """``(agent_id, conversation_id)`` of the long conversation listed at ``now``.

        About ``LONG_BACKLOG`` to ``LONG_BACKLOG + LONG_WINDOW`` messages once the clock
        is that many of its periods past ``ANCHOR``; None in a bench world.
        """
        if not self._seats:
            return None
        now_ms = ms_floor(self.clock() if now is None else now)
        conv = self._current_life(self._seats[LONG_SEAT], now_ms)
        return conv.agent_id, conv.id

    def agent_of(self, conversation_id: str) -> str | None:
        """The agent id owning a conversation, or None if unknown or not started yet."""
        conv = self._started(conversation_id)
        return conv.agent_id if conv else None

    def conversations(self, agent_id: str) -> list[dict[str, object]]:
        """API ``Conversation`` shapes for an agent as of ``clock()`` (empty if unknown)."""
        now = self.clock()
        return [
            self._conversation_shape(conv, now)
            for conv in self._listed(ms_floor(now))
            if conv.agent_id == agent_id
        ]

    def conversation_detail(self, agent_id: str, conversation_id: str) -> dict[str, object] | None:
        """API ``ConversationDetail`` shape, or None if the pair is unknown."""
        conv = self._started(conversation_id)
        if conv is None or conv.agent_id != agent_id:
            return None
        out = self._conversation_shape(conv, self.clock())
        spec = conv.spec
        out["full_name"] = spec.full_name
        out["email"] = spec.email
        out["phone_number"] = spec.phone
        out["profile_picture"] = (
            f"https://example.com/avatars/{conv.suffix}.png"
            if spec.channel.endswith("app")
            else None
        )
        return out

    # --- regular lives ---------------------------------------------------------------

    def _life(self, seat: Seat, number: int) -> Conv:
        key = (seat.number, number)
        conv = self._life_cache.get(key)
        if conv is not None:
            return conv
        conv = life_conv(self.seed, seat, number)
        if len(self._life_cache) >= LIFE_CACHE:
            # Lists need only the current life of each seat: start over.
            self._life_cache.clear()
            self._life_ids.clear()
        self._life_cache[key] = conv
        self._life_ids[conv.id] = conv
        return conv

    def _current_life(self, seat: Seat, now_ms: int) -> Conv:
        """The life holding ``seat`` at ``now_ms``: the one whose newest tick has passed."""
        offset = now_ms - ANCHOR_MS
        tick = offset // seat.period_ms if offset > 0 else 0
        number = min((tick + seat.offset_ticks) // seat.life_ticks, MAX_LIFE_NUMBER)
        conv = self._life(seat, number)
        if number and latest_ms(conv, now_ms) < 0:
            # The tick has come but its jittered first message has not: the previous
            # life still holds the seat.
            conv = self._life(seat, number - 1)
        return conv

    def _life_by_id(self, conversation_id: str) -> Conv | None:
        known = self._life_ids.get(conversation_id)
        if known is not None:
            return known
        if not self._seats or not conversation_id.startswith("c_"):
            return None
        found = parse_life_suffix(self.seed, conversation_id[2:], len(self._seats))
        if found is None:
            return None
        seat, number = found
        return self._life(self._seats[seat], number)

    # --- newcomers -------------------------------------------------------------------

    def _newcomer(self, slot: int) -> Conv:
        conv = self._newcomer_cache.get(slot)
        if conv is not None:
            return conv
        conv = newcomer_conv(self.seed, self.rate, slot, self._agent_ids, self._spacing_ms)
        if len(self._newcomer_cache) >= _NEWCOMER_CACHE:
            # Lists only ever need the few dozen slots around now: start over.
            self._newcomer_cache.clear()
        self._newcomer_cache[slot] = conv
        return conv

    def _newcomer_by_id(self, conversation_id: str) -> Conv | None:
        if not self.newcomers or not conversation_id.startswith("c_"):
            return None
        slot = slot_of_suffix(self.seed, conversation_id[2:])
        return None if slot is None else self._newcomer(slot)

    def _started(self, conversation_id: str) -> Conv | None:
        """A regular, or a newcomer whose first message exists at ``clock()``."""
        conv = self._convs.get(conversation_id)
        if conv is not None:
            return conv
        conv = self._life_by_id(conversation_id) or self._newcomer_by_id(conversation_id)
        if conv is None or latest_ms(conv, ms_floor(self.clock())) < 0:
            return None
        return conv

    def _listed(self, now_ms: int) -> list[Conv]:
        listed = list(self._convs.values())
        listed.extend(self._current_life(seat, now_ms) for seat in self._seats)
        if not self.newcomers:
            return listed
        offset = now_ms - ANCHOR_MS
        if offset < 0:
            return listed
        # Slot k starts in [k, k + 0.9) spacings after the anchor, so only the slots
        # within reach of now can be listed: a few dozen whatever the clock says.
        last = min(offset // self._spacing_ms, _MAX_NEWCOMER_SLOT)
        first = max(0, (offset - self._reach_ms) // self._spacing_ms)
        for slot in range(first, last + 1):
            conv = self._newcomer(slot)
            latest = latest_ms(conv, now_ms)
            if latest >= 0 and time_ms(conv, latest) + self._retention_ms >= now_ms:
                listed.append(conv)
        return listed

    def _conversation_shape(self, conv: Conv, now: float) -> dict[str, object]:
        spec = conv.spec
        latest = latest_ms(conv, ms_floor(now))
        created = iso_from_ms(time_ms(conv, 0))
        last_at: str | None = None
        last_seen: str | None = None
        preview: str | None = None
        if latest >= 0:
            last = self.message(conv.id, latest)
            last_at = last.created_at_iso
            preview = last.message[:_PREVIEW_CHARS]
            # Customers write the even-numbered messages.
            customer_index = latest if latest % 2 == 0 else latest - 1
            if customer_index >= 0:
                last_seen = iso_from_ms(time_ms(conv, customer_index))
        life = conv.life
        return {
            "id": conv.id,
            "channel_type": spec.channel,
            "channel_id": conv.channel_id,
            "channel_user_id": spec.user_id,
            "channel_user_username": spec.username,
            "is_test_channel": spec.channel.startswith("test_"),
            "is_ai_chat_paused": spec.paused if life is None else life.paused_at(latest),
            "needs_attention": (
                spec.needs_attention if life is None else life.needs_attention_at(latest)
            ),
            "last_message_at": last_at,
            "last_seen": last_seen,
            "last_message_preview": preview,
            "created_at": created,
            "updated_at": last_at or created,
        }

    # --- time ------------------------------------------------------------------------

    def _conv(self, conversation_id: str) -> Conv:
        conv = (
            self._convs.get(conversation_id)
            or self._life_by_id(conversation_id)
            or self._newcomer_by_id(conversation_id)
        )
        if conv is None:
            raise KeyError(f"unknown conversation {conversation_id!r}")
        return conv

    def time_of(self, conversation_id: str, index: int) -> float:
        """Creation time (epoch seconds, whole milliseconds) of message ``index``."""
        return time_ms(self._conv(conversation_id), index) / 1000

    def latest_index(self, conversation_id: str, now: float | None = None) -> int:
        """Index of the newest message created at or before ``now`` (default: clock()), or -1."""
        conv = self._conv(conversation_id)
        return latest_ms(conv, ms_floor(self.clock() if now is None else now))

    def latest_index_ms(self, conversation_id: str, now_ms: int) -> int:
        """Like :meth:`latest_index` for a time in whole epoch milliseconds."""
        return latest_ms(self._conv(conversation_id), now_ms)

    def first_index_after(self, conversation_id: str, ts: float) -> int:
        """Index of the first message created strictly after ``ts``."""
        return self.latest_index(conversation_id, ts) + 1

    # --- messages --------------------------------------------------------------------

    def parse_message_id(self, message_id: str) -> tuple[str, int] | None:
        """``(conversation_id, index)`` for a well-formed id of a known conversation."""
        prefix, _, rest = message_id.partition("_")
        suffix, _, digits = rest.partition("_")
        if prefix != "m" or not digits:
            return None
        conv = (
            self._by_suffix.get(suffix)
            or self._life_by_id(f"c_{suffix}")
            or self._newcomer_by_id(f"c_{suffix}")
        )
        if conv is None:
            return None
        try:
            index = int(digits, 36)
        except ValueError:
            return None
        if b36(index) != digits:
            return None
        return conv.id, index

    def message_id(self, conversation_id: str, index: int) -> str:
        """The id of message ``index`` (whether or not it exists yet)."""
        return f"m_{self._conv(conversation_id).suffix}_{b36(index)}"

    def message(self, conversation_id: str, index: int) -> DemoMessage:
        """Message ``index`` of a conversation (defined for any index >= 0)."""
        if index < 0:
            raise IndexError("message index must be >= 0")
        return build_message(self._conv(conversation_id), index)

    def search(self, conversation_id: str, needle: str, latest: int) -> list[int]:
        """Indices ``0 <= i <= latest`` whose text contains ``needle`` (casefolded), oldest first.

        The text only, one exchange at a time: list messages searches a whole
        conversation, up to the long one's hundred thousand messages.
        """
        return search_texts(self._conv(conversation_id), needle, latest)

    def stream_payloads(
        self, conversation_id: str, start: int, stop: int
    ) -> Iterator[tuple[str, str]]:
        """``(id, JSON)`` for messages ``start <= index < stop``, fast, for stream frames.

        The JSON is exactly ``json.dumps(message(...).to_stream(), ensure_ascii=False,
        separators=(",", ":"))``; it is built by hand because a backlog replay encodes
        hundreds of thousands of messages.
        """
        # A generator, as it always was: an unknown id raises on the first next().
        yield from stream_payloads(self._conv(conversation_id), start, stop)

    def messages_between(
        self, conversation_id: str, after_index: int, until: float
    ) -> list[DemoMessage]:
        """Messages with index > ``after_index`` created at or before ``until``, oldest first."""
        latest = self.latest_index(conversation_id, until)
        return [
            self.message(conversation_id, i) for i in range(max(0, after_index + 1), latest + 1)
        ]
