"""History paging against the demo server: back to the first message, whatever arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.errors import APIConnectionError
from bimpe_tui.api.models import Message, Page
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.history import HistoryError, HistoryPager, iter_all_messages
from tests.apptools import FakeClock


@pytest.fixture
async def api(server: DemoServer) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server.api_key, server.base_url, max_retries=0) as client:
        yield client


def busy_conversation(server: DemoServer, low: int = 300) -> tuple[str, str]:
    """A regular with a few hundred messages or more, sending every few seconds."""
    world = server.world
    long = world.long_conversation()
    candidates = [
        (agent, conv)
        for agent, conv in world.conversation_ids()[:15]
        if (agent, conv) != long and low <= world.latest_index(conv) + 1
    ]
    # The busiest: arrivals between two requests then fill more than a page.
    return min(candidates, key=lambda p: world.time_of(p[1], 1) - world.time_of(p[1], 0))


async def newest_page(api: ConsoleClient, agent: str, conv: str, limit: int) -> list[Message]:
    page = await api.list_messages(agent, conv, limit=limit, sort="-created_at")
    return list(reversed(page.items))


def ids(messages: list[Message]) -> list[str]:
    return [m.id for m in messages]


async def test_pages_back_to_the_first_message_oldest_first(
    server: DemoServer, api: ConsoleClient
) -> None:
    agent, conv = busy_conversation(server)
    latest = server.world.latest_index(conv)
    timeline = await newest_page(api, agent, conv, 50)
    pager = HistoryPager(api, agent, conv, timeline[0], newer_hint=49, page_size=37)
    batches: list[list[Message]] = []
    while batch := await pager.older():
        batches.append(batch)
        timeline = batch + timeline
    assert pager.done
    assert pager.remaining == 0
    assert ids(timeline) == [server.world.message_id(conv, i) for i in range(latest + 1)]
    # Full pages after the first, each oldest first; nothing more once at the start.
    assert all(len(b) == 37 for b in batches[1:])
    assert await pager.older() == []
    assert timeline[0] == Message.from_api(server.world.message(conv, 0).to_api())


async def test_messages_arriving_meanwhile_are_neither_repeated_nor_skipped(
    server: DemoServer, api: ConsoleClient, clock: FakeClock
) -> None:
    agent, conv = busy_conversation(server)
    timeline = await newest_page(api, agent, conv, 20)
    anchor_index = server.world.latest_index(conv) - 19
    pager = HistoryPager(api, agent, conv, timeline[0], newer_hint=19, page_size=25)
    rounds = 0
    while True:
        # More than a page arrives before every request, the first included: a walk
        # counting pages from the newest would see every page shifted.
        before = server.world.latest_index(conv)
        clock.advance(400.0, server)
        assert server.world.latest_index(conv) - before > 25
        batch = await pager.older()
        if not batch:
            break
        rounds += 1
        timeline = batch + timeline
    assert rounds > 2
    expected = [server.world.message_id(conv, i) for i in range(anchor_index + 20)]
    assert ids(timeline) == expected


@pytest.mark.parametrize("hint", [0, 5, 10_000])
async def test_a_wrong_hint_costs_requests_never_messages(
    server: DemoServer, api: ConsoleClient, hint: int
) -> None:
    agent, conv = busy_conversation(server)
    anchor_index = server.world.latest_index(conv) - 150
    anchor = Message.from_api(server.world.message(conv, anchor_index).to_api())
    pager = HistoryPager(api, agent, conv, anchor, newer_hint=hint, page_size=20)
    older: list[Message] = []
    while batch := await pager.older():
        older = batch + older
    assert ids(older) == [server.world.message_id(conv, i) for i in range(anchor_index)]


async def test_the_first_message_has_nothing_before_it(
    server: DemoServer, api: ConsoleClient
) -> None:
    agent, conv = busy_conversation(server)
    first = Message.from_api(server.world.message(conv, 0).to_api())
    pager = HistoryPager(api, agent, conv, first, newer_hint=10_000)
    assert not pager.done
    assert pager.remaining is None
    assert await pager.older() == []
    assert pager.done


async def test_an_anchor_from_elsewhere_is_an_error_not_a_wrong_history(
    server: DemoServer, api: ConsoleClient
) -> None:
    agent, conv = busy_conversation(server)
    other = next(c for _, c in server.world.conversation_ids() if c != conv)
    stranger = Message.from_api(server.world.message(other, 3).to_api())
    with pytest.raises(HistoryError, match="not in the conversation"):
        await HistoryPager(api, agent, conv, stranger, page_size=50).older()
    with pytest.raises(ValueError, match="page_size"):
        HistoryPager(api, agent, conv, stranger, page_size=0)


class FailingOnce(ConsoleClient):
    """Our client, whose next list messages call fails as a dropped connection would."""

    fail_next = False

    async def list_messages(self, *args: Any, **kwargs: Any) -> Page[Message]:
        if self.fail_next:
            self.fail_next = False
            raise APIConnectionError("connection lost")
        return await super().list_messages(*args, **kwargs)


async def test_a_failed_request_leaves_the_pager_ready_to_retry(server: DemoServer) -> None:
    api = FailingOnce(server.api_key, server.base_url, max_retries=0)
    async with api:
        agent, conv = busy_conversation(server)
        timeline = await newest_page(api, agent, conv, 10)
        pager = HistoryPager(api, agent, conv, timeline[0], newer_hint=9, page_size=30)
        api.fail_next = True
        with pytest.raises(APIConnectionError):
            await pager.older()
        assert pager.remaining is None
        first = await pager.older()
        remaining = pager.remaining
        assert remaining is not None
        assert remaining > 30
        api.fail_next = True
        with pytest.raises(APIConnectionError):
            await pager.older()
        assert pager.remaining == remaining
        second = await pager.older()
    timeline = second + first + timeline
    start = remaining - 30
    expected = [server.world.message_id(conv, i) for i in range(start, start + len(timeline))]
    assert ids(timeline) == expected


@pytest.mark.parametrize("ahead", [1, 3])
async def test_all_messages_oldest_first_while_more_arrive(
    server: DemoServer, api: ConsoleClient, clock: FakeClock, ahead: int
) -> None:
    agent, conv = busy_conversation(server)
    at_start = server.world.latest_index(conv)
    seen: list[str] = []
    totals: list[int] = []
    latest = -1
    async for batch, total in iter_all_messages(api, agent, conv, page_size=40, ahead=ahead):
        seen.extend(ids(batch))
        totals.append(total)
        latest = server.world.latest_index(conv)
        clock.advance(60.0, server)
    # From the first message on, each once, in order, past what existed at the start.
    assert seen == [server.world.message_id(conv, i) for i in range(len(seen))]
    assert at_start + 1 < len(seen) <= latest + 1
    assert totals == sorted(totals)
    assert totals[-1] == len(seen)
    if ahead == 1:
        # One page at a time, the last one read when `latest` existed: all of it.
        assert len(seen) == latest + 1
    with pytest.raises(ValueError, match="ahead"):
        await anext(iter_all_messages(api, agent, conv, ahead=0))
