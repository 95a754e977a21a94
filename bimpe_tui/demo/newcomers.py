"""Newcomer conversations of the demo world: when each starts, how long it lives, its flags."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bimpe_tui.demo.ids import B36, b36_fixed
from bimpe_tui.demo.regulars import ConvSpec

__all__ = [
    "MAX_MESSAGES",
    "MAX_PERIOD",
    "RETENTION",
    "SPACING",
    "Life",
    "life_of",
    "newcomer_suffix",
    "slot_of_suffix",
]

SPACING = 240.0
"""Mean seconds between two newcomers starting, at rate 1 (each slot starts once)."""
RETENTION = 5400.0
"""Seconds an ended newcomer stays listed after its last message, at rate 1."""
MIN_MESSAGES = 24
MAX_MESSAGES = 240
"""Bounds of a newcomer's life, in messages (always a whole number of exchanges)."""
MIN_PERIOD = 5.0
MAX_PERIOD = 25.0
"""Bounds of the seconds between a newcomer's messages, at rate 1."""

_CHECK_CHARS = 5
_SLOT_CHARS = 7
# Regular and bench suffixes are 10 characters long, so newcomers' never alias theirs.
SUFFIX_LENGTH = _CHECK_CHARS + _SLOT_CHARS
_MAX_SLOT = 36**_SLOT_CHARS - 1

# (full name, ascii handle): handles make usernames that any terminal shows.
_PEOPLE: tuple[tuple[str, str], ...] = (
    ("Adaeze Nwankwo", "adaeze.n"),
    ("Kwame Mensah", "kwame_m"),
    ("Aïcha Diallo", "aicha.d"),
    ("Babajide Ogunleye", "jide.o"),
    ("Zoë Fischer", "zoe.f"),
    ("Yusuf Bello", "yusufb"),
    ("李娜", "li.na"),
    ("Funmilayo Adebayo", "funmi.a"),
    ("Kofi Asante", "kofi.asante"),
    ("Søren Larsen", "soren.l"),
    ("Amaka Obi", "amaka_o"),
    ("Ibrahim Musa", "ibmusa"),
    ("Chiamaka Eze", "chiamaka.e"),
    ("María José Ruiz", "mj.ruiz"),
    ("Tunde Bakare", "tunde.b"),
    ("Efua Owusu", "efua.o"),
    ("Olumide Cole", "olu.cole"),
    ("Nkechi Uba", "nkechi_u"),
    ("Hassan Abdullahi", "hassan.a"),
    ("Priya Raman", "priya.r"),
    ("Émilie Laurent", "emilie.l"),
    ("Segun Afolabi", "segun.af"),
    ("Zainab Sani", "zainab.s"),
    ("Jomo Kariuki", "jomo.k"),
)
# Weighted like the regulars: mostly WhatsApp, some webchat and phone, a few test channels.
_CHANNELS: tuple[str, ...] = (
    ("whatsapp",) * 9 + ("webchat",) * 6 + ("telephony",) * 3
    + ("test_whatsapp", "test_webchat")
)  # fmt: skip
_COUNTRY_CODES = ("234", "233", "254", "44", "33")


@dataclass(frozen=True, slots=True)
class Life:
    """One newcomer's life, derived from the seed and its slot number.

    Message ``n`` is created at ``base + n * spec.period + jitter`` like a regular's. The life
    has ``messages`` messages (customer on even indices, a reply on odd ones) and then
    ends. ``attention`` and ``paused`` are ``(first, stop)`` message-index ranges: the flag
    is on while the newest message's index is in ``[first, stop)``.
    """

    slot: int
    spec: ConvSpec
    """The customer, their channel and agent, and their pace, as a regular has them (the
    flags of ``spec`` stay off: ``attention`` and ``paused`` say when they are on)."""
    base_jitter: float
    """Where in its slot the life starts, as a fraction of the spacing in [0, 0.9)."""
    messages: int
    attention: tuple[int, int] | None
    paused: tuple[int, int] | None

    @property
    def exchanges(self) -> int:
        """How many customer/reply exchanges the life has."""
        return self.messages // 2

    def needs_attention_at(self, latest: int) -> bool:
        """Whether the flag is on once message ``latest`` exists (-1: none yet)."""
        span = self.attention
        return span is not None and span[0] <= latest < span[1]

    def paused_at(self, latest: int) -> bool:
        """Whether the AI is paused once message ``latest`` exists (-1: none yet)."""
        span = self.paused
        return span is not None and span[0] <= latest < span[1]

    @property
    def escalation_exchange(self) -> int | None:
        """The exchange in which the customer asks for a person, if any."""
        return None if self.attention is None else self.attention[0] // 2

    @property
    def takeover_exchange(self) -> int | None:
        """The exchange whose reply is the staff member's first answer, if any."""
        return None if self.attention is None else (self.attention[1] - 1) // 2

    def staff_replies(self, exchange_no: int) -> bool:
        """Whether a staff member (not the AI) writes the reply of ``exchange_no``."""
        if exchange_no == self.takeover_exchange:
            return True
        span = self.paused
        return span is not None and span[0] <= 2 * exchange_no + 1 < span[1]


