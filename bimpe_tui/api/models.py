"""Plain frozen models of the Console API, built from decoded JSON.

Unknown fields are kept in `extra`, unknown enum values (roles, channel
types, statuses) stay plain strings, and a missing or mistyped required
field raises `ModelError`, never a bare KeyError or TypeError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class ModelError(ValueError):
    """A payload does not have the shape of the model it should be."""


def _obj(raw: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ModelError(f"{what}: expected an object, got {type(raw).__name__}")
    return raw


def _text(value: str) -> str:
    """`value`, with any lone surrogate spelled out as `\\udXXX`.

    JSON's `\\ud800` escapes decode to lone surrogates, which no encoder
    accepts: one in an id would break the URL that resumes after it, the
    state file and every line printed. Spelled out, the text stays distinct
    and visible.
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A high surrogate followed by a low one is one character, as JSON's
        # decoder reads "\ud800\udc00": join such pairs first, so a message
        # reads the same whether it came as JSON text or as decoded values.
        joined = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        return joined.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _req_str(raw: Mapping[str, Any], key: str, what: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        problem = "missing" if value is None else f"not a string ({type(value).__name__})"
        raise ModelError(f"{what}.{key}: {problem}")
    if not value:
        # An empty id or ticket would make an empty path segment or query
        # value, and every empty id would be a duplicate of the first.
        raise ModelError(f"{what}.{key}: empty")
    return _text(value)


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    # A wrong type in an optional field is dropped, not fatal: the field is
    # optional, so the rest of the object is still worth showing.
    return _text(value) if isinstance(value, str) else None


def _bool(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key)
    return value if isinstance(value, bool) else False


def _extra(raw: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    return {k: v for k, v in raw.items() if k not in known}


@dataclass(frozen=True, slots=True)
class PageMeta:
    """Pagination facts of a list answer."""

    total_count: int
    page_count: int
    current_page: int
    limit: int
    has_next_page: bool
    has_previous_page: bool

    @classmethod
    def from_api(cls, raw: Any) -> PageMeta | None:
        """Parse `meta`; anything unusable means "no pagination info"."""
        if not isinstance(raw, Mapping):
            return None

        def num(key: str) -> int:
            value = raw.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        return cls(
            total_count=num("total_count"),
            page_count=num("page_count"),
            current_page=num("current_page"),
            limit=num("limit"),
            has_next_page=_bool(raw, "has_next_page"),
            has_previous_page=_bool(raw, "has_previous_page"),
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items and its pagination meta (if any)."""

    items: list[T]
    meta: PageMeta | None

    @property
    def has_next_page(self) -> bool:
        """Whether the server says a further page exists."""
        return self.meta is not None and self.meta.has_next_page


_AGENT_KEYS = frozenset(
    {"id", "name", "description", "created_at", "updated_at", "status", "language", "timezone"}
)


@dataclass(frozen=True, slots=True)
class Agent:
    """An AI agent of the account."""

    id: str
    name: str
    description: str
    created_at: str
    updated_at: str
    status: str | None = None
    language: str | None = None
    timezone: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, raw: Any) -> Agent:
        """Build from the API's JSON object."""
        obj = _obj(raw, "agent")
        return cls(
            id=_req_str(obj, "id", "agent"),
            name=_opt_str(obj, "name") or "",
            description=_opt_str(obj, "description") or "",
            created_at=_opt_str(obj, "created_at") or "",
            updated_at=_opt_str(obj, "updated_at") or "",
            status=_opt_str(obj, "status"),
            language=_opt_str(obj, "language"),
            timezone=_opt_str(obj, "timezone"),
            extra=_extra(obj, _AGENT_KEYS),
        )


_CONVERSATION_KEYS = frozenset(
    {
        "id",
        "channel_type",
        "is_test_channel",
        "is_ai_chat_paused",
        "needs_attention",
        "created_at",
        "updated_at",
        "channel_id",
        "channel_user_id",
        "channel_user_username",
        "last_message_at",
        "last_seen",
        "last_message_preview",
        "full_name",
        "email",
        "phone_number",
        "profile_picture",
    }
)


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation of an agent with one end user, as lists return it."""

    id: str
    channel_type: str
    is_test_channel: bool = False
    is_ai_chat_paused: bool = False
    needs_attention: bool = False
    created_at: str = ""
    updated_at: str = ""
    channel_id: str | None = None
    channel_user_id: str | None = None
    channel_user_username: str | None = None
    last_message_at: str | None = None
    last_seen: str | None = None
    last_message_preview: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, raw: Any) -> Conversation:
        """Build from the API's JSON object."""
        obj = _obj(raw, "conversation")
        return cls(**_conversation_fields(obj))

    @property
    def who(self) -> str:
        """The end user's name as a person would say it: username, else user id."""
        return self.channel_user_username or self.channel_user_id or self.id


def _conversation_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": _req_str(obj, "id", "conversation"),
        "channel_type": _opt_str(obj, "channel_type") or "unknown",
        "is_test_channel": _bool(obj, "is_test_channel"),
        "is_ai_chat_paused": _bool(obj, "is_ai_chat_paused"),
        "needs_attention": _bool(obj, "needs_attention"),
        "created_at": _opt_str(obj, "created_at") or "",
        "updated_at": _opt_str(obj, "updated_at") or "",
        "channel_id": _opt_str(obj, "channel_id"),
        "channel_user_id": _opt_str(obj, "channel_user_id"),
        "channel_user_username": _opt_str(obj, "channel_user_username"),
        "last_message_at": _opt_str(obj, "last_message_at"),
        "last_seen": _opt_str(obj, "last_seen"),
        "last_message_preview": _opt_str(obj, "last_message_preview"),
        "extra": _extra(obj, _CONVERSATION_KEYS),
    }


@dataclass(frozen=True, slots=True)
class ConversationDetail(Conversation):
    """One conversation with the end user's contact details."""

    full_name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    profile_picture: str | None = None

    @classmethod
    def from_api(cls, raw: Any) -> ConversationDetail:
        """Build from the API's JSON object."""
        obj = _obj(raw, "conversation")
        return cls(
            **_conversation_fields(obj),
            full_name=_opt_str(obj, "full_name"),
            email=_opt_str(obj, "email"),
            phone_number=_opt_str(obj, "phone_number"),
            profile_picture=_opt_str(obj, "profile_picture"),
        )


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to a message."""

    type: str
    url: str


class Message(msgspec.Struct, frozen=True, eq=False, gc=False):
    """A message of a conversation, from the history list or from the stream.

    `raw` is the object as decoded (empty from the fast path, `decode_message`);
    `payload`, for a streamed message, the frame's data as received, in UTF-8
    (what `bimpe-tui tail` passes through). Neither takes part in equality,
    hashing or repr: the same message from the history and from the stream is
    equal.

    A msgspec Struct rather than a frozen dataclass: one is made per message
    of a replay, and a frozen dataclass costs 1.4 us to make, a Struct 0.2 us
    (docs/performance.md). Untracked by the garbage collector (`gc=False`):
    it holds strings, tuples and a decoded mapping, never itself, so it can
    be in no cycle; tracked, a replay started a collection every few hundred
    messages (tail's CPU -15 %).
    """

    id: str
    role: str
    created_at: str
    message: str | None = None
    message_type: str | None = None
    conversation_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    raw: Mapping[str, Any] = msgspec.field(default_factory=dict)
    #: A stream frame's data as it came (what `tail` passes through); None from history.
    payload: bytes | None = None

    def _key(self) -> tuple[object, ...]:
        return (
            self.id,
            self.role,
            self.created_at,
            self.message,
            self.message_type,
            self.conversation_id,
            self.attachments,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Message(id={self.id!r}, role={self.role!r}, created_at={self.created_at!r}, "
            f"message={self.message!r}, message_type={self.message_type!r}, "
            f"conversation_id={self.conversation_id!r}, attachments={self.attachments!r})"
        )

    @classmethod
    def from_api(cls, raw: Any, payload: bytes | None = None) -> Message:
        """Build from a history item or a stream `message` frame's data (and its bytes)."""
        obj = _obj(raw, "message")
        return cls(
            id=_req_str(obj, "id", "message"),
            role=_opt_str(obj, "role") or "unknown",
            created_at=_opt_str(obj, "created_at") or "",
            message=_opt_str(obj, "message"),
            message_type=_opt_str(obj, "message_type"),
            conversation_id=_opt_str(obj, "conversation_id"),
            attachments=_attachments(obj.get("attachments")),
            raw=obj,
            payload=payload,
        )


# -- the fast path for stream frames ------------------------------------------------------


class _FastAttachment(msgspec.Struct):
    url: str
    type: str = "file"


class _FastMessage(msgspec.Struct):
    id: str
    role: str = ""
    created_at: str = ""
    message: str | None = None
    message_type: str | None = None
    conversation_id: str | None = None
    attachments: list[_FastAttachment] | None = None


_decode_fast = msgspec.json.Decoder(_FastMessage).decode


def decode_message(payload: bytes) -> Message:
    """A stream frame's data as a Message: msgspec first, `Message.from_api` for the rest.

    msgspec decodes a well-formed message straight into typed fields, about
    three times as fast as `json.loads` then `from_api` (docs/performance.md). What
    it refuses (a wrong type anywhere, NaN, a lone surrogate, which it does
    not decode, an empty id) goes the tolerant way, which keeps what it can
    and raises `ModelError` or `ValueError` for what it cannot. A fast-path
    message has no `raw` mapping: its `payload` is the whole of it.

    `payload` is UTF-8 as it came from the wire, not yet checked: msgspec
    refuses a field it decodes that is not UTF-8, and the tolerant way reads
    each bad sequence as U+FFFD, as an event stream's decoder must.
    """
    try:
        m = _decode_fast(payload)
    except msgspec.MsgspecError:
        m = None
    if m is None or not m.id:
        return Message.from_api(json.loads(payload.decode("utf-8", "replace")), payload)
    return Message(
        id=m.id,
        role=m.role or "unknown",
        created_at=m.created_at,
        message=m.message,
        message_type=m.message_type,
        conversation_id=m.conversation_id,
        attachments=tuple(Attachment(a.type, a.url) for a in m.attachments)
        if m.attachments
        else (),
        payload=payload,
    )


class _HeadMessage(msgspec.Struct, gc=False):
    id: str
    created_at: str = ""


_decode_head = msgspec.json.Decoder(_HeadMessage).decode


def decode_message_head(payload: bytes) -> Message:
    """A stream frame's data as a Message holding only what the engine needs.

    For a consumer that passes the payload through (`bimpe-tui tail`): the id
    and creation time are decoded, the rest stays in `payload`, and the text
    of a 3 KB message is never decoded (fields it skips are not checked for
    UTF-8: the consumer checks what it passes on). What this refuses goes to
    `decode_message`, so a frame is accepted or refused exactly as there.
    """
    try:
        head = _decode_head(payload)
    except msgspec.MsgspecError:
        head = None
    if head is None or not head.id:
        return decode_message(payload)
    return Message(id=head.id, role="unknown", created_at=head.created_at, payload=payload)


def _attachments(raw: Any) -> tuple[Attachment, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if isinstance(item, Mapping) and isinstance(item.get("url"), str):
            kind = item.get("type")
            out.append(
                Attachment(
                    type=_text(kind) if isinstance(kind, str) else "file",
                    url=_text(item["url"]),
                )
            )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class StreamTicket:
    """A single-use credential for one stream GET."""

    ticket: str
    expires_in: int

    @classmethod
    def from_api(cls, raw: Any) -> StreamTicket:
        """Build from the API's JSON object."""
        obj = _obj(raw, "stream ticket")
        expires = obj.get("expires_in")
        return cls(
            ticket=_req_str(obj, "ticket", "stream ticket"),
            expires_in=expires if isinstance(expires, int) and not isinstance(expires, bool) else 0,
        )
