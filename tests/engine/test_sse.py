"""The SSE parser against the W3C event-stream rules, byte by byte."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bimpe_tui.api.sse import SSEEvent, SSEParser


def parse(*chunks: bytes, parser: SSEParser | None = None) -> list[SSEEvent]:
    p = parser or SSEParser()
    out: list[SSEEvent] = []
    for chunk in chunks:
        out.extend(p.feed(chunk))
    return out


def test_a_message_frame() -> None:
    events = parse(b'id: m_1\nevent: message\ndata: {"id":"m_1"}\n\n')
    assert events == [SSEEvent("message", b'{"id":"m_1"}', "m_1", None)]


def test_default_event_type_is_message() -> None:
    assert parse(b"data: x\n\n")[0].event == "message"


def test_lf_crlf_and_lone_cr_give_the_same_events() -> None:
    frame = "id: 1{e}event: heartbeat{e}data: a{e}data: b{e}{e}"
    results = [parse(frame.format(e=e).encode()) for e in ("\n", "\r\n", "\r")]
    assert results[0] == results[1] == results[2]
    assert results[0] == [SSEEvent("heartbeat", b"a\nb", "1", None)]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    # CR ends one chunk and its LF starts the next: one line end, not two.
    events = parse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert events == [SSEEvent("message", b"a\nb", None, None)]


def test_lone_cr_at_chunk_end_then_more_text() -> None:
    assert parse(b"data: a\r", b"\r") == [SSEEvent("message", b"a", None, None)]


def test_leading_bom_is_ignored_once() -> None:
    assert parse(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent("message", b"x", None, None)]
    # Split over chunks, byte by byte.
    assert parse(b"\xef", b"\xbb", b"\xbf", b"data: y\n\n")[0].data == "y"
    # A second BOM is not stripped: the field name "\ufeffdata" is unknown.
    assert parse(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n") == []


def test_a_short_first_chunk_that_is_not_a_bom() -> None:
    assert parse(b"d", b"ata: z\n\n")[0].data == "z"


def test_multibyte_character_split_across_chunks() -> None:
    raw = "data: héllo 👋 世界\n\n".encode()
    for cut in range(len(raw)):
        assert parse(raw[:cut], raw[cut:])[0].data == "héllo 👋 世界"


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert parse(b"data: a\xffb\n\n")[0].data == "a\ufffdb"


def test_comments_are_ignored() -> None:
    assert parse(b": keep-alive\n\n: another\ndata: x\n\n") == [
        SSEEvent("message", b"x", None, None)
    ]


def test_several_data_lines_join_with_newlines() -> None:
    assert parse(b"data: a\ndata:\ndata: c\n\n")[0].data == "a\n\nc"


def test_only_one_leading_space_is_stripped() -> None:
    assert parse(b"data:  two\n\n")[0].data == " two"
    assert parse(b"data:none\n\n")[0].data == "none"


def test_a_field_name_without_colon_has_an_empty_value() -> None:
    assert parse(b"data\n\n") == [SSEEvent("message", b"", None, None)]


def test_retry_sets_reconnection_time_only_for_digits() -> None:
    parser = SSEParser()
    parse(b"retry: 2500\n\n", parser=parser)
    assert parser.retry == 2500
    parse(b"retry: 1.5\nretry: x\nretry: \xd9\xa3\n\n", parser=parser)
    assert parser.retry == 2500


def test_id_without_data_dispatches_nothing_but_is_kept() -> None:
    parser = SSEParser()
    assert parse(b"id: 7\n\n", parser=parser) == []
    assert parser.last_event_id == "7"
    # The last event ID buffer survives: the next event carries it.
    assert parse(b"data: x\n\n", parser=parser)[0].id == "7"


def test_id_containing_nul_is_ignored() -> None:
    parser = SSEParser()
    assert parse(b"id: 1\n\nid: a\x00b\ndata: x\n\n", parser=parser)[0].id == "1"


def test_event_without_final_blank_line_is_not_dispatched() -> None:
    # A frame cut off by a dropped connection must never come out.
    assert parse(b'id: 1\nevent: message\ndata: {"id":"1"}\n') == []
    assert parse(b'data: {"id":"1", "mess') == []


def test_unknown_fields_are_ignored() -> None:
    assert parse(b"foo: bar\ndata: x\n\n") == [SSEEvent("message", b"x", None, None)]


def test_empty_chunks_are_harmless() -> None:
    assert parse(b"", b"data: x", b"", b"\n", b"", b"\n") == [SSEEvent("message", b"x", None, None)]


def test_oversized_data_is_skipped_and_flagged() -> None:
    parser = SSEParser(max_event_bytes=100)
    events = parse(b"id: big\ndata: " + b"x" * 200 + b"\n\ndata: ok\n\n", parser=parser)
    assert events == [
        SSEEvent("message", b"", "big", None, True),
        SSEEvent("message", b"ok", "big", None),
    ]


def test_endless_line_keeps_memory_bounded() -> None:
    parser = SSEParser(max_event_bytes=1000)
    parse(b"data: ", parser=parser)
    for _ in range(1000):
        assert parser.feed(b"y" * 512) == []
        assert len(parser._buffer) <= 1000
    events = parse(b"\n\ndata: after\n\n", parser=parser)
    assert [e.oversized for e in events] == [True, False]
    assert events[1].data == "after"


# -- properties over arbitrary chunkings and line endings -----------------

_line_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]),
    max_size=20,
)
_frames = st.lists(
    st.tuples(
        st.sampled_from(["message", "heartbeat", "other"]),
        st.lists(_line_text, min_size=1, max_size=3),
        st.one_of(st.none(), st.text(alphabet="abc123_", min_size=1, max_size=6)),
    ),
    max_size=8,
)


def _serialise(frames: list[tuple[str, list[str], str | None]], eol: str) -> bytes:
    out = []
    for event, lines, ident in frames:
        if ident is not None:
            out.append(f"id: {ident}{eol}")
        out.append(f"event: {event}{eol}")
        out.extend(f"data: {line}{eol}" for line in lines)
        out.append(eol)
    return "".join(out).encode()


def _expected(frames: list[tuple[str, list[str], str | None]]) -> list[SSEEvent]:
    last_id = None
    events = []
    for event, lines, ident in frames:
        if ident is not None:
            last_id = ident
        events.append(SSEEvent(event, "\n".join(lines).encode(), last_id, None))
    return events


@settings(max_examples=300, deadline=None)
@given(
    frames=_frames,
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
    bom=st.booleans(),
)
def test_any_chunking_gives_the_events_of_the_whole(
    frames: list[tuple[str, list[str], str | None]], eol: str, cuts: list[int], bom: bool
) -> None:
    raw = (b"\xef\xbb\xbf" if bom else b"") + _serialise(frames, eol)
    points = sorted({min(c, len(raw)) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert parse(*chunks) == _expected(frames)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_arbitrary_bytes_never_crash_and_chunking_does_not_matter(
    raw: bytes, cuts: list[int]
) -> None:
    points = sorted({min(c, len(raw)) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert parse(*chunks) == parse(raw)


def test_an_empty_chunk_after_a_trailing_cr_keeps_the_crlf_whole() -> None:
    # CR then (an empty chunk) then LF is one line end, as without the empty chunk.
    whole = parse(b"data:a\r", b"\ndata:b\n\n")
    assert whole == [SSEEvent("message", b"a\nb", None, None)]
    assert parse(b"data:a\r", b"", b"\ndata:b\n\n") == whole


#: Lines of random streams: the fields that matter (data, id, event, retry,
#: comments, blank lines, a BOM or part of one, NUL, a two-byte character),
#: each with its line end. A CRLF is two pieces, so a boundary can fall
#: between its CR and its LF.
_lines = st.lists(
    st.tuples(
        st.sampled_from(
            [
                *(b"data:a", b"data", b"data: b", b"", b"", b"id:1", b"id:\x00", b"event:x"),
                *(b": ka", b"retry:7", b"\xef\xbb\xbf", b"\xef", b"\xc3\xa9", b"x"),
            ]
        ),
        st.sampled_from([(b"\n",), (b"\r",), (b"\r", b"\n")]),
    ),
    max_size=30,
)
#: How a piece meets the one before it: in the same chunk, in a new one, or in
#: a new one after an empty chunk.
_boundaries = st.lists(st.sampled_from(["same", "new", "empty"]), min_size=100, max_size=100)


@settings(max_examples=1000, deadline=None)
@given(lines=_lines, boundaries=_boundaries, cuts=st.lists(st.integers(0, 300), max_size=3))
def test_any_split_with_empty_chunks_gives_the_events_of_the_whole(
    lines: list[tuple[bytes, tuple[bytes, ...]]], boundaries: list[str], cuts: list[int]
) -> None:
    # An empty read is a chunk boundary like any other and must change
    # nothing. A few cuts at any byte split fields and characters too.
    pieces = [piece for field, end in lines for piece in (field, *end)]
    raw = b"".join(pieces)
    bounds, empty_at, at = {0, len(raw)}, set(), 0
    for piece, how in zip(pieces, boundaries, strict=False):
        if how != "same":
            bounds.add(at)
        if how == "empty":
            empty_at.add(at)
        at += len(piece)
    bounds.update(min(c, len(raw)) for c in cuts)
    ordered = sorted(bounds)
    chunks = []
    for a, b in itertools.pairwise(ordered):
        if a in empty_at:
            chunks.append(b"")
        chunks.append(raw[a:b])
    whole = SSEParser()
    split = SSEParser()
    assert parse(*chunks, parser=split) == parse(raw, parser=whole)
    assert (split.last_event_id, split.retry, split.comments) == (
        whole.last_event_id,
        whole.retry,
        whole.comments,
    )
