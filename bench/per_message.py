"""1. Per-message cost: one stream replaying a long backlog as fast as the server can send.

(a) the official SDK's async stream, (b) our `ResumableStream`, (c) a raw asyncio socket
that only counts frames, which also tells how fast the server sends, and (d) our
`ResumableStream` with its stream GET on httpx, the transport it had before aiohttp.
Each consumer runs in a fresh process, the four interleaved run by run, against one
server that serves the replay from its frame cache (warmed first) so that it is never
the bottleneck. The server serves the bench world's one conversation (the demo world's
shop texts, a message every 50 ms since the world's epoch): a 200,000-message replay
needs more history than the demo world's longest conversation has (about 100,000).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from bench.common import BenchError, DemoServerProcess, rest, rest_envelope, run_worker
from bench.context import Context
from bench.report import TIMES, Figure, Row, Target
from bimpe_tui import event_loop

SECTION = "1 per message"
CONSUMERS = ("sdk", "ours", "raw", "ours_httpx")
_READ_SIZE = 256 * 1024


def measure(ctx: Context) -> list[Row]:
    """Messages per second for each consumer, and the ratios b/a and b/c per run."""
    count = 50_000 if ctx.quick else 200_000
    rates: dict[str, list[float]] = {name: [] for name in CONSUMERS}
    b_over_a: list[float] = []
    b_over_c: list[float] = []
    # 512 MiB holds the whole replay (about 300 bytes a frame) with room to spare.
    world = ["--bench-conversations", "1"]
    with DemoServerProcess(["--seed", "7", "--replay-cache", "512", *world]) as server:
        params = replay_params(server, count)
        ctx.log(f"  replay of {count:,} messages of {params['conv']}; warming the server cache")
        run_worker("per_message.raw", params, timeout=120)
        for run in range(ctx.runs):
            got: dict[str, float] = {}
            for name in CONSUMERS:
                result = run_worker(f"per_message.{name}", params, timeout=60 + count / 20_000)
                if result["messages"] < count:
                    raise BenchError(f"{name} got {result['messages']} of {count} messages")
                got[name] = result["rate"]
                rates[name].append(result["rate"])
            b_over_a.append(got["ours"] / got["sdk"])
            b_over_c.append(got["ours"] / got["raw"])
            ctx.log(
                f"  run {run + 1}: sdk {got['sdk']:,.0f}  ours {got['ours']:,.0f}  "
                f"raw {got['raw']:,.0f}  ours on httpx {got['ours_httpx']:,.0f} msg/s"
            )
    metric = f"msg/s, one stream, {count:,}-message replay"
    return [
        Row(
            SECTION,
            metric,
            ours=Figure(rates["ours"], "msg/s"),
            sdk=Figure(rates["sdk"], "msg/s"),
            other=Figure(rates["raw"], "msg/s"),
            other_label="raw socket:",
        ),
        Row(
            SECTION,
            "ours / SDK (b/a)",
            ours=Figure(b_over_a, "x"),
            target=Target(">=", 4.0, f"≥ 4{TIMES}"),
        ),
        Row(SECTION, "ours / raw socket ceiling (b/c)", ours=Figure(b_over_c, "x")),
        Row(
            SECTION,
            "transport tried: ours with the stream GET on httpx (d)",
            ours=Figure(rates["ours_httpx"], "msg/s"),
        ),
    ]


def replay_params(server: DemoServerProcess, count: int) -> dict[str, Any]:
    """The busiest conversation, and the id of the message ``count`` before its newest."""
    best: tuple[int, str, str] | None = None
    for agent in server.api("/agents"):
        for conv in server.api(f"/agents/{agent['id']}/conversations?limit=100"):
            path = f"/agents/{agent['id']}/conversations/{conv['id']}/messages?limit=1"
            total = _total(server, path)
            if best is None or total > best[0]:
                best = (total, agent["id"], conv["id"])
    if best is None or best[0] <= count:
        raise BenchError("no conversation has enough history for the replay")
    _, agent_id, conv_id = best
    # Newest first, one per page: page count + 1 is the message `count` before the newest.
    path = f"/agents/{agent_id}/conversations/{conv_id}/messages?limit=1&page={count + 1}"
    after = server.api(path)[0]["id"]
    return {
        "base_url": server.base_url,
        "api_key": server.api_key,
        "agent": agent_id,
        "conv": conv_id,
        "after": after,
        "count": count,
    }


def _total(server: DemoServerProcess, path: str) -> int:
    return int(rest_envelope(server.base_url, server.api_key, path)["meta"]["total_count"])


# --- workers (each in its own process) ------------------------------------------------------


def worker(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one consumer over the replay; the rate counts from its first message to its last."""
    consumers = {"sdk": _sdk, "ours": _ours, "raw": _raw, "ours_httpx": _ours_httpx}
    main = asyncio.wait_for(consumers[kind](params), 300)
    if kind.startswith("ours"):
        # On the loop the app and `tail` pick at start-up (uvloop where installed).
        return event_loop.run(main)
    return asyncio.run(main)


