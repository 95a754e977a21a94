"""The demo world's fixed cast: its agents, the fifteen regulars' seats, the bench world.

A regular is a customer on a channel of an agent, with fixed flags; its *seat* is held
by one conversation (a *life*) after another (see :class:`Seat`). Newcomers, who come
and go, are in :mod:`bimpe_tui.demo.newcomers`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bimpe_tui.demo.ids import B36, b36_fixed, hash_int, make_id

__all__ = [
    "AGENTS",
    "BENCH_AGENTS",
    "CONVERSATIONS",
    "LIFE_CACHE",
    "LONG_BACKLOG",
    "LONG_OVERRUN",
    "LONG_SEAT",
    "LONG_WINDOW",
    "MAX_LIFE",
    "MAX_LIFE_NUMBER",
    "MIN_LIFE",
    "AgentSpec",
    "ConvSpec",
    "Seat",
    "bench_specs",
    "life_span",
    "life_suffix",
    "make_seat",
    "parse_life_suffix",
]

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
LONG_SEAT = 10
"""The seat holding the long conversation."""
# A regular life's id suffix: a seeded check, the seat in one base-36 digit, the life
# number in six. Eleven characters: never the length of a bench (10) or newcomer (12) one.
_LIFE_CHECK_CHARS = 4
_LIFE_DIGITS = 6
MAX_LIFE_NUMBER = 36**_LIFE_DIGITS - 1
"""The last life a seat can have (the clock stops there, some 10,000 years on)."""
LIFE_CACHE = 1024
"""How many lives a world keeps built."""


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One agent of the world, as the API shows it (its id is drawn from ``slot``)."""

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
class ConvSpec:
    """A customer on a channel of an agent: what every life of a seat shares."""

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

    def channel_id(self, seed: int) -> str:
        """The id of its agent's channel of its kind: every customer on it shares it."""
        return make_id(seed, "ch_", 8, "channel", self.agent, self.channel)

    def period_ms(self, rate: float) -> int:
        """Its period at ``rate``, in whole milliseconds (they keep timestamps exact in
        ISO form: see ``conv.time_ms``)."""
        return max(1, round(self.period * 1000 / rate))


