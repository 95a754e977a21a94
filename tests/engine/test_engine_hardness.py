"""What servers and proxies do that the demo server never does, against a loopback server.

Issue 12's hardness cases: a connection that drips bytes without completing
an event, keep-alive comments on a quiet stream, a gzip-encoded stream cut
in odd chunk sizes with a charset in its content type, and a `retry:` of an
hour.
"""

from __future__ import annotations

import gzip

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.stream import ResumableStream
from tests.loopback import API_KEY, LoopbackServer, Reply, frame
from tests.streamkit import collect, count_messages, messages, states, statuses


def make_stream(api: ConsoleClient, **kw: object) -> ResumableStream:
    kw.setdefault("base_delay", 0.01)
    return ResumableStream(api, "ag_1", "c_1", **kw)  # type: ignore[arg-type]


async def test_bytes_that_never_complete_an_event_count_as_a_stall(
    scripted: LoopbackServer,
) -> None:
    # One frame, then a data line dripped a byte every 20 ms that never ends:
    # bytes keep coming, so a read timeout never fires; no event completes.
    drip = [b"data: {"] + [b"x"] * 200
    scripted.add_streams(
        [
            Reply(chunks=[frame("m_1"), *drip], then="hang", pace=0.02),
            Reply(chunks=[frame("m_2")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, read_timeout=0.3), count_messages(2))
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    stalled = next(s for s in statuses(events) if s.state == "stalled")
    assert "no complete event for 0.3 s" in stalled.describe()


async def test_keep_alive_comments_keep_a_quiet_stream_alive(scripted: LoopbackServer) -> None:
    # A comment every 50 ms for about a second (three times the watchdog's
    # 0.3 s), then a message: one connection throughout, no stall.
    comments = [b": keep-alive\n"] * 20
    scripted.add_streams([Reply(chunks=[frame("m_1"), *comments, frame("m_2")], pace=0.05)])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api, read_timeout=0.3), count_messages(2))
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    assert "stalled" not in states(events)
    assert "reconnecting" not in states(events)


async def test_a_gzip_stream_in_odd_chunks_with_a_charset(scripted: LoopbackServer) -> None:
    body = gzip.compress(b"".join(frame(f"m_{n}", "héllo ✓") for n in range(30)))
    odd = [body[i : i + 7] for i in range(0, len(body), 7)]  # 7-byte pieces
    headers = {"Content-Type": "text/event-stream; charset=utf-8", "Content-Encoding": "gzip"}
    scripted.add_streams([Reply(headers=headers, chunks=odd, then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(30))
    got = messages(events)
    assert [m.id for m in got] == [f"m_{n}" for n in range(30)]
    assert {m.message for m in got} == {"héllo ✓"}


async def test_a_retry_field_of_an_hour_does_not_delay_the_reconnect(
    scripted: LoopbackServer,
) -> None:
    # The server asks for an hour between reconnects, then drops the
    # connection: the engine keeps its own back-off (here 10 ms), so the next
    # message comes within the test's limit.
    scripted.add_streams(
        [
            Reply(chunks=[b"retry: 3600000\n\n", frame("m_1")], then="abort"),
            Reply(chunks=[frame("m_2")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(api), count_messages(2), limit=10)
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    reconnecting = next(s for s in statuses(events) if s.state == "reconnecting")
    assert reconnecting.delay is not None
    assert reconnecting.delay < 60


async def test_a_server_that_ignores_after_replays_nothing_twice(scripted: LoopbackServer) -> None:
    def at(second: int) -> str:
        return f"2026-11-23T10:00:{second:02d}.000Z"

    # After a drop, the server ignores `after` and sends the conversation again
    # from further back than the dedupe window (1 id here) reaches.
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
                    frame("m_2", created_at=at(2)),
                    frame("m_3", created_at=at(3)),
                ],
                then="hang",
            ),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        stream = make_stream(api, dedupe_window=1)
        events = await collect(stream, count_messages(3))
    assert [m.id for m in messages(events)] == ["m_1", "m_2", "m_3"]
    assert stream.cursor == "m_3"
    said = [s.describe() for s in statuses(events) if s.state == "frame_skipped"]
    assert len(said) == 1
    assert "2 messages from before the resume point" in said[0]
    # The second connection asked to resume after m_2: the server was told.
    gets = [r.url for r in scripted.requests if r.method == "GET" and "/stream" in r.url]
    assert "after=m_2" in gets[-1]
