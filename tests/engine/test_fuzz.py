"""Bounded fuzzing of the SSE parser, the message model, the renderer and the error mapper.

Hypothesis runs in every `make test` (a few hundred examples each); atheris, when it
is installed, runs a fixed number of libFuzzer iterations in a subprocess.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment

from bimpe_tui.api.errors import error_from_response
from bimpe_tui.api.models import Conversation, Message, ModelError
from bimpe_tui.api.sse import SSEEvent, SSEParser
from bimpe_tui.render import message_row, message_text, one_line
from tests.fuzzkit import modelled

UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
UNSAFE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: The model and renderer cost more per example.
FUZZ_RENDER = settings(FUZZ, max_examples=150)


def feed_all(parser: SSEParser, chunks: list[bytes]) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(raw)) for c in cuts})
    return [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]


def normalise(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


# Bytes that look like an event stream often enough to reach every branch.
_pieces = st.sampled_from(
    [
        b"data:",
        b"data: ",
        b"id: ",
        b"event: ",
        b"retry: ",
        b": comment",
        b"message",
        b"heartbeat",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b"\xef\xbb\xbf",
        b"\x00",
        b"\xff",
        b"{",
        b'"id":"m"',
        b"}",
        b"x" * 40,
    ]
)
stream_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(_pieces, st.binary(max_size=8)), max_size=40).map(b"".join),
)
cuts = st.lists(st.integers(0, 400), max_size=10)
caps = st.sampled_from([8, 32, 100, 4 * 1024 * 1024])


@FUZZ
@given(raw=stream_bytes, cap=caps)
def test_sse_fast_path_gives_the_events_of_the_line_by_line_path(raw: bytes, cap: int) -> None:
    # Fed whole, frames in the usual shape take the parser's fast path; fed
    # a byte at a time, no chunk ever holds a whole frame, so every line
    # goes the line-by-line way. Both must agree on every byte stream.
    one_byte = [raw[i : i + 1] for i in range(len(raw))]
    whole = feed_all(SSEParser(max_event_bytes=cap), [raw])
    assert whole == feed_all(SSEParser(max_event_bytes=cap), one_byte)


@FUZZ
@given(raw=stream_bytes, cuts=cuts, cap=caps)
def test_sse_any_bytes_any_chunking_same_events_bounded_memory(
    raw: bytes, cuts: list[int], cap: int
) -> None:
    parser = SSEParser(max_event_bytes=cap)
    events: list[SSEEvent] = []
    for chunk in split(raw, cuts):
        events.extend(parser.feed(chunk))
        # Between chunks the parser never holds more than its cap.
        assert len(parser._buffer) <= cap
        assert sum(len(part) for part in parser._data) <= cap
    assert events == feed_all(SSEParser(max_event_bytes=cap), [raw])
    for event in events:
        assert event.event
        assert not (event.oversized and event.data)
        if not event.oversized:
            assert len(event.data.encode("utf-8")) <= cap


@FUZZ
@given(raw=stream_bytes, more=stream_bytes, cap=caps)
def test_sse_no_event_without_its_blank_line(raw: bytes, more: bytes, cap: int) -> None:
    # Line ends normalised (CR and CRLF mean LF); the BOM rule is checked elsewhere.
    text = normalise(raw)
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    events = feed_all(SSEParser(max_event_bytes=cap), [text])
    # Everything after the last blank line is an unfinished event: it must not
    # have come out, so cutting it off changes nothing.
    end = text.rfind(b"\n\n")
    complete = text[: end + 2] if end != -1 else b""
    if text.startswith(b"\n"):
        complete = complete or b"\n"
    assert events == feed_all(SSEParser(max_event_bytes=cap), [complete])
    # And bytes that come later never take back what was dispatched.
    later = feed_all(SSEParser(max_event_bytes=cap), [text, normalise(more)])
    assert later[: len(events)] == events


@FUZZ
@given(raw=stream_bytes, cuts=cuts)
def test_sse_line_ending_style_does_not_matter(raw: bytes, cuts: list[int]) -> None:
    if b"\xef\xbb\xbf" in raw[:3]:
        return
    assert feed_all(SSEParser(), split(raw, cuts)) == feed_all(SSEParser(), [normalise(raw)])


@pytest.mark.parametrize(
    "line",
    [
        b"\x99" * 81,  # found by atheris: an unknown field with no colon
        b": " + b"c" * 80,  # a comment
        b"id: " + b"i" * 80,
        b"event: " + b"e" * 80,
        b"data: " + b"d" * 60,  # the value fits, the line does not
    ],
    ids=["no colon", "comment", "id", "event", "data"],
)
def test_sse_an_over_long_line_is_the_same_whole_or_in_pieces(line: bytes) -> None:
    raw = b"id: 1\n" + line + b"\r\rdata: next\n\n"
    whole = feed_all(SSEParser(max_event_bytes=64), [raw])
    for cut in range(1, len(raw)):
        assert feed_all(SSEParser(max_event_bytes=64), [raw[:cut], raw[cut:]]) == whole
    byte_by_byte = feed_all(SSEParser(max_event_bytes=64), [bytes([b]) for b in raw])
    assert byte_by_byte == whole
    # The frame over the cap is reported, and the next one comes through.
    assert [(e.oversized, e.data) for e in whole] == [(True, ""), (False, "next")]


# -- the message model and what is shown of it ------------------------------------------------

NASTY = [
    "\x1b[31m",
    "\x1b]0;t\x07",
    "\x1b]8;;http://evil\x1b\\",
    "\x9b6n",
    "\u202e",
    "\u2066",
    "\ud800",
    "\udfff",
    "[bold]",
    "[link=https://evil]",
    "\r\n",
    "\t",
    "\x00",
    "👨‍👩‍👧",
    "a\u0301",
    "שלום",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "",
]
any_char = st.characters(exclude_categories=())  # surrogates included
hostile_text = st.one_of(
    st.text(any_char, max_size=30),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(any_char, max_size=3)), max_size=8).map(
        "".join
    ),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), hostile_text
)
json_ish = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "id",
                        "role",
                        "message",
                        "message_type",
                        "created_at",
                        "attachments",
                        "type",
                        "url",
                    ]
                ),
                hostile_text,
            ),
            children,
            max_size=6,
        ),
    ),
    max_leaves=16,
)
message_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(hostile_text, scalars),
        "role": st.one_of(hostile_text, json_ish),
        "message": st.one_of(hostile_text, json_ish),
        "message_type": st.one_of(hostile_text, json_ish),
        "created_at": st.one_of(hostile_text, json_ish),
        "attachments": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"type": st.one_of(hostile_text, scalars), "url": hostile_text}
                ),
                max_size=3,
            ),
            json_ish,
        ),
    },
)


def assert_rendered_safe(message: Message, width: int) -> None:
    when, who, body = message_row(message)
    for cell in (when, who):
        assert not UNSAFE_IN_LINE.search(cell.plain), repr(cell.plain)
    assert not UNSAFE.search(body.plain), repr(body.plain)
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    for line in console.render_lines(message_text(message), console.options, pad=False):
        assert Segment.get_line_length(line) <= width
        for segment in line:
            assert not UNSAFE_IN_LINE.search(segment.text), repr(segment.text)


@FUZZ_RENDER
@given(raw=st.one_of(message_like, json_ish), width=st.sampled_from([12, 40, 100]))
def test_any_json_makes_a_safe_message_or_a_model_error(raw: object, width: int) -> None:
    # Every field can be encoded: in a URL, the state file, a terminal.
    message = modelled(raw)
    if message is None:
        return
    for attachment in message.attachments:
        (attachment.type + attachment.url).encode("utf-8")
    assert message.id
    assert_rendered_safe(message, width)


@FUZZ_RENDER
@given(raw=message_like)
def test_a_message_survives_the_wire_the_same(raw: dict[str, object]) -> None:
    # What a server sends is JSON text: through json.dumps/loads, then the model.
    try:
        wire = json.dumps(raw)
    except ValueError:
        return
    try:
        direct = Message.from_api(raw)
    except ModelError:
        with pytest.raises(ModelError):
            Message.from_api(json.loads(wire))
        return
    assert Message.from_api(json.loads(wire)) == direct


@FUZZ_RENDER
@given(raw=json_ish)
def test_any_json_makes_a_conversation_or_a_model_error_and_safe_previews(raw: object) -> None:
    try:
        conversation = Conversation.from_api(raw)
    except ModelError:
        return
    for text in (conversation.who, conversation.channel_type, conversation.last_message_preview):
        line = one_line(text or "", 30)
        assert len(line) <= 30
        assert not UNSAFE_IN_LINE.search(line)


# -- the error mapper ---------------------------------------------------------------------------

bodies = st.one_of(
    st.binary(max_size=300),
    json_ish.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass")),
    st.builds(
        lambda message, code: json.dumps({"message": message, "code": code}).encode(),
        st.one_of(hostile_text, st.lists(hostile_text, max_size=3), json_ish),
        st.one_of(hostile_text, json_ish),
    ),
)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


@FUZZ_RENDER
@given(
    status=st.integers(300, 599),
    body=bodies,
    headers=st.dictionaries(
        st.sampled_from(
            ["retry-after", "x-ratelimit-limit", "x-ratelimit-reset", "x-request-id", "x"]
        ),
        header_values,
    ),
)
def test_any_error_answer_maps_to_a_typed_error_with_a_safe_text(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    error = error_from_response(status, body, headers)
    assert error.status == status
    text = str(error)
    assert len(text) < 500
    assert not UNSAFE_IN_LINE.search(text), repr(text)


# -- atheris --------------------------------------------------------------------------------------

TARGET = Path(__file__).parent.parent / "hostile_fuzz_target.py"


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
async def test_atheris_finds_nothing_in_a_bounded_run(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(TARGET),
        "-runs=20000",
        "-max_len=2048",
        "-seed=7",
        f"-artifact_prefix={tmp_path}/",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    text = out.decode("utf-8", "replace")
    assert proc.returncode == 0, text[-3000:]
    assert "Done 20000 runs" in text
    assert not list(tmp_path.iterdir())  # no crash artifacts
