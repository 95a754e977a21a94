"""Promises the README makes about the stream engine, each against a real loopback server.

Every test here fails if the promise it names is broken: the budget reset by
heartbeats and messages, the 2,048-id dedupe window, the 60 s cap on
Retry-After, "continues live and says so", per-stream jitter, more streams
than aiohttp's default connection limit, 8 ticket calls in flight, a replay
count that does not depend on the local clock, and the real status of a
redirected stream.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest

from bimpe_tui.api import replay as replay_module
from bimpe_tui.api.client import TICKETS_AT_ONCE, ConsoleClient
from bimpe_tui.api.models import Message
from bimpe_tui.api.retry import MAX_RETRY_AFTER
from bimpe_tui.api.stream import DEFAULT_DEDUPE_WINDOW, ResumableStream, StreamStatus
from tests.loopback import (
    API_KEY,
    Canned,
    LoopbackServer,
    Reply,
    agent,
    conversation,
    error_body,
    error_reply,
    frame,
    heartbeat,
    message,
)
from tests.streamkit import collect, count_messages, messages, states, statuses


def make_stream(api: ConsoleClient, **kw: Any) -> ResumableStream:
    kw.setdefault("base_delay", 0.01)
    return ResumableStream(api, "ag_1", "c_1", **kw)


def has_state(state: str, n: int = 1) -> Any:
    return lambda events: states(events).count(state) >= n


# -- the retry budget ------------------------------------------------------------


async def test_the_budget_resets_on_every_heartbeat(scripted: LoopbackServer) -> None:
    # Each connection proves healthy with a heartbeat, then drops: with a
    # budget of one retry, only the reset keeps the stream going.
    scripted.add_streams([Reply(chunks=[heartbeat()], then="abort") for _ in range(5)])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, max_retries=1), has_state("live", 6))
    assert "gave_up" not in states(events)
    assert [s.attempt for s in statuses(events) if s.state == "reconnecting"] == [1] * 5
    assert not messages(events)


async def test_the_budget_resets_on_every_delivered_message(scripted: LoopbackServer) -> None:
    scripted.add_streams([Reply(chunks=[frame(f"m_{i}")], then="abort") for i in range(5)])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, max_retries=1), has_state("live", 6))
    assert [m.id for m in messages(events)] == [f"m_{i}" for i in range(5)]
    assert [s.attempt for s in statuses(events) if s.state == "reconnecting"] == [1] * 5


async def test_without_a_heartbeat_or_message_the_budget_runs_out(
    scripted: LoopbackServer,
) -> None:
    # The counterpart of the two above: a connection that proves nothing is a failure.
    scripted.add_streams([Reply(chunks=[b": comment\n\n"], then="abort") for _ in range(3)])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, max_retries=1))
    assert states(events)[-1] == "gave_up"
    assert [s.attempt for s in statuses(events) if s.state == "reconnecting"] == [1]


# -- the dedupe window -----------------------------------------------------------


async def test_the_dedupe_window_holds_the_last_2048_ids_and_no_more(
    scripted: LoopbackServer,
) -> None:
    assert DEFAULT_DEDUPE_WINDOW == 2048
    first = [f"m_{i}" for i in range(2048)]
    body = b"".join(frame(i) for i in first)
    # m_0 again while the window holds it (dropped); then one more id pushes
    # m_0 out of the window, so a later m_0 is new again (delivered).
    body += frame("m_0") + frame("m_2048") + frame("m_0") + frame("m_end")
    scripted.add_streams([Reply(chunks=[body], then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        stream = make_stream(api)
        events = await collect(stream, lambda ev: bool(ev) and getattr(ev[-1], "id", "") == "m_end")
    assert [m.id for m in messages(events)] == [*first, "m_2048", "m_0", "m_end"]


# -- Retry-After ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["ticket", "stream"])
async def test_retry_after_is_capped_at_60_s(scripted: LoopbackServer, where: str) -> None:
    headers = {"Content-Type": "application/json", "Retry-After": "3600"}
    if where == "ticket":
        scripted.canned["ticket"].append(Canned(429, error_body("slow", "rate_limited"), headers))
    else:
        scripted.add_streams([error_reply(429, "slow", "rate_limited", **{"Retry-After": "3600"})])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        # Closing at the `reconnecting` status: nobody waits the minute.
        events = await collect(make_stream(api), has_state("reconnecting"))
    reconnect = statuses(events)[-1]
    assert reconnect.state == "reconnecting"
    assert MAX_RETRY_AFTER == 60.0
    assert reconnect.delay == 60.0
    assert reconnect.describe() == "reconnecting in 60.0 s (attempt 1/5): rate limited (429)"


async def test_a_retry_after_under_the_cap_is_obeyed_as_given(scripted: LoopbackServer) -> None:
    headers = {"Content-Type": "application/json", "Retry-After": "59.5"}
    scripted.canned["ticket"].append(Canned(429, error_body("slow", "rate_limited"), headers))
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), has_state("reconnecting"))
    assert statuses(events)[-1].delay == 59.5


async def test_a_burst_of_429s_with_retry_after_0_spends_time_and_never_kills_the_stream(
    scripted: LoopbackServer,
) -> None:
    # Twice the budget of 429s, each asking for no wait at all: the engine
    # waits its own back-off instead (at least half of each attempt's window,
    # so a burst cannot be burnt through at once), and a rate limit is the
    # server saying "later", so the stream outlives the budget and goes live.
    headers = {"Content-Type": "application/json", "Retry-After": "0"}
    for _ in range(10):
        scripted.canned["ticket"].append(Canned(429, error_body("slow", "rate_limited"), headers))
    scripted.add_streams([Reply(chunks=[frame("m_1")], then="hang")])
    base, cap = 0.001, 0.004
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        stream = make_stream(api, base_delay=base, max_delay=cap)
        events = await collect(stream, count_messages(1))
    assert [m.id for m in messages(events)] == ["m_1"]
    assert "gave_up" not in states(events)
    waits = [s for s in statuses(events) if s.state == "reconnecting"]
    assert len(waits) == 10
    for n, wait in enumerate(waits):
        window = min(cap, base * 2**n)
        assert wait.delay is not None
        assert window / 2 <= wait.delay <= window
        assert wait.attempt == min(n + 1, 5)


# -- a resume point the server has forgotten ---------------------------------------


async def test_a_callers_resume_point_beyond_the_lookup_is_filled_from_history(
    scripted: LoopbackServer,
) -> None:
    # The id exists, but only as the 301st newest message: further back than
    # the 300 the engine searches for its time. Refused, the stream attaches
    # live and the history fills everything after it (issue 22), where it
    # used to go on live with a hole.
    history = [message("m_lost"), *(message(f"m_h{i}") for i in range(300))]
    scripted.add(agent("ag_1"), conversation("c_1"), history)
    scripted.add_streams(
        [
            error_reply(410, "after: unknown message id", "not_found"),
            Reply(chunks=[frame("m_live")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, after="m_lost"), count_messages(301))
    assert [m.id for m in messages(events)] == [*(f"m_h{i}" for i in range(300)), "m_live"]
    fill = next(s for s in statuses(events) if s.state == "resumed")
    assert fill.describe() == "resumed live after m_lost, 300 filled from history"
    assert "gap_possible" not in states(events)
    # Three pages of 100 searched for its time (once), then four to fill.
    pages = [s.url for s in scripted.requests if "/messages" in s.url]
    assert len(pages) == 7
    assert [q.get("after") for q in scripted.stream_queries] == ["m_lost", None]
    assert "gave_up" not in states(events)


async def test_a_callers_resume_point_found_in_history_resumes_from_its_time(
    scripted: LoopbackServer,
) -> None:
    when = "2026-11-23T09:59:00.000Z"
    history = [message("m_old", created_at=when), *(message(f"m_h{i}") for i in range(150))]
    scripted.add(agent("ag_1"), conversation("c_1"), history)
    scripted.add_streams(
        [
            error_reply(410, "after: unknown message id", "not_found"),
            Reply(chunks=[frame("m_next")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, after="m_old"), count_messages(1))
    gap = next(s for s in statuses(events) if s.state == "gap_possible")
    assert "resuming from its time" in (gap.cause or "")
    assert [q.get("after") for q in scripted.stream_queries] == ["m_old", when]


# -- jitter ------------------------------------------------------------------------------


async def first_delay(api: ConsoleClient, **kw: Any) -> float:
    events = await collect(make_stream(api, base_delay=0.5, **kw), has_state("reconnecting"))
    delay = statuses(events)[-1].delay
    assert delay is not None
    return delay


async def test_each_stream_jitters_from_its_own_entropy(scripted: LoopbackServer) -> None:
    down = [error_reply(503, "down", "internal_error") for _ in range(4)]
    scripted.add_streams(down)
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        own = [await first_delay(api), await first_delay(api)]
        seeded = [await first_delay(api, rng=random.Random(42)) for _ in range(2)]
    # Two streams dropped alike wait differently...
    assert own[0] != own[1]
    assert all(0.0 <= d <= 0.5 for d in own)
    # ...because the delay is drawn from the stream's own random source.
    assert seeded == [random.Random(42).random() * 0.5] * 2


# -- many streams ------------------------------------------------------------------------


class Consumers:
    """Every stream consumed in its own task, counting how many have gone live."""

    def __init__(self, streams: list[ResumableStream]) -> None:
        self.streams = streams
        self.live = 0
        self.all_live = asyncio.Event()
        self.tasks = [asyncio.create_task(self._consume(s)) for s in streams]

    async def _consume(self, stream: ResumableStream) -> None:
        async for event in stream:
            if isinstance(event, StreamStatus) and event.state == "live":
                self.live += 1
                if self.live == len(self.streams):
                    self.all_live.set()

    async def wait_all_live(self) -> None:
        async with asyncio.timeout(30):
            await self.all_live.wait()

    async def aclose(self) -> None:
        await asyncio.gather(*(s.aclose() for s in self.streams))
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def test_more_streams_than_aiohttp_allows_by_default_all_go_live(
    scripted: LoopbackServer,
) -> None:
    # aiohttp's connector holds at most 100 connections unless told
    # otherwise: stream 101 would wait for a free one forever.
    total = 105
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        consumers = Consumers([make_stream(api) for _ in range(total)])
        try:
            await consumers.wait_all_live()
            assert api._streams.open_streams == total
        finally:
            await consumers.aclose()
        assert api._streams.open_streams == 0
    assert len(scripted.stream_queries) == total


async def test_at_most_8_ticket_calls_are_in_flight(scripted: LoopbackServer) -> None:
    assert TICKETS_AT_ONCE == 8
    scripted.hold_tickets = True
    total = 20
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        consumers = Consumers([make_stream(api) for _ in range(total)])
        try:
            # Let the held calls go one at a time; each time, the next call
            # waiting at the client's gate takes the free place, and no more.
            for served in range(total):
                expected = min(TICKETS_AT_ONCE, total - served)
                await scripted.wait_until(partial(lambda n: scripted.held_tickets == n, expected))
                scripted.release_ticket()
            await consumers.wait_all_live()
        finally:
            await consumers.aclose()
    assert scripted.peak_tickets_in_flight == TICKETS_AT_ONCE
    assert len(scripted.tickets) == total


# -- counting the replay -------------------------------------------------------------


class _Skewed(datetime):
    """`datetime` whose now() runs `skew` ahead of (or behind) the real clock."""

    skew = timedelta(0)

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + cls.skew


@pytest.mark.parametrize("days", [-3650, -1, 0, 1, 3650])
async def test_the_replay_count_does_not_depend_on_the_local_clock(
    scripted: LoopbackServer, monkeypatch: pytest.MonkeyPatch, days: int
) -> None:
    monkeypatch.setattr(_Skewed, "skew", timedelta(days=days))
    monkeypatch.setattr(replay_module, "datetime", _Skewed)
    chunks = [
        frame("m_1", created_at="2026-11-23T10:00:01.000Z"),
        frame("m_2", created_at="2026-11-23T10:00:03.000Z"),
        # Within the second the server answered in: still replayed.
        frame("m_3", created_at="2026-11-23T10:00:05.900Z"),
        # Created after the server answered: live.
        frame("m_4", created_at="2026-11-23T10:00:06.000Z"),
        frame("m_5", created_at="2026-11-23T10:00:09.000Z"),
    ]
    answered = "Mon, 23 Nov 2026 10:00:05 GMT"
    headers = {"Content-Type": "text/event-stream", "Date": answered}
    scripted.add_streams([Reply(headers=headers, chunks=chunks, then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, after="m_0"), count_messages(5))
    order = [e.id if isinstance(e, Message) else e.state for e in events]
    assert order == ["connecting", "live", "m_1", "m_2", "m_3", "resumed", "m_4", "m_5"]
    resumed = next(s for s in statuses(events) if s.state == "resumed")
    assert (resumed.after, resumed.replayed) == ("m_0", 3)
    assert resumed.describe() == "resumed after m_0, 3 replayed"


async def test_without_a_server_date_the_first_heartbeat_ends_the_replay(
    scripted: LoopbackServer,
) -> None:
    chunks = [
        frame("m_1", created_at="2099-01-01T00:00:00Z"),
        frame("m_2", created_at="2099-01-01T00:00:01Z"),
        heartbeat(),
        frame("m_3", created_at="2099-01-01T00:00:02Z"),
    ]
    headers = {"Content-Type": "text/event-stream", "Date": "not a date"}
    scripted.add_streams([Reply(headers=headers, chunks=chunks, then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, after="m_0"), count_messages(3))
    order = [e.id if isinstance(e, Message) else e.state for e in events]
    assert order == ["connecting", "live", "m_1", "m_2", "resumed", "m_3"]
    assert next(s for s in statuses(events) if s.state == "resumed").replayed == 2


async def test_live_from_now_reports_no_replay(scripted: LoopbackServer) -> None:
    scripted.add_streams([Reply(chunks=[frame("m_1"), heartbeat(), frame("m_2")], then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(2))
    assert "resumed" not in states(events)


# -- redirects ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirected_stream_reports_its_real_status(
    scripted: LoopbackServer, status: int
) -> None:
    where = {"Location": "https://elsewhere.example/stream"}
    scripted.add_streams([Reply(status=status, headers=where, chunks=[])])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api))
    final = statuses(events)[-1]
    assert final.state == "gave_up"
    assert final.describe() == (
        f"gave up: HTTP {status}: the stream redirected to elsewhere.example; not followed"
    )
    assert "reconnecting" not in states(events)
