"""A server that cannot be reached is named: host, port and why, never the key.

Against a real closed port on 127.0.0.1 (a socket bound, its port noted, closed):
the REST client (httpx) and the stream transport (aiohttp, the ticket POST and the
stream GET) each say ``cannot reach 127.0.0.1:<port> (connection refused)``.
"""

from __future__ import annotations

import socket
import ssl

import aiohttp
import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.errors import APIConnectionError, unreachable
from bimpe_tui.api.transport import StreamTransport, describe_stream_failure

KEY = "sk_secret_unreachable_0123456789"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_rest_call_names_the_host_and_port(closed_port: int) -> None:
    async with ConsoleClient(KEY, f"http://127.0.0.1:{closed_port}", max_retries=0) as api:
        with pytest.raises(APIConnectionError) as caught:
            await api.list_agents()
    text = str(caught.value)
    assert text.endswith(f": cannot reach 127.0.0.1:{closed_port} (connection refused)")
    assert KEY not in text


async def test_a_stream_ticket_call_names_the_host_and_port(closed_port: int) -> None:
    # The ticket POST goes through the stream transport (aiohttp), not httpx.
    async with ConsoleClient(KEY, f"http://127.0.0.1:{closed_port}", max_retries=0) as api:
        with pytest.raises(APIConnectionError) as caught:
            await api.create_stream_ticket("ag_1", "c_1")
    text = str(caught.value)
    assert text.endswith(f": cannot reach 127.0.0.1:{closed_port} (connection refused)")
    assert KEY not in text


async def test_a_stream_get_is_described_with_the_host_and_port(closed_port: int) -> None:
    transport = StreamTransport(tls=ssl.create_default_context(), user_agent="t", proxy=None)
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            async with transport.open(
                f"http://127.0.0.1:{closed_port}/stream", {"ticket": KEY}, read_timeout=5.0
            ):
                pass
    finally:
        await transport.aclose()
    words = describe_stream_failure(caught.value)
    assert words == (f"cannot reach 127.0.0.1:{closed_port} (connection refused)", False)


def test_the_words_for_each_kind_of_host() -> None:
    assert unreachable("127.0.0.1", 9, "connection refused") == (
        "cannot reach 127.0.0.1:9 (connection refused)"
    )
    assert unreachable("::1", 9, None) == "cannot reach [::1]:9"
    assert unreachable("api.example", None, "host name not found") == (
        "cannot reach api.example (host name not found)"
    )
    assert unreachable(None, None, "connection refused") == "cannot connect (connection refused)"
    # A host is the user's (or a server's redirect): shown safely.
    assert unreachable("evil\x1b]0;x\x07", 1, None) == "cannot reach evil\\x1b]0;x\\x07:1"
