"""`bimpe-tui tail`: one conversation to stdout as JSON lines, status to stderr."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import stat
import sys
from typing import BinaryIO, TextIO, TypedDict, Unpack

from . import event_loop
from .api.client import ConsoleClient
from .api.models import Message, decode_message_head
from .api.stream import ResumableStream
from .safe_text import UNSAFE_RANGES, char_class, json_escape

EXIT_OK = 0
EXIT_GAVE_UP = 1


#: What must not reach a terminal raw from a JSON line is what `safe_text`
#: calls unsafe; each is written as its JSON escape, so the line parses to the
#: same value. In practice DEL, C1 controls, bidi characters, separators and
#: the BOM (valid unescaped in JSON strings): C0 controls cannot be raw in
#: valid JSON (the frame was refused) but as whitespace between tokens.
#: A payload spread over several `data:` lines is joined with newlines, which
#: valid JSON only has between tokens (as whitespace): a run becomes a space.
_LINE_BREAKS = re.compile("[\r\n]+")
#: Either of the above: one search finds whether a payload needs any change.
_NEEDS_WORK = re.compile(char_class(UNSAFE_RANGES, r"\n"))


#: One pass does both, with a single character class (which the regex engine
#: scans for fast, where an alternation is tried at every position): a run of
#: line breaks becomes a space, an unsafe character its escape.
_WORK = re.compile(_NEEDS_WORK.pattern + "+")
_ESCAPES = {
    chr(c): json_escape(chr(c))
    for first, last in UNSAFE_RANGES
    for c in range(first, last + 1)
    if chr(c) != "\r"
}


def _fix(match: re.Match[str]) -> str:
    run = match.group()
    if len(run) == 1:
        return _ESCAPES.get(run) or " "
    return _LINE_BREAKS.sub(" ", "".join([_ESCAPES.get(c, c) for c in run]))


def _history_payload(message: Message) -> str:
    """A message that did not come from a stream frame (the history filled it) as JSON.

    UTF-8 as sent, unless the server's JSON held a lone surrogate (`"\\ud800"`),
    which no UTF-8 output can carry: then everything non-ASCII is escaped.
    """
    text = json.dumps(dict(message.raw), ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(dict(message.raw))
    return text


def _safe_payload(message: Message) -> bytes:
    """The message's JSON on one line, in UTF-8, with only what a terminal acts on escaped.

    A frame's payload is passed on as the bytes that came, unless it needs an
    escape, or is not UTF-8 (then as the stream's decoder reads it: each bad
    sequence U+FFFD).
    """
    payload = message.payload
    if payload is None:
        text = _history_payload(message)
    elif payload.isascii():
        # The common case, checked without a regex or a decode: in ASCII only
        # DEL and line breaks need anything done. (A byte looked up as an int is
        # one memchr; as a bytes needle it costs five times as much.)
        if 0x7F not in payload and 0x0A not in payload and 0x0D not in payload:
            return payload
        text = payload.decode("ascii")
    else:
        try:
            text = payload.decode()
        except UnicodeDecodeError:
            text = payload.decode("utf-8", "replace")
        else:
            if _NEEDS_WORK.search(text) is None:
                return payload
            return _WORK.sub(_fix, text).encode()
    return safe_json(text).encode()


def safe_json(text: str) -> str:
    """JSON text on one line with what a terminal acts on escaped: its value unchanged."""
    if _NEEDS_WORK.search(text) is None:
        return text
    return _WORK.sub(_fix, text)


def json_line(message: Message) -> str:
    """A message as one line of JSON: the frame's data as received, where safe.

    The payload passes through (UTF-8, neither decoded nor re-encoded, so a
    replay costs no json.dumps per message); only what a terminal would act
    on is escaped, which leaves the JSON equal to what was sent.
    """
    return _safe_payload(message).decode() + "\n"


def json_line_bytes(message: Message) -> bytes:
    """`json_line` as the UTF-8 bytes that go to stdout, without the line break.

    A frame's bytes go out as they came when nothing needs escaping: a 3 KB
    message is neither decoded nor encoded on its way (docs/performance.md).
    """
    return _safe_payload(message)


async def tail(
    stream: ResumableStream,
    out: TextIO,
    err: TextIO,
) -> int:
    """Copy a stream's messages to `out` and its status changes to `err`.

    Messages are written and flushed once per batch: the frames a read
    brought are gathered without giving the loop a turn, and the write runs
    when the stream next waits for the network. A pipe sees each
    message as soon as it arrived; a replay is not one syscall per message.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    flush_due = False
    broken: BrokenPipeError | None = None

    # Bytes straight to stdout's buffer when there is one (see json_line_bytes);
    # text otherwise (a StringIO in tests).
    binary: BinaryIO | None = getattr(out, "buffer", None)
    pending: list[bytes] = []
    pending_text: list[str] = []

    def write_pending() -> None:
        if binary is not None:
            # One write of the whole batch: a batch bigger than the stream's
            # buffer goes to the pipe in one syscall.
            binary.write(b"".join(pending))
            pending.clear()
            binary.flush()
        else:
            out.write("".join(pending_text))
            pending_text.clear()
            out.flush()

    def flush() -> None:
        nonlocal flush_due, broken
        if not flush_due:
            return
        flush_due = False
        try:
            write_pending()
        except BrokenPipeError as exc:
            # The reader went away: end as a write would have (see run_tail).
            broken = exc
            if task is not None:
                task.cancel()

    try:
        async for event in stream:
            if isinstance(event, Message):
                if binary is not None:
                    pending.append(json_line_bytes(event))
                    pending.append(b"\n")
                else:
                    pending_text.append(json_line(event))
                if not flush_due:
                    flush_due = True
                    loop.call_soon(flush)
                continue
            flush()  # what came before a status is printed before it
            err.write(f"bimpe-tui: {event.describe()}\n")
            err.flush()
            if event.state == "gave_up":
                return EXIT_GAVE_UP
            if event.state == "closed":
                return EXIT_OK
        return EXIT_OK
    except asyncio.CancelledError:
        if broken is not None:
            raise broken from None
        raise
    finally:
        if flush_due and broken is None:
            # Raised from here, a closed pipe ends the run as run_tail expects.
            flush_due = False
            write_pending()


