"""Helpers to drive a ResumableStream in tests: collect events until a condition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bimpe_tui.api.models import Message
from bimpe_tui.api.stream import ResumableStream, StreamEvent, StreamStatus


async def collect(
    stream: ResumableStream,
    until: Callable[[list[StreamEvent]], bool] = lambda _: False,
    *,
    limit: float = 20.0,
) -> list[StreamEvent]:
    """Events until `until(events)` holds or a final status comes; then close the stream."""
    events: list[StreamEvent] = []
    try:
        async with asyncio.timeout(limit):
            async for event in stream:
                events.append(event)
                if isinstance(event, StreamStatus) and event.is_final:
                    break
                if until(events):
                    break
    finally:
        await stream.aclose()
    return events


def messages(events: list[StreamEvent]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def statuses(events: list[StreamEvent]) -> list[StreamStatus]:
    return [e for e in events if isinstance(e, StreamStatus)]


def states(events: list[StreamEvent]) -> list[str]:
    return [e.state for e in statuses(events)]


def count_messages(n: int) -> Callable[[list[StreamEvent]], bool]:
    return lambda events: len(messages(events)) >= n
