"""Models built from untrusted JSON, and errors built from any error answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bimpe_tui.api.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    GoneError,
    InternalServerError,
    NotImplementedByServerError,
    RateLimitError,
    ValidationError,
    error_from_response,
    parse_retry_after,
)
from bimpe_tui.api.models import (
    Agent,
    Attachment,
    Conversation,
    ConversationDetail,
    Message,
    ModelError,
    PageMeta,
    StreamTicket,
    decode_message,
)
from bimpe_tui.api.retry import backoff_window, is_retryable, sdk_backoff
from bimpe_tui.redact import redact


def test_message_keeps_unknown_fields_and_roles() -> None:
    raw = {
        "id": "m_1",
        "role": "supervisor",
        "created_at": "2026-11-23T10:00:00Z",
        "message": "hi",
        "message_type": "sticker",
        "mood": "happy",
        "attachments": [{"type": "image", "url": "https://x/y.png"}, {"bad": 1}, "junk"],
    }
    message = Message.from_api(raw)
    assert message.role == "supervisor"
    assert message.message_type == "sticker"
    assert message.raw["mood"] == "happy"
    assert [a.url for a in message.attachments] == ["https://x/y.png"]


@pytest.mark.parametrize(
    "raw",
    [{}, {"id": 5}, {"id": None}, [], "m_1", None, 3],
)
def test_message_without_a_string_id_is_a_model_error(raw: object) -> None:
    with pytest.raises(ModelError):
        Message.from_api(raw)


def test_wrong_types_in_optional_fields_are_dropped() -> None:
    message = Message.from_api({"id": "m", "role": 3, "message": ["x"], "created_at": 1})
    assert (message.role, message.message, message.created_at) == ("unknown", None, "")


def test_conversation_and_detail() -> None:
    raw = {
        "id": "c_1",
        "channel_type": "carrier_pigeon",
        "is_test_channel": True,
        "is_ai_chat_paused": "yes",
        "needs_attention": True,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "channel_user_id": "u_9",
        "full_name": "Ada",
        "new_field": {"x": 1},
    }
    conversation = Conversation.from_api(raw)
    assert conversation.channel_type == "carrier_pigeon"
    assert conversation.is_ai_chat_paused is False
    assert conversation.who == "u_9"
    assert conversation.extra == {"new_field": {"x": 1}}
    assert ConversationDetail.from_api(raw).full_name == "Ada"


def test_agent_unknown_status_is_kept() -> None:
    agent = Agent.from_api({"id": "ag", "name": "A", "status": "hibernating", "x": 1})
    assert agent.status == "hibernating"
    assert agent.extra == {"x": 1}


def test_ticket_and_meta() -> None:
    assert StreamTicket.from_api({"ticket": "tk", "expires_in": 60}).expires_in == 60
    with pytest.raises(ModelError):
        StreamTicket.from_api({"expires_in": 60})
    assert PageMeta.from_api("nope") is None
    meta = PageMeta.from_api({"total_count": 3, "has_next_page": True, "limit": True})
    assert meta is not None
    assert (meta.total_count, meta.has_next_page, meta.limit) == (3, True, 0)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(["id", "role", "message", "attachments", "created_at", "x"]),
                children,
                max_size=6,
            )
        ),
        max_leaves=20,
    )
)
def test_any_json_is_a_message_or_a_model_error(raw: object) -> None:
    try:
        message = Message.from_api(raw)
    except ModelError:
        return
    assert isinstance(message.id, str)


# -- errors -----------------------------------------------------------------


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_validation_error_lists_fields() -> None:
    error = error_from_response(
        400,
        body(message=["limit: must be at most 100", "page: bad"], code="validation_error"),
        {"x-request-id": "req_1"},
    )
    assert isinstance(error, ValidationError)
    assert error.field_errors == [("limit", "must be at most 100"), ("page", "bad")]
    assert error.request_id == "req_1"
    assert "limit: must be at most 100; page: bad" in str(error)


def test_rate_limit_error_carries_headers() -> None:
    error = error_from_response(
        429,
        body(message="slow down", code="rate_limited"),
        {
            "retry-after": "3",
            "x-ratelimit-limit": "100",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "1763892000",
        },
    )
    assert isinstance(error, RateLimitError)
    assert (error.retry_after, error.limit, error.remaining, error.reset_at) == (
        3.0,
        100,
        0,
        1763892000,
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (409, ConflictError),
        (410, GoneError),
        (501, NotImplementedByServerError),
        (502, InternalServerError),
        (418, APIError),
    ],
)
def test_status_mapping(status: int, cls: type[APIError]) -> None:
    error = error_from_response(status, b"", {})
    assert type(error) is cls
    assert error.status == status


def test_html_error_page_becomes_a_short_message() -> None:
    error = error_from_response(502, b"<html>" + b"x" * 5000 + b"</html>", {})
    assert isinstance(error, InternalServerError)
    assert len(error.message) <= 200


@pytest.mark.parametrize(
    ("raw", "expected"), [("2", 2.0), ("0.5", 0.5), ("-1", None), ("soon", None), ("nan", None)]
)
def test_retry_after_parsing(raw: str, expected: float | None) -> None:
    assert parse_retry_after(raw) == expected


def test_retry_policy_matches_the_sdk() -> None:
    def err(status: int) -> APIError:
        return error_from_response(status, b"", {})

    assert [is_retryable(err(s)) for s in (408, 429, 500, 503, 501, 409, 400, 404)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_backoffs_stay_in_their_windows() -> None:
    import random

    rng = random.Random(1)
    for attempt in range(10):
        cap = min(8.0, 0.5 * 2**attempt)
        assert backoff_window(attempt) == cap
        assert cap * 0.5 <= sdk_backoff(attempt, rng) < cap


def test_redaction_masks_keys_tickets_and_bearer_values() -> None:
    text = (
        "GET /stream?ticket=tk_abc&after=m_1 "
        "Authorization: Bearer sk_live_123456789 sk_other_abcdef"
    )
    cleaned = redact(text, "sk_live_123456789")
    assert "tk_abc" not in cleaned
    assert "sk_live_123456789" not in cleaned
    assert "sk_other_abcdef" not in cleaned
    assert "after=m_1" in cleaned


_TEXT = st.text(max_size=30)
_FIELD = st.one_of(st.none(), _TEXT, st.integers(), st.booleans(), st.lists(_TEXT, max_size=2))
_ATTACHMENT = st.one_of(
    st.fixed_dictionaries({"url": _TEXT}, optional={"type": st.one_of(_TEXT, st.integers())}),
    _TEXT,
    st.none(),
)


@given(
    st.fixed_dictionaries(
        {"id": st.one_of(_TEXT, st.integers())},
        optional={
            "role": _FIELD,
            "created_at": _FIELD,
            "message": _FIELD,
            "message_type": _FIELD,
            "conversation_id": _FIELD,
            "attachments": st.one_of(st.lists(_ATTACHMENT, max_size=3), _FIELD),
            "extra": _FIELD,
        },
    )
)
def test_the_fast_decoder_agrees_with_the_tolerant_one(obj: dict[str, Any]) -> None:
    # Whatever a frame holds, msgspec's fast path and `from_api` give the same
    # Message, or both refuse it.
    payload = json.dumps(obj).encode()
    try:
        expected = Message.from_api(json.loads(payload), payload)
    except ModelError:
        with pytest.raises(ModelError):
            decode_message(payload)
        return
    got = decode_message(payload)
    assert got == expected
    assert got.payload == payload


def test_a_well_formed_frame_takes_the_fast_path() -> None:
    payload = json.dumps(
        {"id": "m_1", "role": "customer", "message": "hi", "attachments": [{"url": "u"}]}
    ).encode()
    message = decode_message(payload)
    # Only the tolerant path keeps a decoded mapping; the fast one keeps the text.
    assert message.raw == {}
    assert message.attachments == (Attachment("file", "u"),)
    assert message.payload == payload
