"""5. Reconnect: from a server-side drop to the first message on the new connection.

The server runs one bench conversation sending a message every 20 ms, with the
control endpoints on. The consumer process runs our `ResumableStream` with default
settings; for each drop it queues a ``drop`` fault over the control channel (the server
wakes the stream and resets its connection at once) and times from just before that
request to the first message delivered on the next connection. The messages created
meanwhile replay at once, so what is measured is detection, back-off, ticket and GET.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import DemoServerProcess, conversation_pairs, percentile, rest, run_worker
from bench.context import Context
from bench.report import Figure, Row, Target

SECTION = "5 reconnect"
PERIOD = 0.02
_SETTLE = 0.05


def measure(ctx: Context) -> list[Row]:
    """p50 and p99 of drop-to-first-message over a series of drops, per run."""
    drops = 15 if ctx.quick else 50
    p50: list[float] = []
    p99: list[float] = []
    delays: list[float] = []
    args = ["--bench-conversations", "1", "--bench-period", str(PERIOD), "--control"]
    with DemoServerProcess(args) as server:
        agent_id, conv_id = conversation_pairs(server)[0]
        params = {
            "base_url": server.base_url,
            "api_key": server.api_key,
            "agent": agent_id,
            "conv": conv_id,
            "drops": drops,
        }
        for run in range(ctx.runs):
            result = run_worker("reconnect.ours", params, timeout=60 + drops * 3)
            p50.append(result["p50_ms"])
            p99.append(result["p99_ms"])
            delays.append(result["backoff_p50_ms"])
            ctx.log(
                f"  run {run + 1}: p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms "
                f"over {result['drops']} drops (back-off drawn: p50 "
                f"{result['backoff_p50_ms']:.0f} ms)"
            )
    ctx.note(
        f"5: {drops} drops per run; default settings, so the first retry waits a uniform "
        "random 0-0.5 s (full jitter), which is most of the figure ('back-off' column)."
    )
    return [
        Row(
            SECTION,
            "drop to first message, p50",
            ours=Figure(p50, "ms"),
            other=Figure(delays, "ms"),
            other_label="back-off p50:",
            target=Target("<", 600, "< 600 ms"),
        ),
        Row(SECTION, "drop to first message, p99", ours=Figure(p99, "ms")),
    ]


# --- worker (its own process) -----------------------------------------------------------------


def worker(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Drop the connection ``drops`` times and time each recovery."""
    assert kind == "ours"
    return asyncio.run(asyncio.wait_for(_drops(params), 60 + params["drops"] * 3))


async def _drops(p: dict[str, Any]) -> dict[str, Any]:
    from bimpe_tui.api.client import ConsoleClient
    from bimpe_tui.api.models import Message
    from bimpe_tui.api.stream import ResumableStream, StreamStatus

    client = ConsoleClient(p["api_key"], p["base_url"])
    recoveries: list[float] = []
    backoffs: list[float] = []
    dropped_at = 0.0
    connection = 0
    ready = asyncio.Event()

    async def inject() -> None:
        await asyncio.to_thread(
            rest,
            p["base_url"],
            p["api_key"],
            "/_demo/faults",
            method="POST",
            body={"kind": "drop", "after_messages": 0},
        )

    async def drive() -> None:
        nonlocal dropped_at
        for _ in range(p["drops"]):
            await ready.wait()
            ready.clear()
            await asyncio.sleep(_SETTLE)
            dropped_at = time.perf_counter()
            await inject()
        await ready.wait()

    try:
        async with ResumableStream(client, p["agent"], p["conv"]) as stream:
            driver = asyncio.create_task(drive())
            async for event in stream:
                if isinstance(event, StreamStatus):
                    if event.state == "reconnecting" and event.delay is not None:
                        backoffs.append(event.delay)
                    continue
                if not isinstance(event, Message) or stream.connections == connection:
                    continue
                # The first message on a new connection.
                connection = stream.connections
                if dropped_at:
                    recoveries.append(time.perf_counter() - dropped_at)
                    dropped_at = 0.0
                ready.set()
                if len(recoveries) >= p["drops"]:
                    break
            await asyncio.wait_for(driver, 5)
    finally:
        await client.aclose()
    ms = [r * 1000 for r in recoveries]
    return {
        "drops": len(ms),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms, default=float("nan")),
        "backoff_p50_ms": percentile([b * 1000 for b in backoffs], 50),
    }
