"""`bimpe-tui tail` passes each frame's data through, escaping only what a terminal acts on,
and flushes once per batch of frames that arrived together."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.stream import ResumableStream
from bimpe_tui.tail import tail
from tests.loopback import API_KEY, LoopbackServer, Reply, frame
from tests.test_hostile_text import run_tail

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
