"""2. Many conversations: 200 streams at once in one process, 20 messages a second each.

The server runs the uniform bench world (200 conversations, one message every 50 ms
each, phases spread so the 4,000 msg/s arrive evenly). Each consumer — ours (one
`ConsoleClient`, a `ResumableStream` per conversation) and the official SDK's (one
`AsyncBimpeAI`) — runs alone in a fresh process, one after the other; so does ours with
its stream GETs on httpx (the transport before aiohttp), a transport tried.

"Steady" figures (lag percentiles, CPU) cover the window that starts 2 s after every
stream has delivered (or, if some never do, a third of the way into the run) and
ends with the run.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from typing import Any

from bench.common import (
    DemoServerProcess,
    busy_cpu_seconds,
    conversation_pairs,
    parse_iso,
    peak_rss_mb,
    percentile,
    run_worker,
)
from bench.context import Context
from bench.report import Figure, Row, Target
from bimpe_tui import event_loop

SECTION = "2 many streams"
STREAMS = 200
PERIOD = 0.05
SETTLE = 2.0
CONSUMERS = ("ours", "sdk", "ours_httpx")


def measure(ctx: Context) -> list[Row]:
    """Start-up, lag, CPU and RSS for 200 streams, ours and the SDK's, run by run."""
    duration = 10.0 if ctx.quick else 30.0
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in CONSUMERS}
    notes: dict[str, str] = {}
    server_cpu: list[float] = []
    others: list[float] = []
    args = ["--bench-conversations", str(STREAMS), "--bench-period", str(PERIOD)]
    with DemoServerProcess(args) as server:
        pairs = conversation_pairs(server, expected=STREAMS)
        params = {
            "base_url": server.base_url,
            "api_key": server.api_key,
            "pairs": pairs,
            "duration": duration,
        }
        for run in range(ctx.runs):
            for name in CONSUMERS:
                cpu_before, busy_before = server.cpu_seconds(), busy_cpu_seconds()
                started = time.perf_counter()
                result = run_worker(f"many_streams.{name}", params, timeout=duration + 90)
                elapsed = time.perf_counter() - started
                cpu_after, busy_after = server.cpu_seconds(), busy_cpu_seconds()
                if (
                    cpu_before is not None
                    and cpu_after is not None
                    and busy_before is not None
                    and busy_after is not None
                ):
                    served = cpu_after - cpu_before
                    if name == "ours":
                        server_cpu.append(100 * served / elapsed)
                    # Whatever else ran on the machine meanwhile competes for its cores.
                    other = busy_after - busy_before - served - result["cpu_total_s"]
                    others.append(100 * max(0.0, other) / elapsed)
                for key, value in result.items():
                    if isinstance(value, int | float):
                        figures[name].setdefault(key, []).append(float(value))
                if result["streams_delivering"] < STREAMS:
                    notes[name] = f"{result['streams_delivering']:.0f}/{STREAMS} delivered"
                ctx.log(
                    f"  run {run + 1} {name}: {result['streams_delivering']}/{STREAMS} "
                    f"delivering after {result['all_delivering_s']:.2f} s, "
                    f"p99 {result['lag_p99_ms']:.1f} ms, cpu {result['cpu_pct']:.1f} %, "
                    f"rss {result['peak_rss_mb']:.0f} MB"
                )
    ctx.note(
        "2: lag = receive time - the message's server created_at (ms resolution; the "
        f"server wakes ~1 ms after a message is due). Server CPU during our runs: "
        f"{_median(server_cpu):.0f} % of a core; CPU used outside both processes meanwhile "
        f"(other processes, kernel loopback work): {_median(others):.0f} % of a core (median), "
        f"{max(others, default=0):.0f} % (max)."
    )
    if "sdk" in notes:
        ctx.note(
            "2: the official SDK uses httpx's default pool (100 connections): streams "
            "101-200 never get one, so its figures cover the streams that did connect."
        )

    def pair(key: str, unit: str) -> tuple[Figure, Figure]:
        ours = Figure(figures["ours"].get(key, []), unit)
        sdk = Figure(figures["sdk"].get(key, []), unit)
        return ours, sdk

    rows: list[Row] = []
    ours, sdk = pair("all_delivering_s", "s")
    ours.note, sdk.note = notes.get("ours", ""), notes.get("sdk", "")
    rows.append(
        Row(SECTION, f"all {STREAMS} streams delivering after", ours, sdk, target=_lt(0.5, "s"))
    )
    for key, label, target in (
        ("lag_p50_ms", "delivery lag p50 (steady)", None),
        ("lag_p99_ms", "delivery lag p99 (steady)", _lt(5.0, "ms")),
        ("lag_max_ms", "delivery lag max (steady)", None),
    ):
        ours, sdk = pair(key, "ms")
        rows.append(Row(SECTION, label, ours, sdk, target=target))
    ours, sdk = pair("cpu_pct", "%")
    rows.append(
        Row(SECTION, "consumer CPU, % of one core (steady)", ours, sdk, target=_lt(20.0, "%"))
    )
    ours, sdk = pair("peak_rss_mb", "MB")
    rows.append(Row(SECTION, "consumer peak RSS", ours, sdk))
    ours, sdk = pair("msgs_per_s", "msg/s")
    rows.append(Row(SECTION, "messages delivered per second (steady)", ours, sdk))
    tried = figures["ours_httpx"]
    for key, label, unit in (
        ("cpu_pct", "consumer CPU", "%"),
        ("all_delivering_s", f"all {STREAMS} delivering after", "s"),
        ("lag_p99_ms", "delivery lag p99", "ms"),
    ):
        rows.append(
            Row(
                SECTION,
                f"transport tried: ours on httpx, {label}",
                ours=Figure(tried.get(key, []), unit),
            )
        )
    return rows


