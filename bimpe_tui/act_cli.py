"""`bimpe-tui send` and `bimpe-tui ai pause|resume`: act on one conversation from a script."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from . import event_loop
from .api.client import ConsoleClient, new_idempotency_key
from .api.errors import BimpeError, PermissionDeniedError
from .safe_text import json_line

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: One call on the client; returns the JSON object to print and whether it did what was asked.
Act = Callable[[ConsoleClient], Awaitable[tuple[dict[str, object], bool]]]


def read_text(message: str | None, stdin: TextIO) -> str:
    """The text to send: `-m`, else stdin without the newline `echo` adds."""
    if message is not None:
        return message
    return stdin.read().removesuffix("\n")


def _run(command: str, api_key: str, base_url: str, act: Act, out: TextIO, err: TextIO) -> int:
    """Run one action; its answer as one JSON line, or why it failed on stderr."""

    async def go() -> int:
        async with ConsoleClient(api_key, base_url) as client:
            try:
                answer, done = await act(client)
            except BimpeError as error:
                # Errors are made printable and stripped of anything key-shaped (errors.py).
                if isinstance(error, PermissionDeniedError) and error.code == "insufficient_scope":
                    print(f"bimpe-tui {command}: this key can only read ({error})", file=err)
                else:
                    print(f"bimpe-tui {command}: {error}", file=err)
                return EXIT_FAILED
        out.write(json_line(answer) + "\n")
        out.flush()
        return EXIT_OK if done else EXIT_FAILED

    return event_loop.run(go())


def run_send(
    *,
    api_key: str,
    base_url: str,
    agent_id: str,
    conversation_id: str,
    text: str,
    role: str,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Send one message; print the created message as one JSON line."""
    if not text.strip():
        print("bimpe-tui send: nothing to send (give -m TEXT or pipe the text in)", file=err)
        return EXIT_USAGE

    async def send(client: ConsoleClient) -> tuple[dict[str, object], bool]:
        # One key for the call and all its retries: a retried send never doubles.
        sent = await client.send_message(
            agent_id, conversation_id, text, role=role, idempotency_key=new_idempotency_key()
        )
        return dict(sent.raw), True

    return _run("send", api_key, base_url, send, out, err)


def run_ai(
    *,
    api_key: str,
    base_url: str,
    agent_id: str,
    conversation_id: str,
    pause: bool,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Pause or resume the AI; print the server's answer as one JSON line."""

    async def set_status(client: ConsoleClient) -> tuple[dict[str, object], bool]:
        paused = await client.set_ai_status(agent_id, conversation_id, pause)
        if paused is not pause:
            print("bimpe-tui ai: the server did not change the AI's state", file=err)
        return {"is_ai_chat_paused": paused}, paused is pause

    return _run("ai", api_key, base_url, set_status, out, err)
