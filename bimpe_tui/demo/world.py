"""The demo world: agents, conversations and messages as a pure function of seed and clock."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from json.encoder import encode_basestring as _encode_json_str

from bimpe_tui.demo.newcomers import (
    MAX_MESSAGES,
    MAX_PERIOD,
    RETENTION,
    SPACING,
    Life,
    life_of,
    newcomer_suffix,
    slot_of_suffix,
)
from bimpe_tui.demo.scripts import CLOSING, ESCALATION, EXCHANGES, TAKEOVER_REPLY, Exchange

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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ANCHOR: float = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
"""The world's epoch (seconds): nothing exists before it; the seats' first lives start here."""
_ANCHOR_MS = round(ANCHOR * 1000)
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_PREVIEW_CHARS = 120
# Bench conversations never end; a bound no index reaches keeps latest_index a plain min().
_NO_END = 1 << 62
# The role the SDK gives a business's human staff (the app shows it as "staff").
_STAFF_ROLE = "restaurant_user"
_MAX_NEWCOMER_SLOT = 36**7 - 1
_NEWCOMER_CACHE = 4096

MIN_LIFE = 100
MAX_LIFE = 3000
"""Bounds of a regular conversation's life, in messages (each seat draws one length)."""
LONG_BACKLOG = 100_200
"""Messages the long conversation already holds when it becomes the one listed."""
LONG_WINDOW = 2_000
"""Messages the long conversation then receives live before the next one takes its seat."""
LONG_OVERRUN = 2_000
"""Messages it still receives after that, unlisted: whoever watches the listed one is
sure of at least this many more (tests and benchmarks stream from it)."""
# The busiest regular (ngozi.eze, a message every 4 s) is the long one: benchmarks get
# about 100,000 messages of history and a lively stream in the same conversation.
_LONG_SEAT = 10
# A regular life's id suffix: a seeded check, the seat in one base-36 digit, the life
# number in six. Eleven characters: never the length of a bench (10) or newcomer (12) one.
_LIFE_CHECK_CHARS = 4
_LIFE_DIGITS = 6
_MAX_LIFE_NUMBER = 36**_LIFE_DIGITS - 1
_LIFE_CACHE = 1024


@lru_cache(maxsize=4096)
def _minute_prefix(minute: int) -> str:
    return (_EPOCH + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")


_SECONDS = tuple(f"{n:02d}" for n in range(60))
_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))


def _iso_from_ms(ms: int) -> str:
    # Hand-rolled from cached parts: it runs once per streamed frame, and going through
    # datetime each time would be the slowest step of a replay.
    minute, rem = divmod(ms, 60_000)
    secs, milli = divmod(rem, 1000)
    return _minute_prefix(minute) + _SECONDS[secs] + _MILLIS[milli]


def format_iso(ts: float) -> str:
    """Format epoch seconds as ISO-8601 UTC with milliseconds and a ``Z`` suffix."""
    return _iso_from_ms(_ms_floor(ts))


def parse_iso_ms(text: str) -> int | None:
    """Parse an ISO-8601 timestamp to whole epoch milliseconds (floored), or None if invalid.

    A timestamp without an offset is taken as UTC.
    """
    if not text or not text[0].isdigit():
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(milliseconds=1)


_B36_PAIRS = tuple(a + b for a in _B36 for b in _B36)


def _b36(n: int) -> str:
    if n < 36:
        return _B36[n]
    # Two digits per step: ids are formatted once per streamed frame.
    parts: list[str] = []
    while n:
        n, rem = divmod(n, 1296)
        parts.append(_B36_PAIRS[rem])
    return "".join(reversed(parts)).lstrip("0")


def _b36_fixed(value: int, width: int) -> str:
    text = ""
    for _ in range(width):
        value, rem = divmod(value, 36)
        text = _B36[rem] + text
    return text


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _hash_int(*parts: object, size: int = 8) -> int:
    key = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=size).digest(), "big")


def _ms_floor(now: float) -> int:
    """Largest whole millisecond m with m / 1000 <= now, so int and float comparisons agree."""
    m = math.floor(now * 1000)
    while (m + 1) / 1000 <= now:
        m += 1
    while m / 1000 > now:
        m -= 1
    return m


