"""What users did to the demo world: messages they sent and AIs they paused, kept for the run.

The world itself stays a pure function of seed and clock (`world.py`); this is an overlay
on top of it. A sent message sits right after the world message that was newest when it
was sent (its *anchor*); while a user has a conversation's AI paused, the world's
assistant replies created in that time are hidden. Everything before the first thing a
user did in a conversation is the world's, untouched, so pages of a long history stay
index arithmetic; only the part since then (bounded by the run) is built as a list.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from bimpe_tui.demo.envelope import ApiError
from bimpe_tui.demo.world import DemoMessage, DemoWorld

__all__ = ["MAX_MESSAGE_CHARS", "SENDABLE_ROLES", "SentMessage", "UserActions"]

MAX_MESSAGE_CHARS = 4096
"""The longest message the demo accepts (the real service's limit is not documented)."""
SENDABLE_ROLES = ("user", "assistant")
"""The roles the SDK lets a client send (`MessageRole`)."""
_PREVIEW_CHARS = 120
# The idempotency records kept: a retry comes within seconds, so the oldest can go.
_MAX_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message a user sent, placed right after world message ``anchor``."""

    message: DemoMessage
    anchor: int
    seq: int


# A place in a conversation's visible timeline: a world message index, or a sent message.
Item = int | SentMessage


@dataclass(slots=True)
class _Touched:
    sent: list[SentMessage] = field(default_factory=list)
    # [start, end) in epoch ms of each time a user had the AI paused; end None: still paused.
    pauses: list[tuple[int, int | None]] = field(default_factory=list)
    paused: bool | None = None
    answered: bool = False


class UserActions:
    """The overlay of user actions on a :class:`DemoWorld` (see the module's docstring)."""

    def __init__(self, world: DemoWorld) -> None:
        self._world = world
        self._convs: dict[str, _Touched] = {}
        self._keys: dict[str, tuple[str, str, SentMessage]] = {}

    def touched(self, conversation_id: str) -> bool:
        """True once a user sent to or paused this conversation."""
        return conversation_id in self._convs

    def _now_ms(self) -> int:
        return math.floor(self._world.clock() * 1000)

    # --- acting ------------------------------------------------------------------------

    def send(
        self, conversation_id: str, agent_id: str, text: str, role: str, key: str | None
    ) -> SentMessage:
        """Store a message, or return the one stored under the same Idempotency-Key.

        The same key with another body is the API's 409: the client reused a key.
        """
        body = json.dumps([conversation_id, text, role])
        if key:
            stored = self._keys.get(key)
            if stored is not None:
                if stored[0] != conversation_id or stored[1] != body:
                    raise ApiError(
                        409, "conflict", "Idempotency-Key was already used with another request"
                    )
                return stored[2]
        touched = self._convs.setdefault(conversation_id, _Touched())
        now_ms = self._now_ms()
        seq = len(touched.sent)
        anchor = self._world.latest_index(conversation_id, now_ms / 1000)
        # "ms_" never parses as a world id ("m_"), so the two kinds cannot be confused.
        suffix = conversation_id.removeprefix("c_")
        message = DemoMessage(
            id=f"ms_{suffix}_{seq}",
            conversation_id=conversation_id,
            agent_id=agent_id,
            index=anchor,
            role=role,
            message=text,
            message_type="text",
            created_at=now_ms / 1000,
            attachments=(),
        )
        sent = SentMessage(message, anchor, seq)
        touched.sent.append(sent)
        if role == "assistant":
            # A person answered: the flag that asked for one is settled.
            touched.answered = True
        if key:
            if len(self._keys) >= _MAX_KEYS:
                del self._keys[next(iter(self._keys))]
            self._keys[key] = (conversation_id, body, sent)
        return sent

    def set_paused(self, conversation_id: str, paused: bool) -> None:
        """Pause or resume the conversation's AI from now on."""
        touched = self._convs.setdefault(conversation_id, _Touched())
        now_ms = self._now_ms()
        open_pause = bool(touched.pauses) and touched.pauses[-1][1] is None
        if paused and not open_pause:
            touched.pauses.append((now_ms, None))
        elif not paused and open_pause:
            start, _ = touched.pauses[-1]
            touched.pauses[-1] = (start, now_ms)
        touched.paused = paused

    # --- reading -----------------------------------------------------------------------

    def hidden(self, conversation_id: str, index: int) -> bool:
        """True for a world assistant reply created while a user had the AI paused."""
        touched = self._convs.get(conversation_id)
        if touched is None or not touched.pauses:
            return False
        created = round(self._world.time_of(conversation_id, index) * 1000)
        for start, end in touched.pauses:
            if start <= created and (end is None or created < end):
                return self._world.message(conversation_id, index).role == "assistant"
        return False

    def _first_affected(self, touched: _Touched, conversation_id: str) -> int:
        """The first world index from which the visible timeline may differ."""
        firsts: list[int] = [s.anchor + 1 for s in touched.sent[:1]]
        if touched.pauses:
            start = touched.pauses[0][0]
            firsts.append(self._world.latest_index(conversation_id, (start - 1) / 1000) + 1)
        return max(0, min(firsts)) if firsts else 0

    def tail(self, conversation_id: str, latest: int) -> tuple[int, list[Item]]:
        """``(k0, items)``: world messages ``0..k0-1`` as they are, then ``items`` in order."""
        touched = self._convs[conversation_id]
        k0 = min(self._first_affected(touched, conversation_id), latest + 1)
        sent = touched.sent
        items: list[Item] = []
        position = 0
        for index in range(k0, latest + 1):
            while position < len(sent) and sent[position].anchor < index:
                items.append(sent[position])
                position += 1
            if not self.hidden(conversation_id, index):
                items.append(index)
        items.extend(sent[position:])
        return k0, items

    def sent_due(self, conversation_id: str, next_sent: int, next_index: int) -> list[SentMessage]:
        """Sent messages from ``next_sent`` on that follow world messages before ``next_index``."""
        touched = self._convs.get(conversation_id)
        if touched is None:
            return []
        due: list[SentMessage] = []
        for sent in touched.sent[next_sent:]:
            if sent.anchor >= next_index:
                break
            due.append(sent)
        return due

    def next_anchor(self, conversation_id: str, next_sent: int) -> int | None:
        """The anchor of sent message ``next_sent``, if it exists yet."""
        touched = self._convs.get(conversation_id)
        if touched is None or next_sent >= len(touched.sent):
            return None
        return touched.sent[next_sent].anchor

    def sent_texts(self, conversation_id: str) -> list[str]:
        """The texts users sent to the conversation, in order (the server's record)."""
        touched = self._convs.get(conversation_id)
        return [] if touched is None else [sent.message.message for sent in touched.sent]

    def sent_count(self, conversation_id: str) -> int:
        """How many messages users sent to the conversation."""
        touched = self._convs.get(conversation_id)
        return 0 if touched is None else len(touched.sent)

    def resume_point(self, conversation_id: str, after: str) -> tuple[int, int] | None:
        """``(next world index, next sent seq)`` after sent message id ``after``, or None."""
        touched = self._convs.get(conversation_id)
        if touched is None:
            return None
        for sent in touched.sent:
            if sent.message.id == after:
                return sent.anchor + 1, sent.seq + 1
        return None

    def first_sent_at_or_after(self, conversation_id: str, index: int) -> int:
        """The seq of the first sent message anchored at or after world ``index``."""
        touched = self._convs.get(conversation_id)
        if touched is None:
            return 0
        for sent in touched.sent:
            if sent.anchor >= index:
                return sent.seq
        return len(touched.sent)

    def first_sent_after_ms(self, conversation_id: str, after_ms: int) -> int:
        """The seq of the first sent message created strictly after ``after_ms``."""
        touched = self._convs.get(conversation_id)
        if touched is None:
            return 0
        for sent in touched.sent:
            if round(sent.message.created_at * 1000) > after_ms:
                return sent.seq
        return len(touched.sent)

    def find_message(self, conversation_id: str, message_id: str) -> dict[str, object] | None:
        """The REST ``Message`` shape of one message of the conversation, or None."""
        touched = self._convs.get(conversation_id)
        if touched is not None:
            for sent in touched.sent:
                if sent.message.id == message_id:
                    return sent.message.to_api()
        world = self._world
        parsed = world.parse_message_id(message_id)
        if parsed is None or parsed[0] != conversation_id:
            return None
        index = parsed[1]
        if index > world.latest_index(conversation_id) or self.hidden(conversation_id, index):
            return None
        return world.message(conversation_id, index).to_api()

    def api_message(self, conversation_id: str, item: Item) -> dict[str, object]:
        """The REST ``Message`` shape of a timeline item."""
        if isinstance(item, SentMessage):
            return item.message.to_api()
        return self._world.message(conversation_id, item).to_api()

    def decorate(self, shape: dict[str, object]) -> dict[str, object]:
        """A conversation shape with what users did: AI flag, attention, newest message."""
        conversation_id = str(shape["id"])
        touched = self._convs.get(conversation_id)
        if touched is None:
            return shape
        out = dict(shape)
        if touched.paused is not None:
            out["is_ai_chat_paused"] = touched.paused
        if touched.answered:
            out["needs_attention"] = False
        k0, items = self.tail(conversation_id, self._world.latest_index(conversation_id))
        # Everything since k0 hidden (the AI paused, nothing sent yet): the newest
        # visible message is the world's last one before it.
        newest: Item | None = items[-1] if items else (k0 - 1 if k0 > 0 else None)
        if newest is not None:
            last = (
                newest.message
                if isinstance(newest, SentMessage)
                else self._world.message(conversation_id, newest)
            )
            out["last_message_at"] = last.created_at_iso
            out["updated_at"] = last.created_at_iso
            out["last_message_preview"] = last.message[:_PREVIEW_CHARS]
        return out
