"""`bimpe-tui watch` as a real process against its embedded demo server: JSON lines
that parse, filters, exit 0 on SIGINT and SIGTERM, and a restart that resumes
after the last message printed (nothing twice, nothing missed)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from tests.processes import watch_demo

#: Upper bound on any wait; never a timing assertion.
WAIT = 60.0


async def run_watch(
    tmp_path: Path, *args: str, until: int, stop: signal.Signals
) -> list[dict[str, Any]]:
    """Run `watch --demo` until `until` message events were printed, then send `stop`;
    every line printed (each must parse)."""
    process = await watch_demo(tmp_path, *args)
    assert process.stdout is not None
    lines: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(WAIT):
            while sum(1 for line in lines if line["event"] == "message") < until:
                raw = await process.stdout.readline()
                assert raw, "watch ended early"
                lines.append(json.loads(raw))
    finally:
        process.send_signal(stop)
    rest, errors = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, errors.decode()
    assert b"Traceback" not in errors
    lines.extend(json.loads(raw) for raw in rest.splitlines())
    return lines


def index(message_id: str) -> int:
    """A demo message's place in its conversation (its id ends in it, base 36)."""
    return int(message_id.rsplit("_", 1)[1], 36)


async def test_watch_prints_events_and_resumes_without_repeats_or_holes(
    tmp_path: Path,
) -> None:
    first = await run_watch(tmp_path, until=150, stop=signal.SIGINT)
    for line in first:
        assert {"event", "time"} <= set(line)
        if line["event"] in ("message", "status", "attention"):
            assert line["agent_id"]
            assert line["conversation_id"]
    kinds = {line["event"] for line in first}
    assert {"message", "status"} <= kinds
    messages = [line for line in first if line["event"] == "message"]
    assert all(line["id"] and line["role"] for line in messages)
    # A restart: its own cursors in the state file, apart from the app's.
    state = (tmp_path / "state.toml").read_text()
    assert "#watch" in state
    second = await run_watch(tmp_path, until=150, stop=signal.SIGTERM)
    again = [line for line in second if line["event"] == "message"]
    printed = {line["id"] for line in messages}
    assert not printed & {line["id"] for line in again}, "a message printed twice"
    # Per conversation, the second run starts right after the first one's last
    # message: what came while it was not running is printed, none skipped.
    last: dict[str, int] = {}
    for line in messages:
        last[line["conversation_id"]] = index(line["id"])
    first_after: dict[str, int] = {}
    for line in again:
        first_after.setdefault(line["conversation_id"], index(line["id"]))
    both = set(last) & set(first_after)
    assert both
    for conversation in both:
        assert first_after[conversation] == last[conversation] + 1, conversation


async def test_watch_filters_by_event_and_agent(tmp_path: Path) -> None:
    everything = await run_watch(tmp_path, until=20, stop=signal.SIGINT)
    agent = next(line["agent_id"] for line in everything if line["event"] == "message")
    only = await run_watch(
        tmp_path / "second", "--event", "message", "--agent", agent, until=20, stop=signal.SIGINT
    )
    assert only
    assert {line["event"] for line in only} == {"message"}
    assert {line["agent_id"] for line in only} == {agent}