def _digest(seed: int, *parts: object) -> int:
    key = "|".join(str(p) for p in (seed, "newcomer", *parts)).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "big")


def newcomer_suffix(seed: int, slot: int) -> str:
    """The id suffix of slot ``slot``: a seeded check, then the slot in base 36."""
    if not 0 <= slot <= _MAX_SLOT:
        raise ValueError("newcomer slot out of range")
    return b36_fixed(_digest(seed, "id", slot), _CHECK_CHARS) + b36_fixed(slot, _SLOT_CHARS)


def slot_of_suffix(seed: int, suffix: str) -> int | None:
    """The slot a suffix names, or None if it is not a newcomer's of this seed."""
    if len(suffix) != SUFFIX_LENGTH:
        return None
    digits = suffix[_CHECK_CHARS:]
    if any(ch not in B36 for ch in digits):
        return None
    slot = int(digits, 36)
    return slot if newcomer_suffix(seed, slot) == suffix else None


def life_of(seed: int, slot: int) -> Life:
    """Everything about slot ``slot``'s newcomer except its clock arithmetic."""
    h = _digest(seed, "life", slot)
    h, agent = divmod(h, 3)
    h, channel_pick = divmod(h, len(_CHANNELS))
    h, person = divmod(h, len(_PEOPLE))
    h, country = divmod(h, len(_COUNTRY_CODES))
    h, number = divmod(h, 10**9)
    h, exchanges = divmod(h, MAX_MESSAGES // 2 - MIN_MESSAGES // 2 + 1)
    h, period_ms = divmod(h, round((MAX_PERIOD - MIN_PERIOD) * 1000) + 1)
    h, jitter = divmod(h, 900)
    h, has_email = divmod(h, 3)
    channel = _CHANNELS[channel_pick]
    full_name, handle = _PEOPLE[person]
    phone = f"+{_COUNTRY_CODES[country]}{number:09d}"
    kind = channel.removeprefix("test_")
    username = {"whatsapp": handle, "webchat": f"guest-{number % 10_000:04d}"}.get(kind, phone)
    user_id = {
        "whatsapp": phone.removeprefix("+"),
        "webchat": f"wc_{b36_fixed(number, 8)}",
    }.get(kind, phone)
    exchanges += MIN_MESSAGES // 2
    attention, paused = _flags(seed, slot, exchanges)
    return Life(
        slot=slot,
        spec=ConvSpec(
            agent=agent,
            channel=channel,
            username=username,
            user_id=user_id,
            full_name=full_name,
            email=f"{handle.replace('_', '.')}@example.com" if has_email == 0 else None,
            phone=None if kind == "webchat" else phone,
            period=MIN_PERIOD + period_ms / 1000,
        ),
        base_jitter=jitter / 1000,
        messages=2 * exchanges,
        attention=attention,
        paused=paused,
    )


def _flags(
    seed: int, slot: int, exchanges: int
) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """Three lives in four ask for a person (so a demo left open for ten minutes sees
    attention change); two thirds of those then see staff take over.

    The customer asks in exchange ``a`` (the flag turns on with that message); a staff
    member writes the reply of exchange ``b`` (the flag turns off with that answer);
    when the AI is paused, staff write every reply from ``b`` until the AI answers again.
    Every life ends with the AI's reply to a closing exchange, after all of this.
    """
    h = _digest(seed, "flags", slot)
    h, asks = divmod(h, 4)
    if not asks:
        return None, None
    # Early in the life, as customers who want a person say so soon.
    h, a = divmod(h, min(4, exchanges // 2))
    a += 1
    # Up to six exchanges of waiting, leaving room for a takeover of two or more.
    h, wait = divmod(h, min(6, exchanges - 3 - a))
    b = a + 1 + wait
    attention = (2 * a, 2 * b + 1)
    h, pauses = divmod(h, 3)
    if pauses == 0:
        return attention, None
    longest = min(8, exchanges - 1 - b)
    h, extra = divmod(h, max(1, longest - 1))
    back = b + min(longest, 2 + extra)
    return attention, (2 * b + 1, 2 * back + 1)