class AdjustableClock:
    """Wall-clock time that can be paused, sped up or moved forward while it runs.

    Starts at ``start`` (default: now) and runs at ``speed`` (1.0: real time, 0: frozen).
    The demo server's control endpoint drives it, so a benchmark in another process can
    make thousands of messages fall due at once or arrive at an exact rate.
    """

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._base = time.time() if start is None else start
        self._mono = time.monotonic()
        self._speed = speed

    def __call__(self) -> float:
        return self._base + (time.monotonic() - self._mono) * self._speed

    @property
    def speed(self) -> float:
        """How many clock seconds pass per real second."""
        return self._speed

    def set(
        self, *, now: float | None = None, advance: float = 0.0, speed: float | None = None
    ) -> float:
        """Jump to ``now`` (default: the current reading), plus ``advance``; change speed.

        Returns the new reading.
        """
        if speed is not None and speed < 0:
            raise ValueError("speed must not be negative")
        current = self() if now is None else now
        self._base = current + advance
        self._mono = time.monotonic()
        if speed is not None:
            self._speed = speed
        return self._base


@dataclass(frozen=True, slots=True)
class DemoMessage:
    """One message of the demo world."""

    id: str
    conversation_id: str
    agent_id: str
    index: int
    role: str
    message: str
    message_type: str
    created_at: float
    attachments: tuple[tuple[str, str], ...]

    @property
    def created_at_iso(self) -> str:
        """``created_at`` as the API formats it."""
        return _iso_from_ms(round(self.created_at * 1000))

    def to_api(self) -> dict[str, object]:
        """The REST ``Message`` shape."""
        out: dict[str, object] = {
            "id": self.id,
            "role": self.role,
            "message": self.message,
            "message_type": self.message_type,
            "created_at": self.created_at_iso,
        }
        if self.attachments:
            out["attachments"] = [{"type": kind, "url": url} for kind, url in self.attachments]
        return out

    def to_stream(self) -> dict[str, object]:
        """The ``StreamMessageEvent`` shape carried in a stream frame."""
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "role": self.role,
            "message": self.message,
            "message_type": self.message_type,
            "created_at": self.created_at_iso,
        }


@dataclass(frozen=True, slots=True)
class _AgentSpec:
    slot: str
    name: str
    kind: str
    status: str
    description: str
    business_name: str
    timezone: str
    persona: str
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class _ConvSpec:
    agent: int
    channel: str
    username: str
    user_id: str
    full_name: str
    email: str | None
    phone: str | None
    period: float
    needs_attention: bool = False
    paused: bool = False


@dataclass(frozen=True, slots=True)
class _Conv:
    id: str
    suffix: str
    agent_id: str
    kind: str
    spec: _ConvSpec
    channel_id: str
    period_ms: int
    first_name: str
    time_key: bytes
    exchange_key: bytes
    # Message n is due at ANCHOR + phase_ms + n * period_ms + jitter, where jitter is
    # floor(h * jitter_span / 2**64 / 10) for a hash h: 0 when jitter_span is 0.
    phase_ms: int
    jitter_span: int
    # Index of the last message a conversation ever sends; bench ones go on forever.
    last_index: int = _NO_END
    life: Life | None = None


@dataclass(frozen=True, slots=True)
class _Seat:
    """A regular's place in the world, filled by one conversation after another.

    The seat has a timeline of ticks, one per period: tick ``t`` falls at
    ``ANCHOR + t * period``. Life ``k`` is listed while the newest tick is in
    ``[a(k), a(k + 1))`` with ``a(k) = max(0, k * life_ticks - offset_ticks)``; its
    message ``n`` falls on tick ``max(0, a(k) - backlog) + n``, so a life with a backlog
    already holds that many messages when it takes the seat, and its last message on
    tick ``a(k + 1) + overrun - 1``.
    """

    number: int
    spec: _ConvSpec
    agent_id: str
    kind: str
    channel_id: str
    period_ms: int
    life_ticks: int
    offset_ticks: int
    backlog: int
    overrun: int


