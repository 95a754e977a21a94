"""`bimpe-tui tail`: one conversation to stdout as JSON lines, status to stderr."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import TextIO

from .api.client import ConsoleClient
from .api.models import Message
from .api.stream import ResumableStream

EXIT_OK = 0
EXIT_GAVE_UP = 1


async def tail(
    stream: ResumableStream,
    out: TextIO,
    err: TextIO,
) -> int:
    """Copy a stream's messages to `out` and its status changes to `err`."""
    async for event in stream:
        if isinstance(event, Message):
            # ASCII-only JSON: control characters and lone surrogates in a
            # message become \u escapes instead of reaching the terminal.
            out.write(json.dumps(dict(event.raw)) + "\n")
            out.flush()
            continue
        err.write(f"bimpe-tui: {event.describe()}\n")
        err.flush()
        if event.state == "gave_up":
            return EXIT_GAVE_UP
        if event.state == "closed":
            return EXIT_OK
    return EXIT_OK


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
        return asyncio.run(
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