@dataclass(frozen=True, slots=True)
class Seat:
    """A regular's place in the world, filled by one conversation after another.

    The seat has a timeline of ticks, one per period: tick ``t`` falls at
    ``ANCHOR + t * period``. Life ``k`` is listed while the newest tick is in
    ``[a(k), a(k + 1))`` with ``a(k) = max(0, k * life_ticks - offset_ticks)``; its
    message ``n`` falls on tick ``max(0, a(k) - backlog) + n``, so a life with a backlog
    already holds that many messages when it takes the seat, and its last message on
    tick ``a(k + 1) + overrun - 1``.
    """

    number: int
    spec: ConvSpec
    agent_id: str
    kind: str
    channel_id: str
    period_ms: int
    life_ticks: int
    offset_ticks: int
    backlog: int
    overrun: int


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
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
    AgentSpec(
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
    AgentSpec(
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
CONVERSATIONS: tuple[ConvSpec, ...] = (
    ConvSpec(0, "whatsapp", "tolu_a", "2348031112233", "Tolu Adeyemi",
              "tolu.adeyemi@example.com", "+2348031112233", 5.0),
    ConvSpec(0, "whatsapp", "chinedu.o", "2348067654321", "Chinedu Okafor", None,
              "+2348067654321", 20.0, needs_attention=True),
    ConvSpec(0, "webchat", "guest-4821", "wc_4821f0a9", "Guest 4821", None, None, 45.0),
    ConvSpec(0, "telephony", "+2348059990011", "+2348059990011", "Bisi Lawal", None,
              "+2348059990011", 90.0),
    ConvSpec(0, "test_whatsapp", "qa-kitchen", "2348000000001", "QA Tester",
              "qa@example.com", "+2348000000001", 12.0),
    ConvSpec(1, "whatsapp", "amelie.d", "33612345678", "Amélie Durand",
              "amelie.durand@example.com", "+33612345678", 8.0),
    ConvSpec(1, "webchat", "kenji_w", "wc_9c1d27e4", "渡辺 健二", "kenji.w@example.com", None,
              30.0),
    ConvSpec(1, "telephony", "+447700900123", "+447700900123", "Oliver Bennett", None,
              "+447700900123", 60.0, needs_attention=True),
    ConvSpec(1, "whatsapp", "fatima.s", "971501234567", "فاطمة السيد",
              "fatima.alsayed@example.com", "+971501234567", 25.0, paused=True),
    ConvSpec(1, "test_webchat", "qa-hotel", "wc_test_0001", "QA Tester", None, None, 70.0),
    ConvSpec(2, "whatsapp", "ngozi.eze", "2348023344556", "Ngozi Eze",
              "ngozi.eze@example.com", "+2348023344556", 4.0),
    ConvSpec(2, "webchat", "visitor-77c1", "wc_77c1b3d2", "Visitor 77c1", None, None, 15.0,
              needs_attention=True),
    ConvSpec(2, "test_telephony", "+2348000000002", "+2348000000002", "QA Line", None,
              "+2348000000002", 55.0),
    ConvSpec(2, "test_whatsapp", "qa-shop", "2348000000003", "QA Tester",
              "qa@example.com", "+2348000000003", 35.0),
    ConvSpec(2, "telephony", "+2348120004455", "+2348120004455", "Emeka Nwosu", None,
              "+2348120004455", 80.0),
)  # fmt: skip

# The uniform world for benchmarks: one agent whose conversations all run at one rate.
BENCH_AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
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


def bench_specs(count: int, period: float) -> tuple[ConvSpec, ...]:
    return tuple(
        ConvSpec(0, "webchat", f"bench-{n:04d}", f"wc_bench_{n:04d}", f"Bench {n}", None, None,
                  period)
        for n in range(count)
    )  # fmt: skip


def make_seat(
    seed: int, rate: float, number: int, spec: ConvSpec, agent_id: str, kind: str
) -> Seat:
    """Seat ``number`` of the world drawn from ``seed``, its ticks ``spec.period / rate`` apart."""
    long = number == LONG_SEAT
    if long:
        life_ticks = LONG_WINDOW
    else:
        span = (MAX_LIFE - MIN_LIFE) // 2 + 1
        life_ticks = MIN_LIFE + 2 * (hash_int(seed, "life-length", number) % span)
    # Even lengths and offsets: every life starts with a customer's message.
    offset_ticks = 2 * (hash_int(seed, "life-offset", number) % (life_ticks // 2))
    return Seat(
        number=number,
        spec=spec,
        agent_id=agent_id,
        kind=kind,
        channel_id=spec.channel_id(seed),
        period_ms=spec.period_ms(rate),
        life_ticks=life_ticks,
        offset_ticks=offset_ticks,
        backlog=LONG_BACKLOG if long else 0,
        overrun=LONG_OVERRUN if long else 0,
    )


def life_span(seat: Seat, number: int) -> tuple[int, int]:
    """``(first, stop)``: the ticks of life ``number``'s first message and after its last."""
    live = max(0, number * seat.life_ticks - seat.offset_ticks)
    first = max(0, live - seat.backlog)
    stop = (number + 1) * seat.life_ticks - seat.offset_ticks + seat.overrun
    return first, stop


def life_suffix(seed: int, seat: int, number: int) -> str:
    """The id suffix of life ``number`` of seat ``seat``."""
    check = hash_int(seed, "life-id", seat, number) % 36**_LIFE_CHECK_CHARS
    return b36_fixed(check, _LIFE_CHECK_CHARS) + B36[seat] + b36_fixed(number, _LIFE_DIGITS)


def parse_life_suffix(seed: int, suffix: str, seats: int) -> tuple[int, int] | None:
    """``(seat, life number)`` a suffix names, or None if it is no life of this seed."""
    if len(suffix) != _LIFE_CHECK_CHARS + 1 + _LIFE_DIGITS or any(ch not in B36 for ch in suffix):
        return None
    seat = B36.index(suffix[_LIFE_CHECK_CHARS])
    if seat >= seats:
        return None
    number = int(suffix[_LIFE_CHECK_CHARS + 1 :], 36)
    if life_suffix(seed, seat, number) != suffix:
        return None
    return seat, number