_AGENTS: tuple[_AgentSpec, ...] = (
    _AgentSpec(
        "kitchen",
        "Mama Ebi's Kitchen",
        "restaurant",
        "live",
        "Takes food orders, table bookings and delivery questions for a Lagos restaurant.",
        "Mama Ebi's Kitchen Ltd",
        "Africa/Lagos",
        "friendly",
        "2025-06-02T09:15:00.000Z",
        "2025-12-18T16:40:12.000Z",
    ),
    _AgentSpec(
        "hotel",
        "Harbour View Concierge",
        "hotel",
        "live",
        "Handles room bookings, check-in questions and guest requests for a waterfront hotel.",
        "Harbour View Suites",
        "Africa/Accra",
        "professional",
        "2025-08-21T11:02:33.000Z",
        "2025-12-29T08:05:41.000Z",
    ),
    _AgentSpec(
        "shop",
        "Adire & Co. Support",
        "shop",
        "development",
        "Answers order, shipping and returns questions for an online textile shop.",
        "Adire & Co.",
        "Africa/Lagos",
        "concise",
        "2025-11-07T14:48:09.000Z",
        "2025-12-30T19:21:55.000Z",
    ),
)

# Periods (seconds between messages at rate 1.0) mix a few busy chats with several quiet ones.
_CONVERSATIONS: tuple[_ConvSpec, ...] = (
    _ConvSpec(0, "whatsapp", "tolu_a", "2348031112233", "Tolu Adeyemi",
              "tolu.adeyemi@example.com", "+2348031112233", 5.0),
    _ConvSpec(0, "whatsapp", "chinedu.o", "2348067654321", "Chinedu Okafor", None,
              "+2348067654321", 20.0, needs_attention=True),
    _ConvSpec(0, "webchat", "guest-4821", "wc_4821f0a9", "Guest 4821", None, None, 45.0),
    _ConvSpec(0, "telephony", "+2348059990011", "+2348059990011", "Bisi Lawal", None,
              "+2348059990011", 90.0),
    _ConvSpec(0, "test_whatsapp", "qa-kitchen", "2348000000001", "QA Tester",
              "qa@example.com", "+2348000000001", 12.0),
    _ConvSpec(1, "whatsapp", "amelie.d", "33612345678", "Amélie Durand",
              "amelie.durand@example.com", "+33612345678", 8.0),
    _ConvSpec(1, "webchat", "kenji_w", "wc_9c1d27e4", "渡辺 健二", "kenji.w@example.com", None,
              30.0),
    _ConvSpec(1, "telephony", "+447700900123", "+447700900123", "Oliver Bennett", None,
              "+447700900123", 60.0, needs_attention=True),
    _ConvSpec(1, "whatsapp", "fatima.s", "971501234567", "فاطمة السيد",
              "fatima.alsayed@example.com", "+971501234567", 25.0, paused=True),
    _ConvSpec(1, "test_webchat", "qa-hotel", "wc_test_0001", "QA Tester", None, None, 70.0),
    _ConvSpec(2, "whatsapp", "ngozi.eze", "2348023344556", "Ngozi Eze",
              "ngozi.eze@example.com", "+2348023344556", 4.0),
    _ConvSpec(2, "webchat", "visitor-77c1", "wc_77c1b3d2", "Visitor 77c1", None, None, 15.0,
              needs_attention=True),
    _ConvSpec(2, "test_telephony", "+2348000000002", "+2348000000002", "QA Line", None,
              "+2348000000002", 55.0),
    _ConvSpec(2, "test_whatsapp", "qa-shop", "2348000000003", "QA Tester",
              "qa@example.com", "+2348000000003", 35.0),
    _ConvSpec(2, "telephony", "+2348120004455", "+2348120004455", "Emeka Nwosu", None,
              "+2348120004455", 80.0),
)  # fmt: skip

# The uniform world for benchmarks: one agent whose conversations all run at one rate.
_BENCH_AGENTS: tuple[_AgentSpec, ...] = (
    _AgentSpec(
        "bench",
        "Bench Shop",
        "shop",
        "live",
        "A uniform world for benchmarks: every conversation sends at the same steady rate.",
        "Bench Shop Ltd",
        "UTC",
        "concise",
        "2025-12-01T00:00:00.000Z",
        "2025-12-01T00:00:00.000Z",
    ),
)


