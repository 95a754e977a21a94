"""Fault injection for the demo server: queued one-shot faults and seeded random chaos."""

from __future__ import annotations

import collections
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "CHAOS_KINDS",
    "FAULT_KINDS",
    "HISTORY_KINDS",
    "LIST_KINDS",
    "MID_STREAM_KINDS",
    "PERSISTENT_KINDS",
    "SEND_KINDS",
    "STREAM_REQUEST_KINDS",
    "TICKET_KINDS",
    "FaultPlan",
    "parse_fault_spec",
]

FAULT_KINDS: tuple[str, ...] = (
    "drop",
    "cut",
    "silent",
    "close",
    "stream_401",
    "ticket_429",
    "ticket_503",
    "after_410",
    "list_429",
    "list_503",
    "send_lost",
    "history_503",
    "after_refused",
)
"""Every fault the demo server can inject."""

PERSISTENT_KINDS: frozenset[str] = frozenset({"after_refused"})
"""Faults that, once enabled, are the server's nature rather than chance: ``after_refused``
in ``kinds`` refuses every stream GET that carries ``after`` (an id or a time) with a 400
naming it, so every resume starts live, with new messages only. Queued, it refuses the
next one. Not part of ``all`` or :meth:`FaultPlan.chaos`: a server that can never resume
is a different server, not more chaos."""

CHAOS_KINDS: tuple[str, ...] = tuple(k for k in FAULT_KINDS if k not in PERSISTENT_KINDS)
"""What ``all`` and :meth:`FaultPlan.chaos` enable."""

MID_STREAM_KINDS: frozenset[str] = frozenset({"drop", "cut", "silent", "close"})
"""Faults that strike an open stream between (or inside) frames."""
TICKET_KINDS: frozenset[str] = frozenset({"ticket_429", "ticket_503"})
"""Faults answered to a stream-ticket POST."""
STREAM_REQUEST_KINDS: frozenset[str] = frozenset({"stream_401", "after_410", "after_refused"})
"""Faults answered to a stream GET instead of opening the stream."""
LIST_KINDS: frozenset[str] = frozenset({"list_429", "list_503"})
"""Faults answered to a list call (agents, conversations): 429 with Retry-After, or 503."""

SEND_KINDS: frozenset[str] = frozenset({"send_lost"})
"""Faults of a message POST: ``send_lost`` stores the message, then drops the answer."""

HISTORY_KINDS: frozenset[str] = frozenset({"history_503"})
"""Faults answered to a list-messages GET (history pages): 503. Queued only (see
:meth:`FaultPlan.inject`), never at random: chaos runs compare every delivery with the
server's record, and a first page of history lost to three 503s would read as loss."""

_MAX_REQUEST_FAULT_PROBABILITY = 0.25


@dataclass(slots=True)
class _Queued:
    kind: str
    after_messages: int


