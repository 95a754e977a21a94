"""Hostile stream frames, through a real ResumableStream against a scripted loopback server.

Every bad frame gets a `frame_skipped` status naming its cause, or is delivered
safely; either way the stream goes on and delivers the next good message.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bimpe_tui.api import reader as reader_module
from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.models import Message
from bimpe_tui.api.sse import DEFAULT_MAX_EVENT_BYTES, SSEParser
from bimpe_tui.api.stream import ResumableStream, StreamStatus
from tests.loopback import (
    API_KEY,
    FRAME_CREATED,
    LoopbackServer,
    Reply,
    frame,
    recursion_is_a_failure,
)
from tests.streamkit import collect, messages, statuses

MIB = 1024 * 1024
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def make_stream(api: ConsoleClient, **kw: Any) -> ResumableStream:
    kw.setdefault("base_delay", 0.01)
    return ResumableStream(api, "ag_1", "c_1", **kw)


def data_frame(payload: bytes, event: bytes = b"message") -> bytes:
    return b"event: " + event + b"\ndata: " + payload + b"\n\n"


def until_good(events: list[Any]) -> bool:
    return any(isinstance(e, Message) and e.id == "m_good" for e in events)


async def play(scripted: LoopbackServer, *chunks: bytes) -> list[Any]:
    """m_first, the chunks, then m_good, on one connection; events until m_good arrives."""
    scripted.add_streams([Reply(chunks=[frame("m_first"), *chunks, frame("m_good")], then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        return await collect(make_stream(api), until_good)


def skipped(events: list[Any]) -> list[StreamStatus]:
    return [s for s in statuses(events) if s.state == "frame_skipped"]


# -- frames that must be skipped, with a cause ---------------------------------

SKIPPED = {
    "malformed JSON": (b"{not json", "malformed"),
    "truncated JSON": (b'{"id": "m_x", "message": "hal', "malformed"),
    "JSON array": (b'[{"id": "m_x"}]', "expected an object, got list"),
    "JSON string": (b'"m_x"', "expected an object, got str"),
    "JSON number": (b"42", "expected an object, got int"),
    "JSON null": (b"null", "expected an object, got NoneType"),
    "JSON true": (b"true", "expected an object, got bool"),
    "missing id": (b'{"role": "customer", "message": "hi"}', "message.id: missing"),
    "id null": (b'{"id": null}', "message.id: missing"),
    "id a number": (b'{"id": 17, "message": "hi"}', "not a string (int)"),
    "id a float": (b'{"id": 1.5}', "not a string (float)"),
    "id a bool": (b'{"id": true}', "not a string (bool)"),
    "id a list": (b'{"id": ["m_1"]}', "not a string (list)"),
    "id an object": (b'{"id": {"$oid": "m_1"}}', "not a string (dict)"),
    "id empty": (b'{"id": ""}', "message.id: empty"),
    "raw NUL inside a JSON string": (b'{"id": "m_x", "message": "a\x00b"}', "malformed"),
    "raw ESC inside a JSON string": (b'{"id": "m_x", "message": "\x1b[31m"}', "malformed"),
    "number too long to parse": (b'{"id": "m_x", "message": ' + b"9" * 5000 + b"}", "malformed"),
}


async def test_a_huge_number_in_a_field_we_do_not_read_is_no_reason_to_skip(
    scripted: LoopbackServer,
) -> None:
    # Valid JSON; Python's json module refuses ints of over 4,300 digits, but
    # the fast decoder never reads an unknown field's value: the message shows.
    payload = b'{"id": "m_x", "role": "customer", "message": "hi", "n": ' + b"9" * 5000 + b"}"
    events = await play(scripted, data_frame(payload))
    assert [m.id for m in messages(events)] == ["m_first", "m_x", "m_good"]
    assert skipped(events) == []


@pytest.mark.parametrize(("payload", "cause"), SKIPPED.values(), ids=SKIPPED.keys())
async def test_a_bad_frame_is_skipped_with_its_cause_and_the_stream_goes_on(
    scripted: LoopbackServer, payload: bytes, cause: str
) -> None:
    events = await play(scripted, data_frame(payload))
    assert [m.id for m in messages(events)] == ["m_first", "m_good"]
    [status] = skipped(events)
    assert cause in (status.cause or "")
    assert status.describe().startswith("skipped a frame: ")
    assert not status.is_final


# -- frames that are delivered, safely -------------------------------------------


def delivered(events: list[Any]) -> Message:
    [message] = [m for m in messages(events) if m.id not in ("m_first", "m_good")]
    assert not skipped(events)
    return message


async def test_wrong_types_in_optional_fields_are_dropped_not_fatal(
    scripted: LoopbackServer,
) -> None:
    payload = json.dumps(
        {
            "id": "m_x",
            "role": ["customer"],
            "message": {"text": "hi"},
            "message_type": 7,
            "created_at": 1763892000,
            "conversation_id": None,
            "attachments": "https://evil/x.png",
        }
    ).encode()
    message = delivered(await play(scripted, data_frame(payload)))
    assert (message.role, message.message, message.message_type) == ("unknown", None, None)
    assert (message.created_at, message.conversation_id, message.attachments) == ("", None, ())
    # The frame exactly as received is kept for `tail`.
    assert message.raw["role"] == ["customer"]


async def test_attachments_of_the_wrong_shape_are_left_out(scripted: LoopbackServer) -> None:
    payload = json.dumps(
        {
            "id": "m_x",
            "attachments": [
                {"type": "image", "url": "https://x/a.png"},
                {"type": ["image"], "url": "https://x/b.png"},
                {"type": "image", "url": 5},
                {"url": None},
                "https://x/c.png",
                None,
            ],
        }
    ).encode()
    message = delivered(await play(scripted, data_frame(payload)))
    assert [(a.type, a.url) for a in message.attachments] == [
        ("image", "https://x/a.png"),
        ("file", "https://x/b.png"),
    ]


async def test_invalid_utf8_becomes_replacement_characters(scripted: LoopbackServer) -> None:
    payload = b'{"id": "m_x", "message": "caf\xc3 \xff\xfe \xed\xa0\x80 ok"}'
    message = delivered(await play(scripted, data_frame(payload)))
    assert message.message is not None
    assert message.message.endswith(" ok")
    assert "\ufffd" in message.message
    message.message.encode("utf-8")  # strict: no surrogate slipped through


async def test_invalid_utf8_in_the_event_name_and_id_lines_is_harmless(
    scripted: LoopbackServer,
) -> None:
    odd_event = b"id: \xff\xfe\nevent: mess\xffage\ndata: " + b'{"id": "m_odd"}' + b"\n\n"
    events = await play(scripted, odd_event)
    # An event type that is not `message` is not ours: ignored without a fuss.
    assert [m.id for m in messages(events)] == ["m_first", "m_good"]
    assert not skipped(events)


async def test_escaped_nul_and_controls_in_fields_are_delivered_as_data(
    scripted: LoopbackServer,
) -> None:
    payload = json.dumps(
        {"id": "m_\u0000x", "role": "cust\u0000omer", "message": "a\u0000b\u001b[2J\u009b"}
    ).encode()
    message = delivered(await play(scripted, data_frame(payload)))
    assert message.id == "m_\x00x"
    assert message.message == "a\x00b\x1b[2J\x9b"
    # Shown, they are symbols: see test_hostile_text for every place they appear.
    from bimpe_tui.render import message_text

    assert not _CONTROL.search(message_text(message).plain)


async def test_nul_in_the_sse_id_line_is_ignored_as_the_spec_says(
    scripted: LoopbackServer,
) -> None:
    chunk = b"id: m\x00x\nevent: message\ndata: " + b'{"id": "m_nul"}' + b"\n\n"
    events = await play(scripted, chunk)
    assert [m.id for m in messages(events)] == ["m_first", "m_nul", "m_good"]


async def test_lone_surrogates_in_json_cannot_poison_ids_or_text(
    scripted: LoopbackServer,
) -> None:
    payload = b'{"id": "m_\\ud800", "message": "x\\udfff y", "role": "\\udbff"}'
    message = delivered(await play(scripted, data_frame(payload)))
    # Spelled out: distinct from other ids, encodable in a URL, a file, a terminal.
    assert message.id == "m_\\ud800"
    assert message.message == "x\\udfff y"
    for text in (message.id, message.message, message.role):
        text.encode("utf-8")


async def test_two_ids_differing_only_in_surrogates_stay_distinct(
    scripted: LoopbackServer,
) -> None:
    first = data_frame(b'{"id": "m_\\ud800"}')
    second = data_frame(b'{"id": "m_\\ud801"}')
    events = await play(scripted, first, second)
    assert [m.id for m in messages(events)] == ["m_first", "m_\\ud800", "m_\\ud801", "m_good"]


async def test_the_resume_cursor_after_a_hostile_id_is_a_valid_url(
    scripted: LoopbackServer,
) -> None:
    hostile = data_frame(b'{"id": "m_\\ud800 &ticket=x#/../"}')
    scripted.add_streams(
        [
            Reply(chunks=[hostile], then="abort"),
            Reply(chunks=[frame("m_good")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), until_good)
    assert [m.id for m in messages(events)] == ["m_\\ud800 &ticket=x#/../", "m_good"]
    # The id went back as one query value: it did not add a parameter.
    second = scripted.stream_queries[1]
    assert second["after"] == "m_\\ud800 &ticket=x#/../"
    assert second["ticket"].startswith("tk_")


# -- size -------------------------------------------------------------------------


async def test_a_10_mb_frame_is_skipped_with_a_status_saying_so(scripted: LoopbackServer) -> None:
    big = b"id: m_big\nevent: message\ndata: " + b"x" * (10 * MIB) + b"\n\n"
    events = await play(scripted, big)
    assert [m.id for m in messages(events)] == ["m_first", "m_good"]
    [status] = skipped(events)
    assert "over the size limit" in (status.cause or "")
    assert "m_big" in status.describe()


async def test_many_data_lines_adding_up_past_the_cap_are_one_skipped_frame(
    scripted: LoopbackServer,
) -> None:
    line = b"data: " + b"y" * (MIB - 10) + b"\n"
    big = b"id: m_many\nevent: message\n" + line * 5 + b"\n"
    events = await play(scripted, big)
    assert [m.id for m in messages(events)] == ["m_first", "m_good"]
    assert len(skipped(events)) == 1


class _Measured(SSEParser):
    """An SSEParser that records the most it ever held between chunks."""

    peak = 0
    fed = 0

    def feed(self, chunk: bytes) -> list[Any]:
        events = super().feed(chunk)
        held = len(self._buffer) + sum(len(part) for part in self._data)
        _Measured.peak = max(_Measured.peak, held)
        _Measured.fed += len(chunk)
        return events


async def test_an_endless_line_keeps_memory_bounded_then_the_stream_goes_on(
    scripted: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "SSEParser", _Measured)
    _Measured.peak = _Measured.fed = 0
    piece = b"z" * (256 * 1024)
    endless = [b"event: message\ndata: "] + [piece] * 48  # 12 MiB and no line end
    events = await play(scripted, *endless, b"\n\n")
    assert _Measured.fed > 12 * MIB
    assert 0 < _Measured.peak <= DEFAULT_MAX_EVENT_BYTES
    assert [m.id for m in messages(events)] == ["m_first", "m_good"]
    [status] = skipped(events)
    assert "size limit" in (status.cause or "")


async def test_an_endless_line_on_a_connection_that_then_dies_delivers_nothing_of_it(
    scripted: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "SSEParser", _Measured)
    _Measured.peak = _Measured.fed = 0
    piece = b"w" * (256 * 1024)
    scripted.add_streams(
        [
            Reply(
                chunks=[frame("m_first"), b"event: message\ndata: ", *[piece] * 24], then="abort"
            ),
            Reply(chunks=[frame("m_good")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), until_good)
    assert [m.id for m in messages(events)] == ["m_first", "m_good"]
    assert _Measured.peak <= DEFAULT_MAX_EVENT_BYTES
    assert "reconnecting" in [s.state for s in statuses(events)]
    assert scripted.stream_queries[1]["after"] == "m_first"


# -- what the stream engine does not handle yet --------------------------------


async def test_deeply_nested_json_is_skipped_not_fatal(scripted: LoopbackServer) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # 200 KB: far under the size cap
    with recursion_is_a_failure():
        events = await play(scripted, data_frame(deep))
    assert [m.id for m in messages(events)] == ["m_first", "m_good"]
    assert len(skipped(events)) == 1


async def test_status_texts_never_carry_control_characters_from_the_server(
    scripted: LoopbackServer,
) -> None:
    evil_id = "m_\x1b]0;pwned\x07\x1b[2J\x9b"
    big = b"id: " + evil_id.encode() + b"\nevent: message\ndata: " + b"x" * (5 * MIB) + b"\n\n"
    # Its id is never sent back (control characters): the engine resumes from
    # its time, which the server refuses; the history, not there, cannot fill.
    hostile_msg = data_frame(json.dumps({"id": evil_id, "created_at": FRAME_CREATED}).encode())
    gone = json.dumps({"message": "after: gone", "code": "not_found"}).encode()
    scripted.add_streams(
        [
            Reply(chunks=[big, hostile_msg], then="abort"),
            Reply(status=410, headers={"Content-Type": "application/json"}, chunks=[gone]),
            Reply(chunks=[frame("m_good")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), until_good)
    texts = [s.describe() for s in statuses(events)]
    assert any("size limit" in t for t in texts)
    assert any(t.startswith("gap possible") for t in texts)
    for text in texts:
        assert not _CONTROL.search(text), text
