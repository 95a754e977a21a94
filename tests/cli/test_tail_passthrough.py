"""`bimpe-tui tail` passes each frame's data through, escaping only what a terminal acts on,
and flushes once per batch of frames that arrived together."""

from __future__ import annotations

import asyncio
import fcntl
import gc
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.models import Message, ModelError, decode_message, decode_message_head
from bimpe_tui.api.stream import ResumableStream
from bimpe_tui.safe_text import UNSAFE
from bimpe_tui.tail import json_line, json_line_bytes, tail
from tests.loopback import API_KEY, LoopbackServer, Reply, frame
from tests.processes import tail_to_pipe
from tests.shell.test_hostile_text import run_tail

#: fcntl's F_GETPIPE_SZ (Linux).
F_GETPIPE_SZ = 1032

#: Raw UTF-8 in the frame: letters of several scripts, an emoji, then a C1
#: control, a right-to-left override and a bidi isolate (valid JSON, all of them).
HOSTILE = '{"id":"m_1","role":"customer","message":"Olá 你好 مرحبا 😍 \u0085 \u202e \u2067x"}'


def data(payload: str) -> bytes:
    return b"event: message\ndata: " + payload.encode() + b"\n\n"


async def test_the_payload_passes_through_as_utf8_with_only_the_unsafe_escaped(
    scripted: LoopbackServer, tmp_path: Path
) -> None:
    code, out, err = await run_tail(scripted, tmp_path, data(HOSTILE))
    assert code == 0, err
    line = out.decode("utf-8").splitlines()[0]
    # Letters and emoji as sent, not as \u escapes ...
    assert "Olá 你好 مرحبا 😍" in line
    # ... what a terminal would act on, escaped ...
    for unsafe in ("\u0085", "\u202e", "\u2067"):
        assert unsafe not in line
    assert "\\u0085" in line
    assert "\\u202e" in line
    # ... and the JSON is what the server sent.
    assert json.loads(line) == json.loads(HOSTILE)


async def test_a_payload_over_several_data_lines_is_one_line(
    scripted: LoopbackServer, tmp_path: Path
) -> None:
    split = (
        b'event: message\ndata: {"id":"m_1",\ndata:  "role":"customer",\ndata: "message":"hi"}\n\n'
    )
    code, out, err = await run_tail(scripted, tmp_path, split)
    assert code == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"id": "m_1", "role": "customer", "message": "hi"}


class Recorder(io.StringIO):
    """stdout for `tail` in-process: counts flushes and the lines each one made visible."""

    def __init__(self) -> None:
        super().__init__()
        self.visible: list[int] = []
        self.changed = asyncio.Event()

    def flush(self) -> None:
        super().flush()
        self.visible.append(self.getvalue().count("\n"))
        self.changed.set()


async def test_a_batch_is_flushed_once_and_at_once(scripted: LoopbackServer) -> None:
    # 40 frames written in one piece, then the server goes quiet with the
    # connection open: tail must show all 40 while it waits, in few flushes.
    batch = b"".join(frame(f"m_{n}") for n in range(40))
    scripted.add_streams([Reply(chunks=[batch], then="hang")])
    out, err = Recorder(), io.StringIO()
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        stream = ResumableStream(api, "ag_1", "c_1", base_delay=0.01)
        async with stream:
            task = asyncio.create_task(tail(stream, out, err))
            async with asyncio.timeout(15):
                while not out.visible or out.visible[-1] < 40:
                    out.changed.clear()
                    await out.changed.wait()
            task.cancel()
            with_cancel = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(with_cancel[0], asyncio.CancelledError)
    ids = [json.loads(line)["id"] for line in out.getvalue().splitlines()]
    assert ids == [f"m_{n}" for n in range(40)]
    # One read usually brings the whole batch; a split read may add a flush or two,
    # never one per message.
    assert len(out.visible) <= 3, out.visible


# -- long and hostile messages at speed (issue 22, item 8) ---------------------------


def _mix(index: int) -> str:
    """A payload of the bench's long-and-hostile mix (bench/mix_server.py), in miniature."""
    texts = [
        f"short {index}",
        "Thanks for waiting. " * 150,
        "Ẹ kú àárọ̀! 你好 — café ✓ 🍲 " * 60,
        "\x1b[31m \u202eevil\u202c \x7f \x85 \x9b2J \u2066i\u2069 \t\r\n\r\n end",
    ]
    data = {"id": f"m_{index}", "role": "customer", "message": texts[index % 4]}
    return json.dumps(data, ensure_ascii=False)


async def test_long_and_hostile_messages_pass_through_a_widened_pipe(
    scripted: LoopbackServer, tmp_path: Path
) -> None:
    # Every line is the JSON that was sent, with nothing a terminal acts on
    # raw, on one line each, written through a pipe tail widened to 1 MiB
    # (a 64 KiB pipe stalls tail every twenty 3 KB lines).
    payloads = [_mix(i) for i in range(400)]
    frames = [data(p) if i % 8 != 3 else _two_lines(p) for i, p in enumerate(payloads)]
    scripted.add_streams([Reply(chunks=[b"".join(frames)], then="hang")])
    proc, reader, transport = await tail_to_pipe(
        tmp_path, scripted.base_url, API_KEY, stderr=asyncio.subprocess.DEVNULL, limit=1 << 20
    )
    try:
        async with asyncio.timeout(30):
            lines = [await reader.readline() for _ in range(len(payloads))]
        widened = fcntl.fcntl(transport.get_extra_info("pipe").fileno(), F_GETPIPE_SZ)
    finally:
        proc.terminate()
        await proc.wait()
        transport.close()
    assert widened == 1 << 20
    for line, payload in zip(lines, payloads, strict=True):
        assert line.endswith(b"\n")
        assert b"\n" not in line[:-1]
        text = line.decode("utf-8")
        assert not UNSAFE.search(text[:-1])
        assert json.loads(text) == json.loads(payload)


