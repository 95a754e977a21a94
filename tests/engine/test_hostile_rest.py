"""Our ConsoleClient (and the stream's REST calls) against hostile servers on 127.0.0.1.

Every odd answer becomes a typed error with a short, safe text; redirects are
never followed (the target never sees a connection); a silent server times out.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    BimpeError,
    ConflictError,
    InternalServerError,
    MalformedResponseError,
)
from bimpe_tui.api.stream import ResumableStream
from tests.loopback import (
    API_KEY,
    Canned,
    LoopbackServer,
    RawServer,
    Reply,
    envelope,
    error_body,
    recursion_is_a_failure,
)
from tests.streamkit import collect, states, statuses

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@pytest.fixture
async def hostile() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as server:
        yield server


def client(server: LoopbackServer | RawServer, **kw: Any) -> ConsoleClient:
    kw.setdefault("max_retries", 0)
    return ConsoleClient(API_KEY, server.base_url, **kw)


def assert_safe_text(error: BaseException, limit: int = 600) -> str:
    text = str(error)
    assert len(text) <= limit
    assert not UNSAFE.search(text), repr(text)
    assert API_KEY not in text
    return text


# -- answers that are not what they should be ---------------------------------------------


async def test_an_html_page_with_status_200_is_a_malformed_response(
    hostile: LoopbackServer,
) -> None:
    page = b"<!doctype html><html><title>Sign in</title>" + b"<p>\x1b[31m" * 20_000 + b"</html>"
    hostile.canned["agents"].append(Canned(200, page, {"Content-Type": "text/html"}))
    async with client(hostile) as api:
        with pytest.raises(MalformedResponseError) as caught:
            await api.list_agents()
    error = caught.value
    assert error.status == 200
    assert error.body_preview.startswith("<!doctype html>")
    assert len(error.body_preview) <= 200
    text = assert_safe_text(error)
    assert "not JSON" in text


NOT_ENVELOPES = {
    "array": b"[1, 2]",
    "string": b'"ok"',
    "null": b"null",
    "true": b"true",
    "empty object": b"{}",
    "no message": b'{"data": []}',
    "message a number": b'{"message": 5, "data": []}',
    "message a list": b'{"message": ["ok"], "data": []}',
    "message null": b'{"message": null, "data": []}',
    "empty body": b"",
}


@pytest.mark.parametrize("body", NOT_ENVELOPES.values(), ids=NOT_ENVELOPES.keys())
async def test_a_json_body_that_is_not_an_envelope(hostile: LoopbackServer, body: bytes) -> None:
    hostile.canned["agents"].append(Canned(200, body))
    async with client(hostile) as api:
        with pytest.raises(MalformedResponseError) as caught:
            await api.list_agents()
    assert caught.value.status == 200
    assert "envelope" in assert_safe_text(caught.value)


BAD_DATA = {
    "data not a list": ({"x": 1}, "no list in `data`"),
    "data missing": (None, "no list in `data`"),
    "item not an object": ([1], "agent: expected an object, got int"),
    "item without id": ([{"name": "x"}], "agent.id: missing"),
    "item id a number": ([{"id": 7}], "agent.id: not a string (int)"),
    "item id empty": ([{"id": ""}], "agent.id: empty"),
}


@pytest.mark.parametrize(("data", "cause"), BAD_DATA.values(), ids=BAD_DATA.keys())
async def test_an_envelope_whose_data_has_the_wrong_shape(
    hostile: LoopbackServer, data: Any, cause: str
) -> None:
    hostile.canned["agents"].append(Canned(200, envelope(data)))
    async with client(hostile) as api:
        with pytest.raises(MalformedResponseError) as caught:
            await api.list_agents()
    assert cause in assert_safe_text(caught.value)


async def test_a_ticket_answer_without_a_ticket_gives_up_the_stream(
    hostile: LoopbackServer,
) -> None:
    hostile.canned["ticket"].append(Canned(201, envelope({"ticket": "", "expires_in": "soon"})))
    async with client(hostile) as api:
        events = await collect(ResumableStream(api, "ag", "c", base_delay=0.01))
    final = statuses(events)[-1]
    assert final.state == "gave_up"
    assert "stream ticket.ticket: empty" in (final.cause or "")
    assert not any(s.state == "live" for s in statuses(events))


async def test_a_hostile_error_message_is_bounded_and_spelled_out(
    hostile: LoopbackServer,
) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\u202eevil\u0000" + "m" * 1_000_000
    hostile.canned["agents"].append(Canned(409, error_body(evil, "conflict\x1b[5m")))
    async with client(hostile) as api:
        with pytest.raises(ConflictError) as caught:
            await api.list_agents()
    error = caught.value
    text = assert_safe_text(error)
    assert text.startswith(
        "HTTP 409 conflict\\x1b[5m: \\x1b]0;pwned\\x07\\x1b[2J\\u202eevil\\x00mmm"
    )
    assert text.endswith("…")
    # The full message is still there for code that needs it.
    assert error.message == evil


async def test_a_5xx_html_page_becomes_a_short_safe_message(hostile: LoopbackServer) -> None:
    page = b"<html>\x1b]0;pwned\x07 Bad gateway " + b"z" * 100_000
    hostile.canned["agents"].append(Canned(502, page, {"Content-Type": "text/html"}))
    async with client(hostile) as api:
        with pytest.raises(InternalServerError) as caught:
            await api.list_agents()
    text = assert_safe_text(caught.value)
    assert "\\x1b]0;pwned\\x07 Bad gateway" in text


async def test_a_deeply_nested_error_body_is_still_a_typed_error(hostile: LoopbackServer) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    hostile.canned["agents"].append(Canned(503, deep))
    async with client(hostile) as api:
        with pytest.raises(InternalServerError) as caught:
            await api.list_agents()
    assert caught.value.status == 503


async def test_a_deeply_nested_success_body_is_a_malformed_response(
    hostile: LoopbackServer,
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    hostile.canned["agents"].append(Canned(200, deep))
    async with client(hostile) as api:
        with recursion_is_a_failure(), pytest.raises(MalformedResponseError):
            await api.list_agents()


async def test_a_huge_rest_body_is_refused_without_reading_it_all(
    hostile: LoopbackServer,
) -> None:
    block = b"[" + b"0," * (512 * 1024)
    flood = Reply(
        headers={"Content-Type": "application/json"},
        chunks=(block for _ in range(48 * 1024 * 1024 // len(block))),
    )
    hostile.canned["agents"].append(flood)
    async with client(hostile) as api:
        with pytest.raises(BimpeError):
            await api.list_agents()
    await hostile.wait_until(lambda: flood.sent > 0)
    assert not flood.completed


# -- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_another_host_is_not_followed(
    hostile: LoopbackServer, status: int
) -> None:
    async with RawServer("count") as target:
        location = f"{target.base_url}/api/v1/console/agents?stolen=1"
        hostile.canned["agents"].append(Canned(status, b"", {"Location": location}))
        async with client(hostile) as api:
            with pytest.raises(APIError) as caught:
                await api.list_agents()
        assert caught.value.status == status
        text = assert_safe_text(caught.value)
        assert "not followed" in text
        assert target.accepted == 0
    # The key went to the server it was meant for, and only there.
    assert [seen.headers.get("Authorization") for seen in hostile.requests] == [f"Bearer {API_KEY}"]


async def test_redirects_of_the_ticket_call_and_the_stream_are_not_followed(
    hostile: LoopbackServer,
) -> None:
    async with RawServer("count") as target:
        hostile.canned["ticket"].append(
            Canned(307, b"", {"Location": target.base_url + "/steal-the-key"})
        )
        async with client(hostile) as api:
            events = await collect(ResumableStream(api, "ag", "c", base_delay=0.01))
        assert statuses(events)[-1].state == "gave_up"
        assert "not followed" in (statuses(events)[-1].cause or "")

        hostile.canned["stream"].append(
            Canned(302, b"", {"Location": target.base_url + "/steal-the-ticket"})
        )
        async with client(hostile) as api:
            events = await collect(ResumableStream(api, "ag", "c", base_delay=0.01))
        assert statuses(events)[-1].state == "gave_up"
        assert "not followed" in (statuses(events)[-1].cause or "")
        assert target.accepted == 0


async def test_a_redirect_location_with_control_characters_is_a_safe_typed_error(
    hostile: LoopbackServer,
) -> None:
    # Sent as UTF-8 and read back as Latin-1: the override arrives as C1 bytes.
    hostile.canned["agents"].append(
        Canned(301, b"", {"Location": "http://evil.example\u202e\u009b[31m/x"})
    )
    async with client(hostile) as api:
        # httpx refuses such a Location outright: a typed error either way.
        with pytest.raises(BimpeError) as caught:
            await api.list_agents()
    assert_safe_text(caught.value)


# -- servers that do not answer (or not in HTTP) ------------------------------------------


async def test_a_server_that_never_answers_times_out_with_a_typed_error() -> None:
    async with RawServer("silent") as silent:
        async with client(silent, timeout=0.5) as api:
            with pytest.raises(APITimeoutError) as caught:
                await api.list_agents()
        assert "no answer in time" in assert_safe_text(caught.value)
        assert silent.accepted == 1
        # The request did reach it: this was a read timeout, not a refused connection.
        assert b"GET /api/v1/console/agents" in silent.received


async def test_a_silent_server_is_retried_then_times_out() -> None:
    async with RawServer("silent") as silent:
        async with client(silent, timeout=0.5, max_retries=1) as api:
            with pytest.raises(APITimeoutError):
                await api.list_agents()
        assert silent.accepted == 2


async def test_a_server_that_sends_headers_then_nothing_times_out() -> None:
    async with RawServer("headers") as half:
        async with client(half, timeout=0.5) as api:
            with pytest.raises(APITimeoutError) as caught:
                await api.list_agents()
        assert_safe_text(caught.value)


async def test_a_stream_whose_ticket_call_never_answers_retries_then_gives_up() -> None:
    async with RawServer("silent") as silent, client(silent, timeout=0.5) as api:
        stream = ResumableStream(api, "ag", "c", max_retries=1, base_delay=0.01)
        events = await collect(stream)
    assert states(events) == ["connecting", "reconnecting", "connecting", "gave_up"]
    reconnecting = statuses(events)[1]
    assert "no answer in time" in (reconnecting.cause or "")
    assert "after 1 retries" in (statuses(events)[-1].cause or "")
    for status in statuses(events):
        assert API_KEY not in status.describe()


@pytest.mark.parametrize("mode", ["close", "garbage"])
async def test_a_server_that_drops_or_speaks_garbage_is_a_connection_error(mode: str) -> None:
    async with RawServer(mode) as odd, client(odd, timeout=2.0) as api:
        with pytest.raises(APIConnectionError) as caught:
            await api.list_agents()
    assert not isinstance(caught.value, APITimeoutError)
    assert_safe_text(caught.value)


async def test_error_bodies_that_are_json_but_odd_still_map_to_typed_errors(
    hostile: LoopbackServer,
) -> None:
    odd_bodies = [
        json.dumps({"message": {"nested": "x"}, "code": ["x"]}).encode(),
        json.dumps(["not", "an", "object"]).encode(),
        json.dumps({"message": ["a", 1, None, {"b": 2}], "code": "validation_error"}).encode(),
        b"\xff\xfe not even utf-8",
    ]
    for body in odd_bodies:
        hostile.canned["agents"].append(Canned(400, body))
    async with client(hostile) as api:
        for _ in odd_bodies:
            with pytest.raises(APIError) as caught:
                await api.list_agents()
            assert caught.value.status == 400
            assert_safe_text(caught.value)