def _lt(value: float, unit: str) -> Target:
    return Target("<", value, f"< {value:g} {unit}")


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values) if values else float("nan")


# --- worker (its own process) -----------------------------------------------------------


def worker(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Watch every conversation for ``duration`` seconds with one consumer."""
    main = asyncio.wait_for(_watch(kind, params), params["duration"] + 60)
    if kind == "sdk":
        # The SDK as its users run it: on the standard loop.
        return asyncio.run(main)
    # Ours on the loop the app picks at start-up (uvloop where installed).
    return event_loop.run(main)


async def _watch(kind: str, p: dict[str, Any]) -> dict[str, Any]:
    pairs = [(str(agent), str(conv)) for agent, conv in p["pairs"]]
    count = len(pairs)
    duration: float = p["duration"]
    first = [0.0] * count
    delivering = 0
    all_at = 0.0
    received_at = array("d")
    lags = array("d")
    perf_counter, wall = time.perf_counter, time.time

    def on_message(slot: int, created_at: str) -> None:
        nonlocal delivering, all_at
        t = perf_counter()
        lag = wall() - parse_iso(created_at)
        if not first[slot]:
            first[slot] = t
            delivering += 1
            if delivering == count:
                all_at = t
        received_at.append(t)
        lags.append(lag)

    started = perf_counter()
    closers, consumers = _consumers(kind, p, pairs, on_message)
    tasks = [asyncio.create_task(consume) for consume in consumers]
    end = started + duration
    steady_from = 0.0
    cpu_from = 0.0
    while (t := perf_counter()) < end:
        await asyncio.sleep(0.05)
        if not steady_from:
            ready = all_at + SETTLE if all_at else started + duration / 3 + SETTLE
            if t >= ready:
                steady_from, cpu_from = perf_counter(), time.process_time()
    steady_to, cpu_to = perf_counter(), time.process_time()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for close in closers:
        await close()
    steady = [lag * 1000 for at, lag in zip(received_at, lags, strict=True) if at >= steady_from]
    window = steady_to - steady_from if steady_from else float("nan")
    return {
        "streams_delivering": delivering,
        "all_delivering_s": (all_at - started) if all_at else float("nan"),
        "lag_p50_ms": percentile(steady, 50),
        "lag_p99_ms": percentile(steady, 99),
        "lag_max_ms": max(steady) if steady else float("nan"),
        "cpu_pct": 100 * (cpu_to - cpu_from) / window if steady_from else float("nan"),
        "msgs_per_s": len(steady) / window if steady_from else float("nan"),
        "peak_rss_mb": peak_rss_mb(),
        "messages": len(lags),
        "wall": perf_counter() - started,
        "cpu_total_s": time.process_time(),
    }


def _consumers(kind: str, p: dict[str, Any], pairs: list[tuple[str, str]], on_message: Any) -> Any:
    if kind.startswith("ours"):
        from bench.transports import httpx_client
        from bimpe_tui.api.client import ConsoleClient
        from bimpe_tui.api.models import Message
        from bimpe_tui.api.stream import ResumableStream

        client = (
            httpx_client(p["api_key"], p["base_url"])
            if kind == "ours_httpx"
            else ConsoleClient(p["api_key"], p["base_url"])
        )

        async def ours(slot: int, agent_id: str, conv_id: str) -> None:
            async with ResumableStream(client, agent_id, conv_id) as stream:
                async for event in stream:
                    if isinstance(event, Message):
                        on_message(slot, event.created_at)

        return [client.aclose], [ours(n, a, c) for n, (a, c) in enumerate(pairs)]

    from bimpeai import AsyncBimpeAI

    sdk = AsyncBimpeAI(api_key=p["api_key"], base_url=p["base_url"])

    async def theirs(slot: int, agent_id: str, conv_id: str) -> None:
        async for event in sdk.conversations.messages.stream(agent_id, conv_id):
            on_message(slot, event.created_at)

    return [sdk.aclose], [theirs(n, a, c) for n, (a, c) in enumerate(pairs)]
