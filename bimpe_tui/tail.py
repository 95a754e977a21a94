"""`bimpe-tui tail`: one conversation to stdout as JSON lines, status to stderr."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from typing import TextIO

from . import event_loop
from .api.client import ConsoleClient
from .api.models import Message
from .api.stream import ResumableStream

EXIT_OK = 0
EXIT_GAVE_UP = 1


#: What must not reach a terminal raw from a JSON line: DEL and the C1
#: controls (valid unescaped in JSON strings, and a terminal acts on them) and
#: the bidi marks, embeddings, overrides and isolates (they reorder what
#: follows). C0 controls cannot be raw in valid JSON: the frame was refused.
_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: A payload spread over several `data:` lines is joined with newlines, which
#: valid JSON only has between tokens (as whitespace).
_LINE_BREAKS = re.compile("[\r\n]+")
#: Either of the above: one search finds whether a payload needs any change.
_NEEDS_WORK = re.compile(_UNSAFE.pattern[:-1] + "\r\n]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_line(message: Message) -> str:
    """A message as one line of JSON: the frame's data as received, where safe.

    The payload passes through (UTF-8, not re-encoded, so a replay costs no
    json.dumps per message); only what a terminal would act on is escaped,
    which leaves the JSON equal to what was sent.
    """
    payload = message.payload
    if payload is None:  # not from a stream frame
        payload = json.dumps(dict(message.raw), ensure_ascii=False)
    if payload.isascii():
        # The common case, checked without a regex: in ASCII only DEL and
        # line breaks need anything done.
        if "\x7f" not in payload and "\n" not in payload and "\r" not in payload:
            return payload + "\n"
    elif _NEEDS_WORK.search(payload) is None:
        return payload + "\n"
    return _UNSAFE.sub(_escape, _LINE_BREAKS.sub(" ", payload)) + "\n"


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

    pending: list[str] = []

    def flush() -> None:
        nonlocal flush_due, broken
        if not flush_due:
            return
        flush_due = False
        try:
            # One write of the whole batch: one encode, and a batch bigger
            # than the stream's buffer goes to the pipe in one syscall.
            out.write("".join(pending))
            pending.clear()
            out.flush()
        except BrokenPipeError as exc:
            # The reader went away: end as a write would have (see run_tail).
            broken = exc
            if task is not None:
                task.cancel()

    try:
        async for event in stream:
            if isinstance(event, Message):
                pending.append(json_line(event))
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
            out.write("".join(pending))
            out.flush()


async def _main(
    *,
    api_key: str,
    base_url: str,
    agent_id: str,
    conversation_id: str,
    after: str | None,
    reconnect: bool,
    max_retries: int,
    read_timeout: float,
) -> int:
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
    async with ConsoleClient(api_key, base_url) as client:
        stream = ResumableStream(
            client,
            agent_id,
            conversation_id,
            after=after,
            reconnect=reconnect,
            max_retries=max_retries,
            read_timeout=read_timeout,
        )
        try:
            async with stream:
                return await tail(stream, sys.stdout, sys.stderr)
        except asyncio.CancelledError:
            if not stopped:
                raise
            return EXIT_OK


def run_tail(
    *,
    api_key: str,
    base_url: str,
    agent_id: str,
    conversation_id: str,
    after: str | None,
    reconnect: bool,
    max_retries: int,
    read_timeout: float,
) -> int:
    """Run `tail` until the stream ends, a signal arrives or stdout closes."""
    try:
        return event_loop.run(
            _main(
                api_key=api_key,
                base_url=base_url,
                agent_id=agent_id,
                conversation_id=conversation_id,
                after=after,
                reconnect=reconnect,
                max_retries=max_retries,
                read_timeout=read_timeout,
            )
        )
    except BrokenPipeError:
        # The reader went away (`| head`): a normal end. Point stdout at
        # /dev/null so the interpreter's final flush does not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