class FaultPlan:
    """Which faults the demo server injects, and a record of those it did.

    Faults come from two sources. :meth:`inject` queues one-shot faults that fire, in
    order, at the next opportunity. Chaos (``kinds`` non-empty and ``rate`` > 0) makes each
    open stream suffer a mid-stream fault after an exponentially distributed delay with
    mean ``1 / rate`` seconds, and each ticket POST, stream GET or list GET (agents,
    conversations) suffer an enabled request-level fault with probability
    ``min(0.25, 2 * rate)``. All randomness comes from ``random.Random`` generators seeded
    with ``seed`` and owned by the plan; list faults draw from a generator of their own,
    so list calls never change which stream faults a seed gives.
    """

    def __init__(self, *, kinds: Iterable[str] = (), rate: float = 0.0, seed: int = 0) -> None:
        chosen = tuple(kinds)
        _check_kinds(chosen)
        if rate < 0:
            raise ValueError("fault rate must not be negative")
        self.kinds: frozenset[str] = frozenset(chosen)
        self.rate = rate
        self.seed = seed
        self.injected: collections.Counter[str] = collections.Counter()
        self._rng = random.Random(seed)
        self._list_rng = random.Random(f"{seed}|list")
        # Sends are the user's doing: their own generator keeps chaos elsewhere unchanged.
        self._send_rng = random.Random(f"{seed}|send")
        self._queue: list[_Queued] = []
        self._listeners: list[Callable[[], None]] = []

    @classmethod
    def chaos(cls, rate: float = 0.05, seed: int = 0) -> FaultPlan:
        """A plan with every fault kind of chance enabled at ``rate`` (see CHAOS_KINDS)."""
        return cls(kinds=CHAOS_KINDS, rate=rate, seed=seed)

    def __repr__(self) -> str:
        kinds = ",".join(k for k in FAULT_KINDS if k in self.kinds) or "none"
        return f"FaultPlan(kinds={kinds}, rate={self.rate}, queued={len(self._queue)})"

    @property
    def chaos_enabled(self) -> bool:
        """True when random faults are on."""
        return bool(self.kinds) and self.rate > 0

    def inject(self, kind: str, count: int = 1, *, after_messages: int = 1) -> None:
        """Queue ``count`` one-shot faults of ``kind``.

        ``ticket_*`` fire on the next ticket POSTs, ``list_*`` on the next list GETs
        (agents or conversations), ``history_503`` on the next list-messages GETs,
        ``send_lost`` on the next message POSTs,
        ``stream_401`` on the next stream GETs,
        ``after_410`` on the next stream GETs whose ``after`` is a message id,
        ``after_refused`` on the next stream GETs with any ``after``, and
        ``drop``/``cut``/``silent``/``close`` on the next open stream once it has written
        ``after_messages`` message frames on that connection (0: straight away).
        """
        _check_kinds((kind,))
        if count < 0 or after_messages < 0:
            raise ValueError("count and after_messages must not be negative")
        self._queue.extend(_Queued(kind, after_messages) for _ in range(count))
        for listener in list(self._listeners):
            listener()

    @property
    def pending(self) -> list[str]:
        """Kinds of the queued faults not yet applied, in order."""
        return [item.kind for item in self._queue]

    def clear(self) -> None:
        """Drop every queued fault."""
        self._queue.clear()

    # --- hooks for the server --------------------------------------------------------

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever a fault is queued (the server wakes idle streams)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        """Undo :meth:`add_listener`."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _take_queued(self, accept: Callable[[_Queued], bool]) -> str | None:
        for position, item in enumerate(self._queue):
            if accept(item):
                del self._queue[position]
                self.injected[item.kind] += 1
                return item.kind
        return None

    def _roll_request_fault(
        self, candidates: Iterable[str], rng: random.Random | None = None
    ) -> str | None:
        rng = rng or self._rng
        enabled = sorted(k for k in candidates if k in self.kinds)
        if not enabled or not self.chaos_enabled:
            return None
        if rng.random() >= min(_MAX_REQUEST_FAULT_PROBABILITY, self.rate * 2):
            return None
        kind = rng.choice(enabled)
        self.injected[kind] += 1
        return kind

    def take_ticket_fault(self) -> str | None:
        """The fault to answer a ticket POST with, if any (counted as applied)."""
        queued = self._take_queued(lambda item: item.kind in TICKET_KINDS)
        return queued or self._roll_request_fault(TICKET_KINDS)

    def take_list_fault(self) -> str | None:
        """The fault to answer a list GET (agents, conversations) with, if any (counted)."""
        queued = self._take_queued(lambda item: item.kind in LIST_KINDS)
        return queued or self._roll_request_fault(LIST_KINDS, self._list_rng)

    def take_history_fault(self) -> str | None:
        """The queued fault to answer a list-messages GET with, if any (counted as applied)."""
        return self._take_queued(lambda item: item.kind in HISTORY_KINDS)

    def take_send_fault(self) -> str | None:
        """The fault to apply to a message POST, if any (counted as applied)."""
        queued = self._take_queued(lambda item: item.kind in SEND_KINDS)
        return queued or self._roll_request_fault(SEND_KINDS, self._send_rng)

    def take_stream_request_fault(
        self, *, after_is_id: bool, has_after: bool = False
    ) -> str | None:
        """The fault to answer a stream GET with, if any (counted as applied)."""
        allowed = {"stream_401", "after_410"} if after_is_id else {"stream_401"}
        if has_after:
            allowed.add("after_refused")
        queued = self._take_queued(lambda item: item.kind in allowed)
        if queued is None and has_after and "after_refused" in self.kinds:
            # A server that never resumes: every `after` is refused, by chance or not.
            self.injected["after_refused"] += 1
            return "after_refused"
        return queued or self._roll_request_fault(allowed - PERSISTENT_KINDS)

    def queued_stream_threshold(self) -> int | None:
        """Smallest ``after_messages`` among queued mid-stream faults, or None."""
        thresholds = [i.after_messages for i in self._queue if i.kind in MID_STREAM_KINDS]
        return min(thresholds) if thresholds else None

    def take_queued_stream_fault(self, messages_written: int) -> str | None:
        """A queued mid-stream fault due on a stream that wrote ``messages_written`` frames."""
        return self._take_queued(
            lambda item: item.kind in MID_STREAM_KINDS and item.after_messages <= messages_written
        )

    def next_chaos_delay(self) -> float | None:
        """Seconds until a stream's next random mid-stream fault, or None if none are enabled."""
        if not self.chaos_enabled or not (self.kinds & MID_STREAM_KINDS):
            return None
        return self._rng.expovariate(self.rate)

    def take_chaos_stream_fault(self) -> str:
        """Pick the kind of a random mid-stream fault that is due (counted as applied)."""
        kind = self._rng.choice(sorted(self.kinds & MID_STREAM_KINDS))
        self.injected[kind] += 1
        return kind


def _check_kinds(kinds: Iterable[str]) -> None:
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise ValueError(
            f"unknown fault kind(s): {', '.join(unknown)} (choose from {', '.join(FAULT_KINDS)}"
            " or all)"
        )


def parse_fault_spec(spec: str, *, rate: float, seed: int) -> FaultPlan:
    """Build a plan from a CLI value such as ``"drop,cut,silent"`` or ``"all"``.

    Raises ValueError naming any unknown kind.
    """
    names = [part.strip().lower() for part in spec.split(",") if part.strip()]
    _check_kinds(name for name in names if name != "all")
    if "all" in names:
        extra = [name for name in names if name in PERSISTENT_KINDS]
        return FaultPlan(kinds=(*CHAOS_KINDS, *extra), rate=rate, seed=seed)
    return FaultPlan(kinds=names, rate=rate, seed=seed)