def _bench_specs(count: int, period: float) -> tuple[_ConvSpec, ...]:
    return tuple(
        _ConvSpec(0, "webchat", f"bench-{n:04d}", f"wc_bench_{n:04d}", f"Bench {n}", None, None,
                  period)
        for n in range(count)
    )  # fmt: skip


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
        agent_specs = _BENCH_AGENTS if bench else _AGENTS
        conv_specs = _bench_specs(bench_conversations, bench_period) if bench else _CONVERSATIONS
        self._agents: list[dict[str, object]] = []
        self._agent_ids: list[str] = []
        for spec in agent_specs:
            agent_id = self._make_id("ag_", 8, "agent", spec.slot)
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
        self._convs: dict[str, _Conv] = {}
        self._by_suffix: dict[str, _Conv] = {}
        self._seats: list[_Seat] = []
        self._life_cache: dict[tuple[int, int], _Conv] = {}
        # The same lives by id: every message and list call looks its conversation up.
        self._life_ids: dict[str, _Conv] = {}
        if not bench:
            self._seats = [self._seat(number, spec) for number, spec in enumerate(conv_specs)]
            conv_specs = ()
        for slot, conv_spec in enumerate(conv_specs):
            # Bench ids come from other hash inputs, so they never alias the demo world's.
            suffix = self._make_id("", 10, "bench-conversation" if bench else "conversation", slot)
            # Whole milliseconds keep timestamps exact in ISO form (see time_of).
            period_ms = max(1, round(conv_spec.period * 1000 / rate))
            conv = _Conv(
                id=f"c_{suffix}",
                suffix=suffix,
                agent_id=self._agent_ids[conv_spec.agent],
                kind=agent_specs[conv_spec.agent].kind,
                spec=conv_spec,
                channel_id=self._make_id("ch_", 8, "channel", conv_spec.agent, conv_spec.channel),
                period_ms=period_ms,
                first_name=conv_spec.full_name.split(" ")[0],
                time_key=f"{seed}|c_{suffix}|".encode(),
                exchange_key=f"{seed}|c_{suffix}|x|".encode(),
                phase_ms=(slot * period_ms) // len(conv_specs) if bench else 0,
                jitter_span=0 if bench else 9 * period_ms,
            )
            self._convs[conv.id] = conv
            self._by_suffix[suffix] = conv
        if len(self._by_suffix) != len(conv_specs):  # pragma: no cover - hash collision
            raise RuntimeError("conversation id collision; pick another seed")
        self.newcomers = newcomers and not bench
        self._spacing_ms = max(1, round(SPACING * 1000 / rate))
        self._retention_ms = round(RETENTION * 1000 / rate)
        longest_life_ms = MAX_MESSAGES * (round(MAX_PERIOD * 1000 / rate) + 1)
        # How far back a slot may have started and still be listed: its whole life, the
        # retention after it, and its start's offset within the slot.
        self._reach_ms = longest_life_ms + self._retention_ms + self._spacing_ms
        self._newcomer_cache: dict[int, _Conv] = {}

    def _seat(self, number: int, spec: _ConvSpec) -> _Seat:
        long = number == _LONG_SEAT
        if long:
            life_ticks = LONG_WINDOW
        else:
            span = (MAX_LIFE - MIN_LIFE) // 2 + 1
            life_ticks = MIN_LIFE + 2 * (_hash_int(self.seed, "life-length", number) % span)
        # Even lengths and offsets: every life starts with a customer's message.
        offset_ticks = 2 * (_hash_int(self.seed, "life-offset", number) % (life_ticks // 2))
        return _Seat(
            number=number,
            spec=spec,
            agent_id=self._agent_ids[spec.agent],
            kind=_AGENTS[spec.agent].kind,
            channel_id=self._make_id("ch_", 8, "channel", spec.agent, spec.channel),
            period_ms=max(1, round(spec.period * 1000 / self.rate)),
            life_ticks=life_ticks,
            offset_ticks=offset_ticks,
            backlog=LONG_BACKLOG if long else 0,
            overrun=LONG_OVERRUN if long else 0,
        )

    def _make_id(self, prefix: str, length: int, *parts: object) -> str:
        value = _hash_int(self.seed, "id", *parts, size=16)
        text = ""
        for _ in range(length):
            value, rem = divmod(value, 36)
            text += _B36[rem]
        return prefix + text

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
        now_ms = _ms_floor(self.clock() if now is None else now)
        return [(conv.agent_id, conv.id) for conv in self._listed(now_ms)]

    def is_newcomer(self, conversation_id: str) -> bool:
        """True for a newcomer's id (started or not), False for a regular or unknown one."""
        conv = self._newcomer_by_id(conversation_id)
        return conv is not None

    def final_index(self, conversation_id: str) -> int | None:
        """Index of the last message a conversation will ever have; None if it never ends."""
        conv = self._conv(conversation_id)
        return None if conv.last_index == _NO_END else conv.last_index

    def long_conversation(self, now: float | None = None) -> tuple[str, str] | None:
        """``(agent_id, conversation_id)`` of the long conversation listed at ``now``.

        About ``LONG_BACKLOG`` to ``LONG_BACKLOG + LONG_WINDOW`` messages once the clock
        is that many of its periods past ``ANCHOR``; None in a bench world.
        """
        if not self._seats:
            return None
        now_ms = _ms_floor(self.clock() if now is None else now)
        conv = self._current_life(self._seats[_LONG_SEAT], now_ms)
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
            for conv in self._listed(_ms_floor(now))
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

    def _life_suffix(self, seat: int, number: int) -> str:
        check = _hash_int(self.seed, "life-id", seat, number) % 36**_LIFE_CHECK_CHARS
        return _b36_fixed(check, _LIFE_CHECK_CHARS) + _B36[seat] + _b36_fixed(number, _LIFE_DIGITS)

    def _life(self, seat: _Seat, number: int) -> _Conv:
        key = (seat.number, number)
        conv = self._life_cache.get(key)
        if conv is not None:
            return conv
        period_ms = seat.period_ms
        live = max(0, number * seat.life_ticks - seat.offset_ticks)
        first = max(0, live - seat.backlog)
        stop = (number + 1) * seat.life_ticks - seat.offset_ticks + seat.overrun
        suffix = self._life_suffix(seat.number, number)
        conv = _Conv(
            id=f"c_{suffix}",
            suffix=suffix,
            agent_id=seat.agent_id,
            kind=seat.kind,
            spec=seat.spec,
            channel_id=seat.channel_id,
            period_ms=period_ms,
            first_name=seat.spec.full_name.split(" ")[0],
            time_key=f"{self.seed}|c_{suffix}|".encode(),
            exchange_key=f"{self.seed}|c_{suffix}|x|".encode(),
            phase_ms=first * period_ms,
            jitter_span=9 * period_ms,
            last_index=stop - first - 1,
        )
        if len(self._life_cache) >= _LIFE_CACHE:
            # Lists need only the current life of each seat: start over.
            self._life_cache.clear()
            self._life_ids.clear()
        self._life_cache[key] = conv
        self._life_ids[conv.id] = conv
        return conv

    def _current_life(self, seat: _Seat, now_ms: int) -> _Conv:
        """The life holding ``seat`` at ``now_ms``: the one whose newest tick has passed."""
        offset = now_ms - _ANCHOR_MS
        tick = offset // seat.period_ms if offset > 0 else 0
        number = min((tick + seat.offset_ticks) // seat.life_ticks, _MAX_LIFE_NUMBER)
        conv = self._life(seat, number)
        if number and self._latest_ms(conv, now_ms) < 0:
            # The tick has come but its jittered first message has not: the previous
            # life still holds the seat.
            conv = self._life(seat, number - 1)
        return conv

    def _life_by_id(self, conversation_id: str) -> _Conv | None:
        known = self._life_ids.get(conversation_id)
        if known is not None:
            return known
        suffix = conversation_id[2:]
        if (
            not self._seats
            or not conversation_id.startswith("c_")
            or len(suffix) != _LIFE_CHECK_CHARS + 1 + _LIFE_DIGITS
            or any(ch not in _B36 for ch in suffix)
        ):
            return None
        seat = _B36.index(suffix[_LIFE_CHECK_CHARS])
        if seat >= len(self._seats):
            return None
        number = int(suffix[_LIFE_CHECK_CHARS + 1 :], 36)
        if self._life_suffix(seat, number) != suffix:
            return None
        return self._life(self._seats[seat], number)

    # --- newcomers -------------------------------------------------------------------

    def _newcomer(self, slot: int) -> _Conv:
        conv = self._newcomer_cache.get(slot)
        if conv is not None:
            return conv
        life = life_of(self.seed, slot)
        suffix = newcomer_suffix(self.seed, slot)
        period_ms = max(1, round(life.period * 1000 / self.rate))
        conv = _Conv(
            id=f"c_{suffix}",
            suffix=suffix,
            agent_id=self._agent_ids[life.agent],
            kind=_AGENTS[life.agent].kind,
            spec=_ConvSpec(
                life.agent,
                life.channel,
                life.username,
                life.user_id,
                life.full_name,
                life.email,
                life.phone,
                life.period,
            ),
            channel_id=self._make_id("ch_", 8, "channel", life.agent, life.channel),
            period_ms=period_ms,
            first_name=life.full_name.split(" ")[0],
            time_key=f"{self.seed}|c_{suffix}|".encode(),
            exchange_key=f"{self.seed}|c_{suffix}|x|".encode(),
            phase_ms=slot * self._spacing_ms + round(life.base_jitter * self._spacing_ms),
            jitter_span=9 * period_ms,
            last_index=life.messages - 1,
            life=life,
        )
        if len(self._newcomer_cache) >= _NEWCOMER_CACHE:
            # Lists only ever need the few dozen slots around now: start over.
            self._newcomer_cache.clear()
        self._newcomer_cache[slot] = conv
        return conv

    def _newcomer_by_id(self, conversation_id: str) -> _Conv | None:
        if not self.newcomers or not conversation_id.startswith("c_"):
            return None
        slot = slot_of_suffix(self.seed, conversation_id[2:])
        return None if slot is None else self._newcomer(slot)

    def _started(self, conversation_id: str) -> _Conv | None:
        """A regular, or a newcomer whose first message exists at ``clock()``."""
        conv = self._convs.get(conversation_id)
        if conv is not None:
            return conv
        conv = self._life_by_id(conversation_id) or self._newcomer_by_id(conversation_id)
        if conv is None or self._latest_ms(conv, _ms_floor(self.clock())) < 0:
            return None
        return conv

    def _listed(self, now_ms: int) -> list[_Conv]:
        listed = list(self._convs.values())
        listed.extend(self._current_life(seat, now_ms) for seat in self._seats)
        if not self.newcomers:
            return listed
        offset = now_ms - _ANCHOR_MS
        if offset < 0:
            return listed
        # Slot k starts in [k, k + 0.9) spacings after the anchor, so only the slots
        # within reach of now can be listed: a few dozen whatever the clock says.
        last = min(offset // self._spacing_ms, _MAX_NEWCOMER_SLOT)
        first = max(0, (offset - self._reach_ms) // self._spacing_ms)
        for slot in range(first, last + 1):
            conv = self._newcomer(slot)
            latest = self._latest_ms(conv, now_ms)
            if latest >= 0 and self._time_ms(conv, latest) + self._retention_ms >= now_ms:
                listed.append(conv)
        return listed

    def _conversation_shape(self, conv: _Conv, now: float) -> dict[str, object]:
        spec = conv.spec
        latest = self._latest_ms(conv, _ms_floor(now))
        created = _iso_from_ms(self._time_ms(conv, 0))
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
                last_seen = _iso_from_ms(self._time_ms(conv, customer_index))
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

    def _conv(self, conversation_id: str) -> _Conv:
        conv = (
            self._convs.get(conversation_id)
            or self._life_by_id(conversation_id)
            or self._newcomer_by_id(conversation_id)
        )
        if conv is None:
            raise KeyError(f"unknown conversation {conversation_id!r}")
        return conv

    def _time_ms(self, conv: _Conv, index: int) -> int:
        base = _ANCHOR_MS + conv.phase_ms + index * conv.period_ms
        if not conv.jitter_span:
            return base
        # floor(jitter * period) with jitter in [0, 0.9) stays below period_ms, which is
        # what keeps times strictly increasing even at period_ms == 1.
        digest = hashlib.blake2b(conv.time_key + b"%d" % index, digest_size=8).digest()
        h = int.from_bytes(digest, "big")
        return base + (h * conv.jitter_span) // (10 << 64)

    def time_of(self, conversation_id: str, index: int) -> float:
        """Creation time (epoch seconds, whole milliseconds) of message ``index``."""
        return self._time_ms(self._conv(conversation_id), index) / 1000

    def _latest_ms(self, conv: _Conv, now_ms: int) -> int:
        first_ms = _ANCHOR_MS + conv.phase_ms
        if now_ms < first_ms:
            return -1
        n = (now_ms - first_ms) // conv.period_ms
        # Message n starts at or after n * period, so only n itself may still be pending.
        if self._time_ms(conv, n) > now_ms:
            n -= 1
        return n if n < conv.last_index else conv.last_index

    def latest_index(self, conversation_id: str, now: float | None = None) -> int:
        """Index of the newest message created at or before ``now`` (default: clock()), or -1."""
        conv = self._conv(conversation_id)
        return self._latest_ms(conv, _ms_floor(self.clock() if now is None else now))

    def latest_index_ms(self, conversation_id: str, now_ms: int) -> int:
        """Like :meth:`latest_index` for a time in whole epoch milliseconds."""
        return self._latest_ms(self._conv(conversation_id), now_ms)

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
        if _b36(index) != digits:
            return None
        return conv.id, index

    def message_id(self, conversation_id: str, index: int) -> str:
        """The id of message ``index`` (whether or not it exists yet)."""
        return f"m_{self._conv(conversation_id).suffix}_{_b36(index)}"

    def _exchange(self, conv: _Conv, exchange_no: int) -> tuple[Exchange, dict[str, str]]:
        digest = hashlib.blake2b(conv.exchange_key + b"%d" % exchange_no, digest_size=16)
        h = int.from_bytes(digest.digest(), "big")
        bank = EXCHANGES[conv.kind]
        h, pick = divmod(h, len(bank))
        ref = h % 36**6
        values = {
            "order": str(10_000 + h % 90_000),
            "ref": (
                _B36_PAIRS[ref // 1296**2] + _B36_PAIRS[ref // 1296 % 1296] + _B36_PAIRS[ref % 1296]
            ).upper(),
            "qty": str(2 + (h >> 20) % 4),
            "time": f"{(h >> 24) % 24:02d}:{((h >> 30) % 4) * 15:02d}",
            "day": _DAYS[(h >> 34) % 7],
            "name": conv.first_name,
        }
        return bank[pick], values

    @staticmethod
    def _turn(exchange: Exchange, part: int) -> tuple[str, str, str]:
        """(role, template, attachment kind) of one half of an exchange."""
        if part == 0:
            return "customer", exchange.customer, exchange.customer_attachment
        return exchange.reply_role, exchange.reply, exchange.reply_attachment

    @classmethod
    def _newcomer_turn(
        cls, life: Life, exchange: Exchange, exchange_no: int, part: int
    ) -> tuple[str, str, str]:
        """Like :meth:`_turn`, with the scripted moments of a newcomer's life."""
        if exchange_no == life.exchanges - 1:
            exchange = CLOSING
        elif exchange_no == life.escalation_exchange:
            exchange = ESCALATION
        role, template, attachment = cls._turn(exchange, part)
        if part == 1 and life.staff_replies(exchange_no):
            role = _STAFF_ROLE
            if exchange_no == life.takeover_exchange:
                template, attachment = TAKEOVER_REPLY, ""
        return role, template, attachment

    def message(self, conversation_id: str, index: int) -> DemoMessage:
        """Message ``index`` of a conversation (defined for any index >= 0)."""
        if index < 0:
            raise IndexError("message index must be >= 0")
        conv = self._conv(conversation_id)
        exchange_no, part = divmod(index, 2)
        exchange, values = self._exchange(conv, exchange_no)
        if conv.life is None:
            role, template, attachment = self._turn(exchange, part)
        else:
            role, template, attachment = self._newcomer_turn(conv.life, exchange, exchange_no, part)
        msg_id = f"m_{conv.suffix}_{_b36(index)}"
        attachments: tuple[tuple[str, str], ...] = ()
        if attachment == "image":
            attachments = (("image", f"https://example.com/media/{conv.suffix}/{msg_id}.jpg"),)
        elif attachment == "document":
            attachments = (("document", f"https://example.com/files/{conv.suffix}/{msg_id}.pdf"),)
        return DemoMessage(
            id=msg_id,
            conversation_id=conv.id,
            agent_id=conv.agent_id,
            index=index,
            role=role,
            message=template.format_map(values),
            message_type=attachment or "text",
            created_at=self._time_ms(conv, index) / 1000,
            attachments=attachments,
        )

    def search(self, conversation_id: str, needle: str, latest: int) -> list[int]:
        """Indices ``0 <= i <= latest`` whose text contains ``needle`` (casefolded), oldest first.

        The text only, one exchange at a time: list messages searches a whole
        conversation, up to the long one's hundred thousand messages.
        """
        conv = self._conv(conversation_id)
        folded = needle.casefold()
        hits: list[int] = []
        for exchange_no in range((latest + 2) // 2):
            exchange, values = self._exchange(conv, exchange_no)
            for part in (0, 1):
                index = 2 * exchange_no + part
                if index > latest:
                    break
                if conv.life is None:
                    template = self._turn(exchange, part)[1]
                else:
                    template = self._newcomer_turn(conv.life, exchange, exchange_no, part)[1]
                if folded in template.format_map(values).casefold():
                    hits.append(index)
        return hits

    def stream_payloads(
        self, conversation_id: str, start: int, stop: int
    ) -> Iterator[tuple[str, str]]:
        """``(id, JSON)`` for messages ``start <= index < stop``, fast, for stream frames.

        The JSON is exactly ``json.dumps(message(...).to_stream(), ensure_ascii=False,
        separators=(",", ":"))``; it is built by hand because a backlog replay encodes
        hundreds of thousands of messages.
        """
        conv = self._conv(conversation_id)
        if conv.life is not None:
            # At most a few hundred messages, so the plain path is fast enough, and the
            # regulars' loop below stays free of newcomer checks.
            for index in range(max(0, start), stop):
                message = self.message(conversation_id, index)
                yield message.id, _dumps(message.to_stream())
            return
        id_head = f"m_{conv.suffix}_"
        conv_part = f'","conversation_id":"{conv.id}","role":"'
        time_key = conv.time_key
        period = conv.period_ms
        first_ms = _ANCHOR_MS + conv.phase_ms
        jitter_span = conv.jitter_span
        blake2b = hashlib.blake2b
        cached_minute = -1
        minute_prefix = ""
        cached_no = -1
        cached_high = -1
        high_digits = ""
        turns: tuple[tuple[str, str, str], tuple[str, str, str]] = (("", "", ""), ("", "", ""))
        for index in range(max(0, start), stop):
            exchange_no, part = divmod(index, 2)
            if exchange_no != cached_no:
                cached_no = exchange_no
                exchange, values = self._exchange(conv, exchange_no)
                turns = (
                    (
                        "customer",
                        _encode_json_str(exchange.customer.format_map(values)),
                        exchange.customer_attachment or "text",
                    ),
                    (
                        exchange.reply_role,
                        _encode_json_str(exchange.reply.format_map(values)),
                        exchange.reply_attachment or "text",
                    ),
                )
            role, text, message_type = turns[part]
            # Consecutive ids share all but their last two base-36 digits.
            high, low = divmod(index, 1296)
            if high != cached_high:
                cached_high = high
                high_digits = _b36(high) if high else ""
            msg_id = id_head + (high_digits + _B36_PAIRS[low] if high else _b36(low))
            # Inlined _time_ms and _iso_from_ms: this loop is the replay hot path.
            created_ms = first_ms + index * period
            if jitter_span:
                digest = blake2b(time_key + b"%d" % index, digest_size=8).digest()
                created_ms += (int.from_bytes(digest, "big") * jitter_span) // (10 << 64)
            minute, rem = divmod(created_ms, 60_000)
            if minute != cached_minute:
                cached_minute = minute
                minute_prefix = _minute_prefix(minute)
            secs, milli = divmod(rem, 1000)
            created = minute_prefix + _SECONDS[secs] + _MILLIS[milli]
            yield (
                msg_id,
                f'{{"id":"{msg_id}{conv_part}{role}","message":{text},'
                f'"message_type":"{message_type}","created_at":"{created}"}}',
            )

    def messages_between(
        self, conversation_id: str, after_index: int, until: float
    ) -> list[DemoMessage]:
        """Messages with index > ``after_index`` created at or before ``until``, oldest first."""
        latest = self.latest_index(conversation_id, until)
        return [
            self.message(conversation_id, i) for i in range(max(0, after_index + 1), latest + 1)
        ]
