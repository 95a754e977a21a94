"""The stream engine against scripted answers a real server would rarely give on purpose."""

from __future__ import annotations

import json

import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.stream import ResumableStream
from tests.loopback import API_KEY, Canned, LoopbackServer, Reply, frame
from tests.streamkit import collect, count_messages, messages, states, statuses


def make_stream(server: LoopbackServer, api: ConsoleClient, **kw: object) -> ResumableStream:
    kw.setdefault("base_delay", 0.01)
    return ResumableStream(api, "ag_1", "c_1", **kw)  # type: ignore[arg-type]


async def test_malformed_frames_are_skipped_and_reported(scripted: LoopbackServer) -> None:
    bad_json = b"event: message\ndata: {not json\n\n"
    no_id = b'event: message\ndata: {"role":"customer"}\n\n'
    not_object = b"event: message\ndata: [1,2]\n\n"
    bad_utf8 = b'event: message\ndata: {"id": "m_\xff"}\n\n'
    unknown = b"event: typing\ndata: {}\n\n"
    heartbeat = b'event: heartbeat\ndata: {"ts": 1}\n\n'
    scripted.add_streams(
        [
            Reply(
                chunks=[
                    frame("m_1"),
                    bad_json,
                    no_id,
                    not_object,
                    unknown,
                    heartbeat,
                    bad_utf8,
                    frame("m_2"),
                ],
                then="hang",
            )
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api), count_messages(3))
    assert [m.id for m in messages(events)] == ["m_1", "m_\ufffd", "m_2"]
    skipped = [s for s in statuses(events) if s.state == "frame_skipped"]
    assert len(skipped) == 3
    assert all("malformed" in (s.cause or "") for s in skipped)


