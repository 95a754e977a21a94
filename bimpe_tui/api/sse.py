"""A W3C event-stream parser: a pure state machine over bytes, no I/O.

It works on bytes rather than decoded text because CR and LF never occur
inside a UTF-8 multi-byte sequence: lines can be split on bytes, and only
complete field values are decoded. That makes a character split across
chunks a non-issue and is about twice as fast as decoding chunk by chunk.
An event's data is not decoded here at all: its consumer decodes it (JSON
decoders read UTF-8 bytes directly) or passes it through as it came.
Each rule cites the section of the HTML standard's "Interpreting an event
stream" it implements.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_BOM = b"\xef\xbb\xbf"
#: A frame this large is not a chat message: it is skipped, and memory stays
#: bounded even if a server sends an endless line.
DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024


#: A frame in the shape servers send: an optional `id`, an optional `event`,
#: one `data` line. An `id` holding NUL is not in it (the spec ignores such
#: an id: the line-by-line path does that).
#: Only the head is matched: the data line runs to the end of the block and
#: is taken by slicing, checked for a line break by `in` (memchr), where a
#: regex would walk a 3 KB payload byte by byte.
_usual_head = re.compile(rb"(?:id: ?([^\n\x00]*)\n)?(?:event: ?([^\n]*)\n)?data: ?").match
_EVENT_NAMES = {b"message": "message", b"heartbeat": "heartbeat"}


class SSEEvent(NamedTuple):
    """One dispatched event.

    `raw` is the event's data as it arrived: UTF-8 bytes, not yet checked.
    A consumer that passes the data through (`bimpe-tui tail`) never decodes
    it; `data` is the text the spec defines (invalid sequences as U+FFFD).
    `oversized` is set (and the data empty) when the event's data went over
    the parser's limit and was thrown away.
    """

    event: str
    raw: bytes
    id: str | None
    retry: int | None
    oversized: bool = False

    @property
    def data(self) -> str:
        """The data as text: "decoded using the UTF-8 decode algorithm"."""
        return _decode(self.raw)


def _data_lines(text: bytes) -> bytes | None:
    """The data of `text`: a data line's value, then whole `data:` lines; None if
    any other line is among them (the line-by-line path then decides)."""
    lines = text.split(b"\n")
    values = [lines[0]]
    for line in lines[1:]:
        if line[:5] != b"data:":
            return None
        # "If value starts with a U+0020 SPACE character, remove it."
        values.append(line[6:] if line[5:6] == b" " else line[5:])
    # "Append the field value to the data buffer, then append a single U+000A
    # LINE FEED character": joined with LF, the last one removed.
    return b"\n".join(values)


def _decode(raw: bytes) -> str:
    # "Streams must be decoded using the UTF-8 decode algorithm": invalid
    # sequences become U+FFFD instead of failing the whole stream.
    return raw.decode("utf-8", "replace")


class SSEParser:
    """Feed it chunks of bytes; it returns the events completed by each chunk."""

    __slots__ = (
        "_buffer",
        "_data",
        "_data_size",
        "_discarding",
        "_event",
        "_last_id",
        "_max",
        "_oversized",
        "_retry",
        "_skip_lf",
        "_start",
        "_started",
        "comments",
    )

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._buffer = b""
        self._start = b""  # bytes held back until we know whether a BOM leads
        self._started = False
        self._skip_lf = False  # the previous chunk ended in CR: an LF next is its pair
        self._discarding = False  # inside an over-long line: drop until its end
        self._data: list[bytes] = []
        self._data_size = 0
        self._oversized = False
        self._event: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None
        #: Comment lines seen: servers send them as keep-alives, so they
        #: count as complete events for the stream's watchdog.
        self.comments = 0

    @property
    def last_event_id(self) -> str | None:
        """The last event ID buffer: it survives dispatches, as the spec says."""
        return self._last_id

    @property
    def retry(self) -> int | None:
        """The reconnection time the server asked for with `retry:`, in ms."""
        return self._retry

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume `chunk`; return the events it completed, in order."""
        if not chunk:
            # An empty read is no boundary: a CR held from the chunk before
            # must still meet the LF of the next one (else CRLF ends two lines).
            return []
        if not self._started:
            chunk = self._strip_bom(chunk)
            if not chunk:
                return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            # Lines end with CRLF, LF or a lone CR. A CR that ends the chunk
            # may be half of a CRLF split across chunks: remember it.
            if buffer[-1:] == b"\r":
                self._skip_lf = True
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[SSEEvent] = []
        # Whole frames, each ended by a blank line, and what follows the last one.
        blocks = buffer.split(b"\n\n")
        buffer = blocks.pop()
        if blocks:
            self._blocks(blocks, events)
        lines = buffer.split(b"\n")
        tail = lines.pop()
        for line in lines:
            self._line(line, events)
        limit = self._max
        if len(tail) > limit:
            self._discarding = True
            self._oversized = True
            tail = b""
        elif self._discarding:
            tail = b""
        self._buffer = tail
        return events

    def _blocks(self, blocks: list[bytes], events: list[SSEEvent]) -> None:
        """Events from `blocks`, whole frames (each was followed by a blank line).

        The fast path: a frame in the usual shape (`id`, `event`, `data`, one
        line each) is matched by one regular expression instead of being
        walked line by line. Anything else, and the first frame when an event
        is still open from the previous chunk, goes line by line; both ways
        give the same events (tests/engine/test_sse.py compares them).
        """
        limit = self._max
        append = events.append
        names = _EVENT_NAMES
        for block in blocks:
            match = (
                _usual_head(block)
                if len(block) <= limit
                and not (self._data or self._discarding or self._oversized)
                and self._event is None
                else None
            )
            data: bytes | None = block[match.end() :] if match is not None else None
            if data is not None and 0x0A in data:  # an int: one memchr
                # A payload spread over several data lines: joined here when
                # nothing but data lines follow.
                data = _data_lines(data)
            if data is None or match is None:
                # Not the usual shape (other fields, a comment...): line by line.
                for line in block.split(b"\n"):
                    self._line(line, events)
                self._line(b"", events)
                continue
            ident, kind = match.groups()
            if ident is not None:
                self._last_id = ident.decode("utf-8", "replace")
            event_type = "message" if not kind else names.get(kind) or _decode(kind)
            append(SSEEvent(event_type, data, self._last_id, self._retry))

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if self._discarding:
            # The rest of an over-long line ends here; drop it.
            self._discarding = False
        elif not line:
            event = self._dispatch()
            if event is not None:
                events.append(event)
        elif len(line) > self._max:
            # The same rule as for a line still arriving (in feed), so that
            # how the bytes were chunked never changes the events.
            self._oversized = True
            self._data = []
        else:
            self._field(line)

    def _strip_bom(self, chunk: bytes) -> bytes:
        # "One leading U+FEFF BYTE ORDER MARK character must be ignored if
        # any are present." It may arrive split over several chunks.
        held = self._start + chunk
        if len(held) < len(_BOM) and _BOM.startswith(held):
            self._start = held
            return b""
        self._started = True
        self._start = b""
        return held[len(_BOM) :] if held.startswith(_BOM) else held

    def _field(self, line: bytes) -> None:
        # "If the line starts with a U+003A COLON character: ignore the line."
        if line[0] == 0x3A:
            self.comments += 1
            return
        colon = line.find(b":")
        if colon == -1:
            # "...using the whole line as the field name, and the empty
            # string as the field value."
            name, value = line, b""
        else:
            name = line[:colon]
            value = line[colon + 1 :]
            # "If value starts with a U+0020 SPACE character, remove it."
            if value[:1] == b" ":
                value = value[1:]
        if name == b"data":
            self._data_size += len(value) + 1
            if self._data_size > self._max:
                self._oversized = True
                self._data = []
            elif not self._oversized:
                self._data.append(value)
        elif name == b"event":
            self._event = _decode(value)
        elif name == b"id":
            # "If the field value does not contain U+0000 NULL, then set the
            # last event ID buffer to the field value."
            if b"\x00" not in value:
                self._last_id = _decode(value)
        elif name == b"retry" and value.isdigit() and value.isascii():
            # "If the field value consists of only ASCII digits..."
            self._retry = int(value)
        # "Otherwise: the field is ignored."

    def _dispatch(self) -> SSEEvent | None:
        # "If the data buffer is an empty string, set the data buffer and the
        # event type buffer to the empty string and return."
        event_type = self._event or "message"
        self._event = None
        if self._oversized:
            self._oversized = False
            self._data = []
            self._data_size = 0
            return SSEEvent(event_type, b"", self._last_id, self._retry, True)
        if not self._data:
            return None
        data = self._data
        self._data = []
        self._data_size = 0
        # Joining with LF is the same as appending LF to each value and then
        # removing the final LF.
        raw = data[0] if len(data) == 1 else b"\n".join(data)
        return SSEEvent(event_type, raw, self._last_id, self._retry)
