"""An atheris (libFuzzer) target: the SSE parser, the message model and the renderer.

Run by tests/engine/test_fuzz.py for a fixed number of runs; by hand for longer:

    .venv/bin/python tests/hostile_fuzz_target.py -runs=1000000 -max_len=4096

Any exception other than a ModelError, or a broken invariant, is a finding.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import atheris  # type: ignore[import-untyped]

# Run as a script, Python puts this file's folder on the path, not the checkout that
# holds the `tests` package the shared checks are in.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["bimpe_tui"]):
    from bimpe_tui.api.sse import SSEParser
    from bimpe_tui.render import message_row
    from tests.fuzzkit import modelled

MAX_EVENT = 64
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def check_message(raw: object) -> None:
    message = modelled(raw)
    if message is None:
        return
    for cell in message_row(message):
        plain = cell.plain
        if UNSAFE.search(plain):
            raise AssertionError(f"unsafe character shown: {plain!r}")


def one_input(data: bytes) -> None:
    if not data:
        return
    cut = data[0] % (len(data) + 1)
    body = data[1:]
    parser = SSEParser(max_event_bytes=MAX_EVENT)
    events = parser.feed(body[:cut]) + parser.feed(body[cut:])
    if len(parser._buffer) > MAX_EVENT:
        raise AssertionError("the parser holds more than its cap")
    whole = SSEParser(max_event_bytes=MAX_EVENT).feed(body)
    if events != whole:
        raise AssertionError("chunking changed the events")
    for event in events:
        try:
            raw = json.loads(event.data)
        except (ValueError, RecursionError):
            continue
        check_message(raw)
    # The bytes as JSON too, so the model sees hostile objects directly.
    try:
        raw = json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return
    check_message(raw)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