async def test_a_frame_cut_by_a_dropped_connection_is_never_delivered(
    scripted: LoopbackServer,
) -> None:
    half = frame("m_2")[:30]
    scripted.add_streams(
        [
            Reply(chunks=[frame("m_1"), half], then="abort"),
            Reply(chunks=[frame("m_2"), frame("m_3")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api), count_messages(3))
    assert [m.id for m in messages(events)] == ["m_1", "m_2", "m_3"]
    assert "reconnecting" in states(events)
    # The second connection resumed after the last delivered id.
    assert scripted.stream_queries[1]["after"] == "m_1"
    assert scripted.stream_queries[0]["ticket"] != scripted.stream_queries[1]["ticket"]


async def test_duplicates_from_the_server_are_dropped(scripted: LoopbackServer) -> None:
    scripted.add_streams(
        [
            Reply(chunks=[frame("m_1"), frame("m_2")], then="abort"),
            # A server that resumes one too early resends m_2.
            Reply(chunks=[frame("m_2"), frame("m_3")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api), count_messages(3))
    assert [m.id for m in messages(events)] == ["m_1", "m_2", "m_3"]


async def test_oversized_frame_is_skipped_with_a_status(scripted: LoopbackServer) -> None:
    huge = b"id: m_big\nevent: message\ndata: " + b"x" * (5 * 1024 * 1024) + b"\n\n"
    scripted.add_streams([Reply(chunks=[frame("m_1"), huge, frame("m_2")], then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api), count_messages(2))
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    assert any("size limit" in (s.cause or "") for s in statuses(events))


async def test_wrong_content_type_gives_up_instead_of_retrying(scripted: LoopbackServer) -> None:
    scripted.add_streams(
        [Reply(headers={"Content-Type": "text/html"}, chunks=[b"<html>login</html>"])]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api))
    final = statuses(events)[-1]
    assert final.state == "gave_up"
    assert "text/html" in (final.cause or "")
    assert "reconnecting" not in states(events)


async def test_budget_counts_consecutive_failures_then_gives_up(
    scripted: LoopbackServer,
) -> None:
    error = json.dumps({"message": "down", "code": "internal_error"}).encode()
    scripted.add_streams(
        [Reply(status=503, headers={"Content-Type": "application/json"}, chunks=[error])] * 4
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api, max_retries=3))
    reconnects = [s for s in statuses(events) if s.state == "reconnecting"]
    assert [(s.attempt, s.max_retries) for s in reconnects] == [(1, 3), (2, 3), (3, 3)]
    assert all(s.delay is not None and 0 <= s.delay <= 0.08 for s in reconnects)
    assert statuses(events)[-1].state == "gave_up"
    assert "after 3 retries" in (statuses(events)[-1].cause or "")


async def test_budget_resets_on_every_delivered_message(scripted: LoopbackServer) -> None:
    scripted.add_streams([Reply(chunks=[frame(f"m_{i}")], then="abort") for i in range(6)])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api, max_retries=1), count_messages(6))
    assert len(messages(events)) == 6
    assert "gave_up" not in states(events)


async def test_retry_after_on_the_stream_get_is_honoured(scripted: LoopbackServer) -> None:
    body = json.dumps({"message": "slow down", "code": "rate_limited"}).encode()
    scripted.add_streams(
        [
            Reply(
                status=429,
                headers={"Content-Type": "application/json", "Retry-After": "0.25"},
                chunks=[body],
            ),
            Reply(chunks=[frame("m_1")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api), count_messages(1))
    reconnect = next(s for s in statuses(events) if s.state == "reconnecting")
    assert reconnect.delay == 0.25
    assert "rate limited" in (reconnect.cause or "")


async def test_unknown_after_by_name_falls_back_to_the_last_timestamp(
    scripted: LoopbackServer,
) -> None:
    rejected = json.dumps({"message": "after: unknown message id", "code": "not_found"}).encode()
    scripted.add_streams(
        [
            Reply(chunks=[frame("m_1")], then="abort"),
            Reply(status=404, headers={"Content-Type": "application/json"}, chunks=[rejected]),
            Reply(chunks=[frame("m_1"), frame("m_2")], then="hang"),
        ]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api), count_messages(2))
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    assert "gap_possible" in states(events)
    assert scripted.stream_queries[2]["after"] == "2026-11-23T10:00:00.000Z"


async def test_404_without_after_gives_up_as_conversation_not_found(
    scripted: LoopbackServer,
) -> None:
    gone = json.dumps({"message": "conversation not found", "code": "not_found"}).encode()
    scripted.add_streams(
        [Reply(status=404, headers={"Content-Type": "application/json"}, chunks=[gone])]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api))
    assert statuses(events)[-1].describe() == "gave up: conversation not found"


async def test_refused_key_gives_up_at_once(scripted: LoopbackServer) -> None:
    async with ConsoleClient("sk_wrong_key_000000", scripted.base_url) as api:
        events = await collect(make_stream(scripted, api))
    assert states(events) == ["connecting", "gave_up"]
    assert "API key was refused" in (statuses(events)[-1].cause or "")
    assert "sk_wrong_key_000000" not in statuses(events)[-1].describe()


async def test_stream_get_sends_ticket_not_key(scripted: LoopbackServer) -> None:
    scripted.add_streams([Reply(chunks=[frame("m_1")], then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        await collect(make_stream(scripted, api, after="m_0"), count_messages(1))
    headers = scripted.stream_headers[0]
    assert "authorization" not in headers
    assert headers["accept"] == "text/event-stream"
    assert scripted.stream_queries[0] == {"ticket": scripted.tickets[0], "after": "m_0"}
    assert API_KEY not in json.dumps(scripted.stream_queries)


async def test_no_reconnect_stops_when_the_server_ends(scripted: LoopbackServer) -> None:
    scripted.add_streams([Reply(chunks=[frame("m_1")], then="end")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api, reconnect=False))
    assert [m.id for m in messages(events)] == ["m_1"]
    assert states(events)[-1] == "closed"
    assert len(scripted.stream_queries) == 1


async def test_watchdog_reconnects_a_silent_connection(scripted: LoopbackServer) -> None:
    scripted.add_streams(
        [Reply(chunks=[frame("m_1")], then="hang"), Reply(chunks=[frame("m_2")], then="hang")]
    )
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api, read_timeout=0.3), count_messages(2))
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    stalled = next(s for s in statuses(events) if s.state == "stalled")
    assert stalled.describe() == "stalled: no data for 0.3 s"


async def test_watchdog_reconnects_a_stream_get_that_is_never_answered(
    scripted: LoopbackServer,
) -> None:
    # Not even a status line: the watchdog covers the wait for the headers too.
    scripted.add_streams([Reply(silent=True), Reply(chunks=[frame("m_1")], then="hang")])
    async with ConsoleClient(API_KEY, scripted.base_url) as api:
        events = await collect(make_stream(scripted, api, read_timeout=0.3), count_messages(1))
    assert [m.id for m in messages(events)] == ["m_1"]
    stalled = next(s for s in statuses(events) if s.state == "stalled")
    assert stalled.describe() == "stalled: no data for 0.3 s"


async def test_redirect_on_rest_is_not_followed(scripted: LoopbackServer) -> None:
    from bimpe_tui.api.errors import APIError

    scripted.canned["agents"].append(Canned(301, b"", {"Location": "https://evil.example/steal"}))
    async with ConsoleClient(API_KEY, scripted.base_url, max_retries=0) as api:
        with pytest.raises(APIError, match=r"evil\.example.*not followed"):
            await api.list_agents()