def _two_lines(payload: str) -> bytes:
    head, tail = payload.split(', "role"', 1)
    return f'event: message\ndata: {head},\ndata:  "role"{tail}\n\n'.encode()


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"])
    | st.sampled_from(list("\x7f\x85\u202e\u2066\u200f\u2028\ufeff\r\n")),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, extra=_TEXT, eol=st.sampled_from(["\n", "\r\n", "\n\r\n", "\r"]))
def test_the_byte_line_is_the_text_line_and_escapes_as_before(
    text: str, extra: str, eol: str
) -> None:
    # The bytes written to a pipe are the text line's UTF-8, and the one-pass
    # escaping equals the two passes it replaced (line breaks, then escapes).
    # As if spread over several data lines: a line break after each comma between
    # members (not in the texts, which may hold ", " themselves).
    payload = json.dumps(
        {"id": "m_1", "message": text, "x": extra},
        ensure_ascii=False,
        separators=(f",{eol} ", ": "),
    )
    message = decode_message(payload.encode())
    # Every character safe_text calls unsafe is escaped (the separators and the BOM
    # too, since the policy became one); C0 controls are already escaped by json.dumps.
    reference = UNSAFE.sub(
        lambda m: f"\\u{ord(m.group()):04x}",
        re.sub("[\r\n]+", " ", payload),
    )
    assert json_line(message) == reference + "\n"
    assert json_line_bytes(message) + b"\n" == json_line(message).encode()
    head = decode_message_head(payload.encode())
    assert (head.id, head.created_at, head.payload) == ("m_1", "", payload.encode())
    assert json_line_bytes(head) == json_line_bytes(message)


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=60))
def test_the_head_decoder_accepts_and_refuses_as_the_full_one(raw: str) -> None:
    outcomes = []
    for decoder in (decode_message, decode_message_head):
        try:
            outcomes.append(decoder(raw.encode()).id)
        except (ValueError, ModelError, RecursionError) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    "payload",
    ['{"id": "m_1", "created_at": 5}', '{"id": "m_1", "message": "\\ud800"}', '{"id": ""}', "[1]"],
)
def test_the_head_decoder_on_what_the_fast_path_refuses(payload: str) -> None:
    outcomes = []
    for decoder in (decode_message, decode_message_head):
        try:
            outcomes.append(decoder(payload.encode()).id)
        except (ValueError, ModelError) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]


def test_a_history_message_with_a_lone_surrogate_is_still_a_utf8_line() -> None:
    # A message filled from the history has no frame: its JSON is made again,
    # and a lone surrogate (valid as a JSON escape) cannot be UTF-8: escaped.
    message = Message.from_api(json.loads('{"id": "m_1", "message": "a\\ud800 é"}'))
    line = json_line_bytes(message).decode("utf-8")
    assert json.loads(line) == {"id": "m_1", "message": "a\ud800 é"}


async def test_a_payload_that_is_not_utf8_goes_out_as_utf8(
    scripted: LoopbackServer, tmp_path: Path
) -> None:
    # tail decodes only a frame's id and time; the text it passes on is checked
    # here: each bad sequence becomes U+FFFD, as the stream's decoder reads it.
    bad = b'{"id":"m_1","role":"customer","message":"caf\xc3 \xff ok \xed\xa0\x80 \xc3\xa9"}'
    # The same with a character to escape: the other way through.
    hostile = bad.replace(b"m_1", b"m_2").replace(b" ok", b" \xe2\x80\xae")
    frames = [b"event: message\ndata: " + raw + b"\n\n" for raw in (bad, hostile)]
    code, out, err = await run_tail(scripted, tmp_path, *frames)
    assert code == 0, err
    lines = out.decode("utf-8").splitlines()  # strict: fails on any bad byte
    assert [json.loads(line) for line in lines] == [
        json.loads(raw.decode("utf-8", "replace")) for raw in (bad, hostile)
    ]
    assert "\u202e" not in lines[1]


def test_a_payload_that_needs_nothing_goes_out_as_the_bytes_that_came() -> None:
    # Neither decoded nor encoded again on its way (docs/performance.md, issue 22).
    for text in ("plain ASCII", "Olá 你好 😍 — fine"):
        payload = json.dumps({"id": "m_1", "message": text}, ensure_ascii=False).encode()
        message = decode_message_head(payload)
        assert json_line_bytes(message) is message.payload


def test_messages_are_not_tracked_by_the_garbage_collector() -> None:
    # A Message holds strings, tuples and a decoded mapping, never itself: untracked,
    # a replay does not start a collection every few hundred messages.
    payload = b'{"id":"m_1","message":"hi","attachments":[{"url":"u"}]}'
    for message in (decode_message(payload), decode_message_head(payload)):
        assert not gc.is_tracked(message)
