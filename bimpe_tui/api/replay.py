"""Telling a replay from news: the server's clock, timestamps compared, the probe.

Pure bookkeeping, no I/O: `FrameReader` asks these once per message of a
replay, and they never read this machine's clock (see `replay_horizon`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from .models import Message
from .outcomes import parse_timestamp

__all__ = [
    "PROBE_HOLD_LIMIT",
    "ReplayProbe",
    "canonical_time",
    "created_before",
    "replay_horizon",
    "settled_cause",
    "stale_cause",
]


def created_before(created_at: str, floor: str, *, unknown: bool = False) -> bool:
    """Whether a message's `created_at` is strictly earlier than `floor`.

    Two timestamps in the same canonical UTC form (same length, `Z`) compare
    as strings, with no parsing: the common case, once per delivered message.
    Anything else is parsed; when either time cannot be read, the answer is
    `unknown`.
    """
    if len(created_at) == len(floor) and created_at[-1:] == floor[-1:] == "Z":
        return created_at < floor
    a, b = parse_timestamp(created_at), parse_timestamp(floor)
    return unknown if a is None or b is None else a < b


def canonical_time(when: datetime) -> str:
    """`when` in the API's usual form, `2026-11-23T10:00:00.000Z`, to compare as text."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def replay_horizon(date_header: str | None) -> datetime | None:
    """The end of the second in which the server answered a stream GET, by its own clock.

    A replay is counted from the server alone, never from this machine's
    clock, which may be skewed against the server's by any amount: the
    replayed messages are those the server created before it answered, i.e.
    up to its `Date` header. `Date` has a resolution of one second, so a
    message created within that second counts as replayed. None when the
    server sent no usable `Date`.
    """
    if not date_header:
        return None
    try:
        answered = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if answered.tzinfo is None:
        answered = answered.replace(tzinfo=UTC)
    return answered + timedelta(seconds=1)


#: At most this many messages are held while a probe cannot tell a replay
#: from news (see `ReplayProbe`); past it, the probe settles.
PROBE_HOLD_LIMIT = 10_000


class ReplayProbe:
    """Right after a connection that sent `after=<id>`: is the server replaying?

    Ids decide what was delivered, not times: a new id is new whatever its
    `created_at` (a server node may run seconds behind). A timestamp may
    drop a message only inside a replay the engine recognised: the server
    sent again what it was not asked for. So, until the resume point's id
    shows up, a new id created before the resume point's time is held, not
    delivered: if the resume point then comes, everything held came before it
    in the server's order and is dropped; if the probe ends without it (a
    newer message, a heartbeat, the end of the connection) the held messages
    are delivered, unless the server did send known ids again (a replay,
    recognised, that skipped the resume point): then, as before ids decided,
    those older than the resume point are dropped, and that is said.
    """

    __slots__ = ("active", "cursor_id", "floor", "held", "horizon", "resent")

    def __init__(self, cursor_id: str, floor: str | None, horizon: str | None) -> None:
        self.active = True
        self.cursor_id = cursor_id
        #: The resume point's creation time, if known.
        self.floor = floor
        #: Messages created at or after this are live: the replay is over.
        self.horizon = horizon
        self.held: list[Message] = []
        #: Known ids the server sent again: the evidence of a replay.
        self.resent = 0

    def known(self, message_id: str) -> int | None:
        """A delivered id came again; the number of held messages dropped if it
        is the resume point (which ends the probe), else None."""
        self.resent += 1
        if message_id != self.cursor_id:
            return None
        self.active = False
        dropped = len(self.held)
        self.held = []
        return dropped

    def hold(self, message: Message) -> bool:
        """Hold a new message if it may belong to a replay; False ends the probe."""
        created_at = message.created_at
        floor, horizon = self.floor, self.horizon
        # Without the resume point's time nothing is held: holding everything
        # until the server goes quiet would delay every replay that long.
        if (
            floor is not None
            and created_before(created_at, floor)
            and (horizon is None or created_before(created_at, horizon, unknown=True))
            and len(self.held) < PROBE_HOLD_LIMIT
        ):
            self.held.append(message)
            return True
        return False

    def settle(self) -> tuple[list[Message], int]:
        """End the probe without the resume point: (messages to deliver, number dropped)."""
        self.active = False
        held, self.held = self.held, []
        floor = self.floor
        if not self.resent or floor is None:
            # Nothing known came again: no replay, so these are news (a node
            # whose clock runs behind).
            return held, 0
        keep = [m for m in held if not created_before(m.created_at, floor, unknown=True)]
        return keep, len(held) - len(keep)


def stale_cause(count: int, shown: bool) -> str:
    """Why `count` known-old messages a probe caught were dropped (a `frame_skipped`)."""
    # "Already shown" only when it was: the resume point is a message this
    # stream delivered, and these came before it. A caller's resume point
    # (`tail --after ID`) says only where they are.
    why = "already shown" if shown else "they come before the resume point"
    return (
        f"the server sent {count} message{'s' if count != 1 else ''} from before "
        f"the resume point again (it ignored `after`): dropped, {why}"
    )


def settled_cause(dropped: int) -> str:
    """Why a probe that settled without its resume point dropped messages (a `gap_possible`)."""
    return (
        f"the server sent messages again (it ignored `after`) but not the resume "
        f"point itself: {dropped} message{'s' if dropped != 1 else ''} older than "
        "the resume point dropped by time; one never shown may be among them"
    )
