"""The engine at the edges (issue 22): poisoned cursors, skewed clocks, a stream that
cannot resume. Every test runs over real sockets, against the demo server or a
scripted loopback server where the demo cannot misbehave that way."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.errors import error_from_response
from bimpe_tui.api.stream import ResumableStream, StreamEvent
from bimpe_tui.demo.faults import FaultPlan
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.demo.world import AdjustableClock
from tests.engine.test_stream_demo import busiest, expected_ids, start_point
from tests.loopback import (
    API_KEY,
    Canned,
    LoopbackServer,
    Reply,
    agent,
    conversation,
    envelope,
    error_reply,
    frame,
    heartbeat,
    message,
)
from tests.processes import CLI, child_env
from tests.streamkit import collect, count_messages, messages, states, statuses

#: A creation time after every other one here.
LATER = "2026-11-23T10:00:09.000Z"
#: A message id no server takes back in a URL: 100 KB.
POISON = "m_" + "x" * 100_000


def make_stream(api: ConsoleClient, **kw: object) -> ResumableStream:
    kw.setdefault("base_delay", 0.01)
    return ResumableStream(api, "ag_1", "c_1", **kw)  # type: ignore[arg-type]


# -- 4. absurd ids are refused at the edge ----------------------------------------


async def test_a_poisoned_saved_cursor_falls_back_to_its_time(
    demo: DemoServer, client: ConsoleClient
) -> None:
    # The app restarts with a 100 KB id as its saved resume point (and that
    # message's time, as the state file keeps it): the id is never sent, the
    # stream resumes from the time, and nothing is lost.
    agent_id, conversation_id = busiest(demo)[0]
    start = start_point(demo, conversation_id)
    stream = ResumableStream(
        client,
        agent_id,
        conversation_id,
        after=POISON,
        after_created_at=demo.world.message(conversation_id, start).created_at_iso,
        base_delay=0.01,
    )
    events = await collect(stream, count_messages(25))
    assert [m.id for m in messages(events)] == expected_ids(demo, conversation_id, start, 25)
    assert "gave_up" not in states(events)
    assert all(len(r.query_string) < 1000 for r in demo.stream_requests)
    gap = next(s for s in statuses(events) if s.state == "gap_possible")
    # Refused here, not by the server (whose HTTP layer would refuse such a
    # URL with a bare 400, which also falls back to the time).
    assert "a message id of 100002 characters, not sent" in (gap.cause or "")
    assert "resuming from its time" in (gap.cause or "")
    assert len(gap.describe()) < 400


@pytest.mark.parametrize(
    "hostile_id",
    [POISON, "m_\x1b]0;title\x07", "m_\u202eevil", "m_\x00x"],
    ids=["100KB", "escape", "bidi", "nul"],
)
async def test_a_delivered_absurd_id_is_never_sent_back_as_after(
    scripted: LoopbackServer, hostile_id: str
) -> None:
    # The message is delivered (it is the server's data), but the next
    # connection resumes from its time, not from an id no URL should carry.
    when = "2026-11-23T10:00:05.000Z"
    hostile = frame("m_1") + frame(hostile_id, created_at=when)
    scripted.add_streams(
        [
            Reply(chunks=[hostile], then="abort"),
            Reply(chunks=[frame("m_good", created_at=LATER)], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(3))
    assert [m.id for m in messages(events)] == ["m_1", hostile_id, "m_good"]
    assert scripted.stream_queries[1]["after"] == when
    # No stream GET was made with the id: every ticket went with a GET the
    # server's handler saw (a 100 KB URL is refused below it, with a bare 400).
    assert len(scripted.tickets) == len(scripted.stream_queries) == 2
    assert "gave_up" not in states(events)


async def test_a_bare_400_to_a_resume_point_falls_back_to_its_time(
    scripted: LoopbackServer,
) -> None:
    # A server (or proxy) that cannot take the cursor answers a 400 with no
    # words: the cursor is the only thing that changed, so its time is tried.
    when = "2026-11-23T10:00:05.000Z"
    scripted.add_streams(
        [
            Reply(chunks=[frame("m_1", created_at=when)], then="abort"),
            Reply(status=400, headers={"Content-Type": "text/plain"}, chunks=[b"Bad Request"]),
            Reply(chunks=[frame("m_2", created_at=LATER)], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(2))
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    assert [q.get("after") for q in scripted.stream_queries] == [None, "m_1", when]
    assert "gave_up" not in states(events)


def test_error_wording_never_repeats_itself() -> None:
    for body in (b"", b"Bad Request", b"{}", b'{"message": ""}'):
        assert str(error_from_response(400, body, {})) == "HTTP 400"
    assert str(error_from_response(414, b"", {})) == "HTTP 414"
    assert str(error_from_response(400, b'{"message": "after: bad"}', {})) == (
        "HTTP 400: after: bad"
    )


# -- 1. ids decide what was delivered ----------------------------------------------


def at(second: int) -> str:
    return f"2026-11-23T10:00:{second:02d}.000Z"


def said(events: list[StreamEvent]) -> str:
    return " | ".join(s.describe() for s in statuses(events))


async def test_a_new_message_from_a_node_2_s_behind_is_delivered(
    scripted: LoopbackServer,
) -> None:
    # Mid-connection: nothing was asked for that could be a replay, so a new
    # id is new, whatever its created_at.
    body = frame("m_1", created_at=at(5)) + frame("m_2", created_at=at(3))
    scripted.add_streams([Reply(chunks=[body, frame("m_3", created_at=at(6))], then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(3))
    assert [m.id for m in messages(events)] == ["m_1", "m_2", "m_3"]
    assert "already shown" not in said(events)


async def test_a_skewed_message_right_after_a_reconnect_is_delivered(
    scripted: LoopbackServer,
) -> None:
    # The server honours `after`; the first new message comes from a node 2 s
    # behind. Nothing the engine had is sent again: no replay, so it is new.
    scripted.add_streams(
        [
            Reply(chunks=[frame("m_1", created_at=at(5))], then="abort"),
            Reply(chunks=[frame("m_2", created_at=at(3)), heartbeat()], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(2))
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    assert scripted.stream_queries[1]["after"] == "m_1"
    assert "already shown" not in said(events)


async def test_one_newer_frame_ahead_of_the_replay_hides_nothing(
    scripted: LoopbackServer,
) -> None:
    # After the reconnect, a live message overtakes the replay of what was
    # missed: the 15 missed ones are new ids and are delivered all the same.
    missed = [frame(f"m_{i}", created_at=at(5 + i)) for i in range(2, 17)]
    scripted.add_streams(
        [
            Reply(chunks=[frame("m_1", created_at=at(5))], then="abort"),
            Reply(chunks=[frame("m_99", created_at=at(59)), *missed], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(17))
    assert [m.id for m in messages(events)] == ["m_1", "m_99"] + [f"m_{i}" for i in range(2, 17)]
    assert "skipped" not in said(events)


async def test_a_replay_that_never_reaches_the_resume_point_falls_back_and_says_so(
    scripted: LoopbackServer,
) -> None:
    # The server sends again what the engine had (m_1: a replay, recognised)
    # but never the resume point (m_2): the older unknown one is dropped by
    # its time and the log says it may be missing; the newer one is delivered.
    scripted.add_streams(
        [
            Reply(
                chunks=[frame("m_1", created_at=at(1)), frame("m_2", created_at=at(2))],
                then="abort",
            ),
            Reply(
                chunks=[
                    frame("m_0", created_at=at(0)),
                    frame("m_1", created_at=at(1)),
                    frame("m_3", created_at=at(3)),
                ],
                then="hang",
            ),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(3))
    assert [m.id for m in messages(events)] == ["m_1", "m_2", "m_3"]
    gap = next(s for s in statuses(events) if s.state == "gap_possible")
    assert "1 message older than the resume point" in (gap.cause or "")
    assert "already shown" not in said(events)


async def test_tail_after_an_id_skips_what_a_server_ignoring_after_sends_before_it(
    scripted: LoopbackServer, tmp_path: Path
) -> None:
    # The id is in the recent history (the engine looks its time up there),
    # and the server replays the conversation from its start, ignoring `after`.
    history = [message(f"m_{i}", created_at=at(i)) for i in range(1, 6)]
    replay = b"".join(frame(f"m_{i}", created_at=at(i)) for i in range(1, 6))
    scripted.add(agent("ag_1"), conversation("c_1"), history)
    scripted.add_streams([Reply(chunks=[replay], then="end")])
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "tail",
        "ag_1",
        "c_1",
        "--after",
        "m_3",
        "--no-reconnect",
        "--base-url",
        scripted.base_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path, BIMPEAI_API_KEY=API_KEY),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert [json.loads(line)["id"] for line in out.decode().splitlines()] == ["m_4", "m_5"]
    assert "before the resume point" in err.decode()
    assert "already shown" not in err.decode()


# -- 2. a stream that cannot resume is filled from history --------------------------


def refusing_demo(drops: float = 0.0) -> DemoServer:
    """A demo server that refuses every `after` (by id and by time), on a fixed clock start."""
    faults = FaultPlan(kinds=("after_refused", "drop") if drops else ("after_refused",))
    faults.rate = drops
    clock = AdjustableClock(start=datetime(2026, 11, 23, 10, 0, tzinfo=UTC).timestamp())
    return DemoServer(seed=3, rate=100.0, heartbeat_interval=0.2, faults=faults, clock=clock)


def resumed_after(
    api: ConsoleClient,
    server: DemoServer,
    agent_id: str,
    conversation_id: str,
    start: int,
    *,
    base_delay: float,
) -> ResumableStream:
    """A stream of `conversation_id` resuming after its message `start` (id and time)."""
    cursor = server.world.message(conversation_id, start)
    return ResumableStream(
        api,
        agent_id,
        conversation_id,
        after=cursor.id,
        after_created_at=cursor.created_at_iso,
        read_timeout=2.0,
        base_delay=base_delay,
    )


async def test_a_stream_that_cannot_resume_is_filled_from_history() -> None:
    async with refusing_demo() as server:
        agent_id, conversation_id = busiest(server)[0]
        start = start_point(server, conversation_id)
        # Three drops, each after a few messages: every reconnect is refused
        # `after` by id, then by time, and goes on live with a hole to fill.
        for _ in range(3):
            server.faults.inject("drop", after_messages=8)
        async with ConsoleClient(server.api_key, server.base_url) as api:
            stream = resumed_after(api, server, agent_id, conversation_id, start, base_delay=0.2)
            events = await collect(stream, count_messages(60), limit=60)
        refused = server.faults.injected["after_refused"]
    assert [m.id for m in messages(events)] == expected_ids(server, conversation_id, start, 60)
    assert refused >= 8  # id and time, at the start and after each of the 3 drops
    fills = [s for s in statuses(events) if s.state == "resumed" and s.filled is not None]
    assert len(fills) == 4
    assert any(s.filled for s in fills)
    assert any("filled from history" in s.describe() for s in fills), said(events)
    assert "gap_possible" not in states(events), said(events)


async def test_when_the_history_fails_too_the_gap_is_said_and_the_fill_retried() -> None:
    async with refusing_demo() as server:
        agent_id, conversation_id = busiest(server)[0]
        start = start_point(server, conversation_id)
        # The first two history pages asked for fail: the fill says what may be
        # missing, tries again, and then nothing is missing after all.
        server.faults.inject("history_503", 2)
        async with ConsoleClient(server.api_key, server.base_url, max_retries=0) as api:
            stream = resumed_after(api, server, agent_id, conversation_id, start, base_delay=0.05)
            events = await collect(stream, count_messages(40), limit=60)
    assert [m.id for m in messages(events)] == expected_ids(server, conversation_id, start, 40)
    gaps = [s for s in statuses(events) if s.state == "gap_possible"]
    assert len(gaps) == 1, said(events)
    assert "may be missing" in (gaps[0].cause or "")
    assert "trying the history again" in (gaps[0].cause or "")
    fill = next(s for s in statuses(events) if s.state == "resumed" and s.filled is not None)
    assert fill.filled


async def test_a_fill_whose_history_pages_shift_delivers_each_message_once(
    scripted: LoopbackServer,
) -> None:
    # Newest-first pages shift while messages arrive: m_151 comes between the
    # two page requests, so the second page starts with the last message of
    # the first (m_51). Ids, not page boundaries, say what was seen.
    def when(i: int) -> str:
        moment = datetime(2026, 11, 23, 10, tzinfo=UTC) + timedelta(seconds=i)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    history = [message(f"m_{i}", created_at=when(i)) for i in range(1, 152)]
    newest_first = history[::-1]
    before, after = newest_first[1:], newest_first  # without m_151, then with it
    pages = [envelope(before[:100], has_next_page=True), envelope(after[100:200])]
    scripted.canned["messages"].extend(Canned(200, page) for page in pages)
    refused = "after: this stream cannot resume; omit after"
    scripted.add_streams(
        [
            Reply(chunks=[frame("m_1", created_at=when(1))], then="abort"),
            error_reply(400, refused, "bad_request"),  # by id
            error_reply(400, refused, "bad_request"),  # by time
            Reply(
                chunks=[frame("m_151", created_at=when(151)), frame("m_152", created_at=when(152))],
                then="hang",
            ),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(152))
    assert [m.id for m in messages(events)] == [f"m_{i}" for i in range(1, 153)]
    assert [q.get("after") for q in scripted.stream_queries] == [None, "m_1", when(1), None]
    fill = next(s for s in statuses(events) if s.state == "resumed" and s.filled is not None)
    assert fill.filled == 149  # m_2 to m_150
    assert "gap_possible" not in states(events), said(events)


@pytest.mark.long(15)
async def test_tail_against_a_server_that_never_resumes_and_drops_loses_nothing(
    tmp_path: Path,
) -> None:
    # The measure: a server that refuses every `after` (by id and by
    # time) and drops connections now and then. `tail` used to deliver 17-24
    # of 400; each hole is now filled from the history.
    async with refusing_demo(drops=1.0) as server:
        agent_id, conversation_id = busiest(server)[0]
        start = start_point(server, conversation_id)
        proc = await asyncio.create_subprocess_exec(
            *CLI,
            "tail",
            agent_id,
            conversation_id,
            "--after",
            server.world.message(conversation_id, start).id,
            "--read-timeout",
            "2",
            "--max-retries",
            "30",
            "--base-url",
            server.base_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(tmp_path, BIMPEAI_API_KEY=server.api_key),
        )
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(90):
                lines = [json.loads(await proc.stdout.readline()) for _ in range(400)]
        finally:
            proc.terminate()
            _, err = await proc.communicate()
        injected = dict(server.faults.injected)
    assert [m["id"] for m in lines] == expected_ids(server, conversation_id, start, 400)
    assert injected.get("drop", 0) >= 3, injected
    assert injected["after_refused"] >= 2 * injected.get("drop", 0), injected
    text = err.decode()
    assert "filled from history" in text
    assert "may be missing" not in text
    assert "Traceback" not in text
