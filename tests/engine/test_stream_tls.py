"""Streams over TLS: one verified context for REST and streams, and plain words on failure.

A real loopback server serves HTTPS with a certificate from a throwaway
authority (trustme). Trusting that authority in the client's one TLS context
makes the ticket call (httpx) and the stream GET (aiohttp) both work; not
trusting it fails both, saying it is the certificate, never a timeout.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import trustme

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.stream import ResumableStream
from bimpe_tui.api.transport import describe_stream_failure
from tests.loopback import API_KEY, LoopbackServer, Reply, frame
from tests.streamkit import collect, count_messages, messages, statuses

CERTIFICATE_WORDS = "the server's TLS certificate is not trusted"


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_server(authority: trustme.CA) -> AsyncIterator[LoopbackServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = LoopbackServer(tls=context)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_one_trusted_context_carries_the_ticket_call_and_the_stream(
    tls_server: LoopbackServer, authority: trustme.CA
) -> None:
    tls_server.add_streams([Reply(chunks=[frame("m_1"), frame("m_2")], then="hang")])
    async with ConsoleClient(API_KEY, tls_server.base_url) as api:
        # The same context object the stream transport holds: trusting the
        # authority once must be enough for both transports.
        authority.configure_trust(api._tls)
        events = await collect(
            ResumableStream(api, "ag_1", "c_1", reconnect=False), count_messages(2)
        )
    assert [m.id for m in messages(events)] == ["m_1", "m_2"]
    assert tls_server.base_url.startswith("https://")
    assert all("authorization" not in {k.lower() for k in h} for h in tls_server.stream_headers)


async def test_an_untrusted_certificate_is_named_as_such(tls_server: LoopbackServer) -> None:
    async with ConsoleClient(API_KEY, tls_server.base_url) as api:
        events = await collect(ResumableStream(api, "ag_1", "c_1", max_retries=1, base_delay=0))
    final = statuses(events)[-1]
    assert final.state == "gave_up"
    assert CERTIFICATE_WORDS in (final.cause or "")
    assert "timed out" not in (final.cause or "")
    assert tls_server.tickets == []


async def test_the_stream_transport_names_an_untrusted_certificate(
    tls_server: LoopbackServer,
) -> None:
    # The ticket call cannot get through either, so the stream GET is
    # opened directly: its failure has its own words.
    async with ConsoleClient(API_KEY, tls_server.base_url) as api:
        with pytest.raises(aiohttp.ClientConnectorCertificateError) as failure:
            async with api.open_event_stream(
                "ag_1", "c_1", ticket="tk_x", after=None, read_timeout=5
            ):
                pass
    assert describe_stream_failure(failure.value) == (CERTIFICATE_WORDS, False)
    assert tls_server.stream_queries == []
