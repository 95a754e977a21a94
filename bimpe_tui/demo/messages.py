"""What the demo world's messages say: scripted exchanges filled in from the seed.

Message ``2k`` is the customer's half of exchange ``k`` and ``2k + 1`` the reply; which
exchange of the agent's bank, and the order numbers, times and names it mentions, are
drawn from the conversation's key. A newcomer's life adds its scripted moments: asking
for a person, a staff member taking over, a closing exchange.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bimpe_tui.demo.clock import iso_from_ms
from bimpe_tui.demo.conv import Conv, time_ms
from bimpe_tui.demo.ids import B36_PAIRS, b36
from bimpe_tui.demo.newcomers import Life
from bimpe_tui.demo.scripts import CLOSING, ESCALATION, EXCHANGES, TAKEOVER_REPLY, Exchange

__all__ = [
    "DemoMessage",
    "build_message",
    "exchange_of",
    "search_texts",
    "turn",
    "turn_of",
]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The role the SDK gives a business's human staff (the app shows it as "staff").
_STAFF_ROLE = "restaurant_user"


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
        return iso_from_ms(round(self.created_at * 1000))

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


def exchange_of(conv: Conv, exchange_no: int) -> tuple[Exchange, dict[str, str]]:
    """Exchange ``exchange_no`` of a conversation and the values filling its templates."""
    digest = hashlib.blake2b(conv.exchange_key + b"%d" % exchange_no, digest_size=16)
    h = int.from_bytes(digest.digest(), "big")
    bank = EXCHANGES[conv.kind]
    h, pick = divmod(h, len(bank))
    ref = h % 36**6
    values = {
        "order": str(10_000 + h % 90_000),
        "ref": (
            B36_PAIRS[ref // 1296**2] + B36_PAIRS[ref // 1296 % 1296] + B36_PAIRS[ref % 1296]
        ).upper(),
        "qty": str(2 + (h >> 20) % 4),
        "time": f"{(h >> 24) % 24:02d}:{((h >> 30) % 4) * 15:02d}",
        "day": _DAYS[(h >> 34) % 7],
        "name": conv.first_name,
    }
    return bank[pick], values


def turn(exchange: Exchange, part: int) -> tuple[str, str, str]:
    """(role, template, attachment kind) of one half of an exchange."""
    if part == 0:
        return "customer", exchange.customer, exchange.customer_attachment
    return exchange.reply_role, exchange.reply, exchange.reply_attachment


def _newcomer_turn(
    life: Life, exchange: Exchange, exchange_no: int, part: int
) -> tuple[str, str, str]:
    """Like :func:`turn`, with the scripted moments of a newcomer's life."""
    if exchange_no == life.exchanges - 1:
        exchange = CLOSING
    elif exchange_no == life.escalation_exchange:
        exchange = ESCALATION
    role, template, attachment = turn(exchange, part)
    if part == 1 and life.staff_replies(exchange_no):
        role = _STAFF_ROLE
        if exchange_no == life.takeover_exchange:
            template, attachment = TAKEOVER_REPLY, ""
    return role, template, attachment


def turn_of(conv: Conv, exchange: Exchange, exchange_no: int, part: int) -> tuple[str, str, str]:
    """(role, template, attachment kind) of one half of ``conv``'s exchange ``exchange_no``."""
    if conv.life is None:
        return turn(exchange, part)
    return _newcomer_turn(conv.life, exchange, exchange_no, part)


def build_message(conv: Conv, index: int) -> DemoMessage:
    """Message ``index`` (>= 0) of a conversation."""
    exchange_no, part = divmod(index, 2)
    exchange, values = exchange_of(conv, exchange_no)
    role, template, attachment = turn_of(conv, exchange, exchange_no, part)
    msg_id = f"m_{conv.suffix}_{b36(index)}"
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
        created_at=time_ms(conv, index) / 1000,
        attachments=attachments,
    )


def search_texts(conv: Conv, needle: str, latest: int) -> list[int]:
    """Indices ``0 <= i <= latest`` whose text contains ``needle`` (casefolded), oldest first.

    The text only, one exchange at a time: list messages searches a whole
    conversation, up to the long one's hundred thousand messages.
    """
    folded = needle.casefold()
    hits: list[int] = []
    for exchange_no in range((latest + 2) // 2):
        exchange, values = exchange_of(conv, exchange_no)
        for part in (0, 1):
            index = 2 * exchange_no + part
            if index > latest:
                break
            template = turn_of(conv, exchange, exchange_no, part)[1]
            if folded in template.format_map(values).casefold():
                hits.append(index)
    return hits
