"""The engine at the edges (issue 22): poisoned cursors, skewed clocks, a stream that
cannot resume. Every test runs over real sockets, against the demo server or a
scripted loopback server where the demo cannot misbehave that way."""

from __future__ import annotations

import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.errors import error_from_response
from bimpe_tui.api.stream import ResumableStream
from bimpe_tui.demo.server import DemoServer
from tests.loopback import API_KEY, LoopbackServer, Reply, frame
from tests.streamkit import collect, count_messages, messages, states, statuses
from tests.test_stream_demo import busiest, expected_ids, start_point

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