def _result(messages: int, first: float, last: float, before_first: int = 1) -> dict[str, Any]:
    seconds = last - first
    rate = (messages - before_first) / seconds if seconds > 0 else float("nan")
    return {"messages": messages, "seconds": seconds, "rate": rate}


async def _timed(
    events: AsyncIterator[Any], count: int, only: type | None = None
) -> tuple[int, float, float]:
    """Read `events` until `count` have come (of type `only`, where given: the others are
    passed over): how many came, and when the first and the last did (perf_counter)."""
    n = 0
    first = 0.0
    async for event in events:
        if only is not None and not isinstance(event, only):
            continue
        n += 1
        if n == 1:
            first = time.perf_counter()
        elif n >= count:
            break
    return n, first, time.perf_counter()


async def _sdk(p: dict[str, Any]) -> dict[str, Any]:
    from bimpeai import AsyncBimpeAI

    count = p["count"]
    async with AsyncBimpeAI(api_key=p["api_key"], base_url=p["base_url"]) as client:
        stream = client.conversations.messages.stream(p["agent"], p["conv"], after=p["after"])
        n, first, last = await _timed(stream, count)
        await stream.aclose()  # type: ignore[attr-defined]
    return _result(n, first, last)


async def _ours_httpx(p: dict[str, Any]) -> dict[str, Any]:
    from bench.transports import httpx_client

    return await _ours(p, httpx_client(p["api_key"], p["base_url"]))


async def _ours(p: dict[str, Any], client: Any = None) -> dict[str, Any]:
    from bimpe_tui.api.client import ConsoleClient
    from bimpe_tui.api.models import Message
    from bimpe_tui.api.stream import ResumableStream

    count = p["count"]
    if client is None:
        client = ConsoleClient(p["api_key"], p["base_url"])
    try:
        async with ResumableStream(client, p["agent"], p["conv"], after=p["after"]) as stream:
            n, first, last = await _timed(stream, count, only=Message)
    finally:
        await client.aclose()
    return _result(n, first, last)


async def _raw(p: dict[str, Any]) -> dict[str, Any]:
    """Count ``\\n\\n`` in the bytes: the cheapest consumer there can be."""
    ticket = rest(
        p["base_url"],
        p["api_key"],
        f"/agents/{p['agent']}/conversations/{p['conv']}/stream-ticket",
        method="POST",
    )["ticket"]
    url = urlsplit(p["base_url"])
    assert url.hostname == "127.0.0.1"
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    path = (
        f"/api/v1/console/agents/{p['agent']}/conversations/{p['conv']}/stream"
        f"?ticket={ticket}&after={p['after']}"
    )
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    count = p["count"]
    n = 0
    in_first = 0
    first = 0.0
    ended_with_newline = False
    try:
        while n < count:
            data = await reader.read(_READ_SIZE)
            if not data:
                break
            frames = data.count(b"\n\n")
            # A frame's blank line may be split across two reads.
            if ended_with_newline and data[:1] == b"\n":
                frames += 1
            ended_with_newline = data[-1:] == b"\n" and data[-2:] != b"\n\n"
            n += frames
            if not first:
                first = time.perf_counter()
                in_first = frames
        last = time.perf_counter()
    finally:
        writer.close()
    return _result(n, first, last, before_first=in_first)