class TailOptions(TypedDict):
    """What `bimpe-tui tail` was asked for: the key, where, and how to hold the stream."""

    api_key: str
    base_url: str
    agent_id: str
    conversation_id: str
    after: str | None
    reconnect: bool
    max_retries: int
    read_timeout: float


async def _main(options: TailOptions) -> int:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        stopped = True
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    async with ConsoleClient(options["api_key"], options["base_url"]) as client:
        stream = ResumableStream(
            client,
            options["agent_id"],
            options["conversation_id"],
            after=options["after"],
            reconnect=options["reconnect"],
            max_retries=options["max_retries"],
            read_timeout=options["read_timeout"],
            # Only the payload is written: the text is not decoded on its own.
            decode=decode_message_head,
        )
        try:
            async with stream:
                return await tail(stream, sys.stdout, sys.stderr)
        except asyncio.CancelledError:
            if not stopped:
                raise
            return EXIT_OK


#: Linux's default pipe holds 64 KiB: a replay of 3 KB messages fills it every
#: twenty lines, and each time tail stops until the reader has caught up.
PIPE_BYTES = 1 << 20


def _widen_pipe(out: TextIO) -> None:
    """Give a pipe on stdout room for a batch (Linux; elsewhere, or refused, as it is)."""
    try:
        import fcntl  # not on Windows
    except ImportError:
        return
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is None:
        return
    try:
        fd = out.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, setsize, PIPE_BYTES)
    except (OSError, ValueError, io.UnsupportedOperation):
        # Not a real file (a test's StringIO), or over the system's limit
        # (/proc/sys/fs/pipe-max-size): the default pipe works, only slower.
        pass


def run_tail(**options: Unpack[TailOptions]) -> int:
    """Run `tail` until the stream ends, a signal arrives or stdout closes."""
    _widen_pipe(sys.stdout)
    try:
        return event_loop.run(_main(options))
    except BrokenPipeError:
        # The reader went away (`| head`): a normal end. Point stdout at
        # /dev/null so the interpreter's final flush does not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
