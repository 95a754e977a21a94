"""One conversation of the demo world, built from its spec, and when its messages fall.

A :class:`Conv` is a regular's life, a newcomer or a bench conversation; the world
builds them on demand from the seed (none is stored), so every function here is pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bimpe_tui.demo.clock import ANCHOR_MS
from bimpe_tui.demo.ids import make_id
from bimpe_tui.demo.newcomers import Life, life_of, newcomer_suffix
from bimpe_tui.demo.regulars import AGENTS, ConvSpec, Seat, life_span, life_suffix

__all__ = [
    "NO_END",
    "Conv",
    "bench_conv",
    "latest_ms",
    "life_conv",
    "newcomer_conv",
    "time_ms",
]

# Bench conversations never end; a bound no index reaches keeps latest_index a plain min().
NO_END = 1 << 62
"""``last_index`` of a conversation that never ends."""


@dataclass(frozen=True, slots=True)
class Conv:
    """A conversation: who it is, and the arithmetic placing its messages in time."""

    id: str
    suffix: str
    agent_id: str
    kind: str
    spec: ConvSpec
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
    last_index: int = NO_END
    life: Life | None = None


def _conv(
    seed: int,
    suffix: str,
    spec: ConvSpec,
    *,
    agent_id: str,
    kind: str,
    channel_id: str,
    period_ms: int,
    phase_ms: int,
    jitter_span: int,
    last_index: int = NO_END,
    life: Life | None = None,
) -> Conv:
    """A Conv with what follows from its seed, suffix and customer filled in: its id, the
    customer's first name, and the hash keys of its times and exchanges."""
    return Conv(
        id=f"c_{suffix}",
        suffix=suffix,
        agent_id=agent_id,
        kind=kind,
        spec=spec,
        channel_id=channel_id,
        period_ms=period_ms,
        first_name=spec.full_name.split(" ")[0],
        time_key=f"{seed}|c_{suffix}|".encode(),
        exchange_key=f"{seed}|c_{suffix}|x|".encode(),
        phase_ms=phase_ms,
        jitter_span=jitter_span,
        last_index=last_index,
        life=life,
    )


def bench_conv(
    seed: int, slot: int, spec: ConvSpec, count: int, agent_id: str, kind: str, rate: float
) -> Conv:
    """Bench conversation ``slot`` of ``count``: no jitter, phases spread over one period."""
    # Bench ids come from their own hash inputs, so they never alias the demo world's.
    suffix = make_id(seed, "", 10, "bench-conversation", slot)
    period_ms = spec.period_ms(rate)
    return _conv(
        seed,
        suffix,
        spec,
        agent_id=agent_id,
        kind=kind,
        channel_id=spec.channel_id(seed),
        period_ms=period_ms,
        phase_ms=(slot * period_ms) // count,
        jitter_span=0,
    )


def life_conv(seed: int, seat: Seat, number: int) -> Conv:
    """Life ``number`` of ``seat``."""
    period_ms = seat.period_ms
    first, stop = life_span(seat, number)
    return _conv(
        seed,
        life_suffix(seed, seat.number, number),
        seat.spec,
        agent_id=seat.agent_id,
        kind=seat.kind,
        channel_id=seat.channel_id,
        period_ms=period_ms,
        phase_ms=first * period_ms,
        jitter_span=9 * period_ms,
        last_index=stop - first - 1,
    )


def newcomer_conv(seed: int, rate: float, slot: int, agent_ids: list[str], spacing_ms: int) -> Conv:
    """The newcomer of slot ``slot``, its start ``slot`` spacings (plus jitter) past ANCHOR."""
    life = life_of(seed, slot)
    spec = life.spec
    period_ms = spec.period_ms(rate)
    return _conv(
        seed,
        newcomer_suffix(seed, slot),
        spec,
        agent_id=agent_ids[spec.agent],
        kind=AGENTS[spec.agent].kind,
        channel_id=spec.channel_id(seed),
        period_ms=period_ms,
        phase_ms=slot * spacing_ms + round(life.base_jitter * spacing_ms),
        jitter_span=9 * period_ms,
        last_index=life.messages - 1,
        life=life,
    )


def time_ms(conv: Conv, index: int) -> int:
    """Creation time of message ``index`` in whole epoch milliseconds."""
    base = ANCHOR_MS + conv.phase_ms + index * conv.period_ms
    if not conv.jitter_span:
        return base
    # floor(jitter * period) with jitter in [0, 0.9) stays below period_ms, which is
    # what keeps times strictly increasing even at period_ms == 1.
    digest = hashlib.blake2b(conv.time_key + b"%d" % index, digest_size=8).digest()
    h = int.from_bytes(digest, "big")
    return base + (h * conv.jitter_span) // (10 << 64)


def latest_ms(conv: Conv, now_ms: int) -> int:
    """Index of the newest message created at or before ``now_ms``, or -1."""
    first_ms = ANCHOR_MS + conv.phase_ms
    if now_ms < first_ms:
        return -1
    n = (now_ms - first_ms) // conv.period_ms
    # Message n starts at or after n * period, so only n itself may still be pending.
    if time_ms(conv, n) > now_ms:
        n -= 1
    return n if n < conv.last_index else conv.last_index
