"""`bimpe-tui send` and `bimpe-tui ai pause|resume`: act on one conversation from a script."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from . import event_loop
from .api.client import ConsoleClient, new_idempotency_key
from .api.errors import BimpeError, PermissionDeniedError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def read_text(message: str | None, stdin: TextIO) -> str:
    """The text to send: `-m`, else stdin without the newline `echo` adds."""
    if message is not None:
        return message
    return stdin.read().removesuffix("\n")


def _say_failure(command: str, error: BimpeError, err: TextIO) -> None:
    # Errors are made printable and stripped of anything key-shaped (errors.py).
    if isinstance(error, PermissionDeniedError) and error.code == "insufficient_scope":
        print(f"bimpe-tui {command}: this key can only read ({error})", file=err)
    else:
        print(f"bimpe-tui {command}: {error}", file=err)


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

    async def go() -> int:
        async with ConsoleClient(api_key, base_url) as client:
            # One key for the call and all its retries: a retried send never doubles.
            key = new_idempotency_key()
            try:
                sent = await client.send_message(
                    agent_id, conversation_id, text, role=role, idempotency_key=key
                )
            except BimpeError as error:
                _say_failure("send", error, err)
                return EXIT_FAILED
        out.write(json.dumps(dict(sent.raw), ensure_ascii=False) + "\n")
        out.flush()
        return EXIT_OK

    return event_loop.run(go())


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

    async def go() -> int:
        async with ConsoleClient(api_key, base_url) as client:
            try:
                paused = await client.set_ai_status(agent_id, conversation_id, pause)
            except BimpeError as error:
                _say_failure("ai", error, err)
                return EXIT_FAILED
        out.write(json.dumps({"is_ai_chat_paused": paused}) + "\n")
        out.flush()
        if paused is not pause:
            print("bimpe-tui ai: the server did not change the AI's state", file=err)
            return EXIT_FAILED
        return EXIT_OK

    return event_loop.run(go())
