"""3. The terminal: the real app, headless (``App.run_test``), fed by a separate server.

The demo server runs with ``--control``: its clock is frozen, and the worker moves it to
make exactly N messages of the open conversation fall due at once, or lets it run at a
speed that gives R messages a second. The worker computes which message is due when
from the same seed (the world is a pure function of seed and clock). Burst, sustained
and RSS run on the uniform bench world (``--bench-conversations``): the demo world's
conversations live a few thousand messages at most, and a million must pass through
the open one. Idle runs on the demo world, as a user would leave the app.

* burst: 10,000 messages due at once; the time until the timeline holds the last one
  and the screen has been refreshed after the log took it in.
* sustained: a ladder of rates, each held for a few seconds while ``tab`` is pressed
  every 0.2 s; a rate is kept up with when every key press was handled (focus moved)
  within 100 ms and the backlog left when the clock stops drains within 0.25 s.
* RSS: 1,000,000 messages through the open conversation in bursts of 50,000 (quick:
  100,000 in bursts of 20,000); the process's peak RSS afterwards.
* idle: 10 conversations watched, every stream live, the server's clock stopped (only
  heartbeats arrive); the app's CPU over 30 s (quick: 10 s), % of one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import DemoServerProcess, peak_rss_mb, percentile, rest, run_worker
from bench.context import Context
from bench.report import Figure, Row, Target
from bimpe_tui import event_loop

SECTION = "3 terminal"
SEED = 7
BURST = 10_000
LADDER = (250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000)
TARGET_RATE = 1_000
KEY_BUDGET = 0.1
DRAIN_BUDGET = 0.25
PROBE_EVERY = 0.2
SIZE = (120, 40)
IDLE_WATCHED = 10
#: The bench world: ten conversations, each writing every 5 s of the server's clock (a
#: busy demo conversation's pace), none ever ending.
BENCH_CONVERSATIONS = 10
BENCH_PERIOD = 5.0


def measure(ctx: Context) -> list[Row]:
    """Burst, sustained rate with responsive keys, and RSS after many messages."""
    hold = 1.0 if ctx.quick else 3.0
    total = 100_000 if ctx.quick else 1_000_000
    step = 10_000 if ctx.quick else 50_000
    budget = 10.0 if ctx.quick else 90.0
    keys: dict[str, list[float]] = {}
    rss: dict[str, list[float]] = {}
    idle: list[float] = []
    world_args = ["--bench-conversations", str(BENCH_CONVERSATIONS)]
    world_args += ["--bench-period", str(BENCH_PERIOD)]
    with DemoServerProcess(["--seed", str(SEED), "--control", *world_args]) as server:
        base = {"base_url": server.base_url, "api_key": server.api_key, "seed": SEED}
        for run in range(ctx.runs):
            result = run_worker("terminal.interactive", {**base, "hold": hold}, timeout=300)
            for key, value in result.items():
                if isinstance(value, int | float):
                    keys.setdefault(key, []).append(float(value))
            ctx.log(
                f"  run {run + 1}: burst {result['burst_s']:.2f} s "
                f"(timeline {result['burst_timeline_s']:.2f} s); sustained "
                f"{result['sustained']:,.0f} msg/s; keys at 1,000 msg/s max "
                f"{result['key_max_ms_at_1000']:.0f} ms; ladder {result['ladder']}"
            )
        rss_runs = 1 if ctx.quick else min(ctx.runs, 3)
        for run in range(rss_runs):
            params = {**base, "total": total, "step": step, "budget": budget}
            result = run_worker("terminal.rss", params, timeout=2 * budget + 120)
            for key, value in result.items():
                if isinstance(value, int | float):
                    rss.setdefault(key, []).append(float(value))
            ctx.log(
                f"  rss run {run + 1}: {result['peak_rss_mb']:.0f} MB after "
                f"{result['messages']:,} messages "
                f"({result['msgs_per_s']:,.0f} msg/s; {result['rss_ready_mb']:.0f} MB when ready)"
            )
    with DemoServerProcess(["--seed", str(SEED), "--control"]) as server:
        base = {"base_url": server.base_url, "api_key": server.api_key, "seed": SEED}
        for run in range(rss_runs):
            params = {**base, "watched": IDLE_WATCHED, "seconds": 10.0 if ctx.quick else 30.0}
            result = run_worker("terminal.idle", params, timeout=240)
            idle.append(float(result["cpu_pct"]))
            ctx.log(
                f"  idle run {run + 1}: {result['cpu_pct']:.2f} % of a core, "
                f"{result['watched']} watched"
            )
    if rss_runs < ctx.runs:
        plural = "s" if rss_runs != 1 else ""
        ctx.note(f"3: RSS after {total:,} messages: {rss_runs} run{plural} (each up to a minute).")
    reached = min(rss.get("messages", [0]))
    rss_note = ""
    if reached < total:
        rss_note = f"only {reached:,.0f} msgs in {budget:.0f} s"
        ctx.note(
            f"3: the RSS run stops after {budget:.0f} s: the app took in only {reached:,.0f} of "
            f"{total:,} messages in that time, so the RSS figure is for that many."
        )
    ctx.note(
        "3: sustained = the highest rate of the ladder "
        f"{', '.join(f'{r:,}' for r in LADDER)} msg/s (each held {hold:g} s) at which every "
        f"tab press moved focus within {KEY_BUDGET * 1000:.0f} ms and the backlog drained within "
        f"{DRAIN_BUDGET:g} s of the clock stopping."
    )
    return [
        Row(
            SECTION,
            f"{BURST:,}-message burst on screen",
            ours=Figure(keys.get("burst_s", []), "s"),
            other=Figure(keys.get("burst_timeline_s", []), "s"),
            other_label="in timeline:",
            target=Target("<", 1.0, "< 1 s"),
        ),
        Row(
            SECTION,
            "sustained msg/s with key presses < 100 ms",
            ours=Figure(keys.get("sustained", []), "msg/s"),
            target=Target(">=", 1000, "≥ 1,000"),
        ),
        Row(
            SECTION,
            "key press at 1,000 msg/s, max",
            ours=Figure(keys.get("key_max_ms_at_1000", []), "ms"),
            other=Figure(keys.get("key_p50_ms_at_1000", []), "ms"),
            other_label="p50:",
            target=Target("<", 100, "< 100 ms"),
        ),
        Row(
            SECTION,
            f"peak RSS after {total:,} messages",
            ours=Figure(rss.get("peak_rss_mb", []), "MB", note=rss_note),
            other=Figure(rss.get("rss_ready_mb", []), "MB"),
            other_label="when ready:",
            target=Target("<", 150, "< 150 MB"),
        ),
        Row(
            SECTION,
            f"bulk throughput ({step:,}-message bursts)",
            ours=Figure(rss.get("msgs_per_s", []), "msg/s"),
        ),
        Row(
            SECTION,
            f"app idle, {IDLE_WATCHED} conversations watched: CPU",
            ours=Figure(idle, "%"),
            target=Target("<", 0.5, "< 0.5 %"),
        ),
    ]


# --- workers (each in its own process) --------------------------------------------------------


def worker(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Start the app headless against the server, then run the burst+ladder, RSS or idle test."""
    # On the loop the app picks at start-up (uvloop where installed).
    return event_loop.run(asyncio.wait_for(_with_app(kind, params), 900))


class _Driver:
    """Moves the server's clock and waits on the app; knows the open conversation."""

    def __init__(self, app: Any, params: dict[str, Any]) -> None:
        from bimpe_tui.demo.world import DemoWorld

        self.app = app
        self.params = params
        # Which message is due when: only burst, sustained and RSS ask, on the bench world.
        self.world = DemoWorld(
            seed=params["seed"], bench_conversations=BENCH_CONVERSATIONS, bench_period=BENCH_PERIOD
        )
        self.conv: str = app.monitor.current

    async def clock(self, **body: float) -> float:
        """POST the server's clock control; returns the clock's new reading."""
        data = await asyncio.to_thread(
            rest,
            self.params["base_url"],
            self.params["api_key"],
            "/_demo/clock",
            method="POST",
            body=body,
        )
        return float(data["now"])

    def last_index(self) -> int:
        """Index of the newest message in the open conversation's timeline."""
        last = self.app.monitor.book.get(self.conv).timeline.last_message
        parsed = self.world.parse_message_id(last.id) if last is not None else None
        if parsed is None:
            raise RuntimeError("the open conversation has no demo message")
        return parsed[1]

    async def until(self, predicate: Callable[[], bool], limit: float) -> None:
        """Wait until ``predicate()`` holds, re-checking whenever the app applied events."""
        updated: asyncio.Event = self.app.updated
        async with asyncio.timeout(limit):
            while not predicate():
                updated.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(updated.wait(), 0.05)

    async def refreshed(self) -> None:
        """Wait until the screen has been refreshed after everything queued so far."""
        done = asyncio.Event()
        self.app.call_after_refresh(done.set)
        await asyncio.wait_for(done.wait(), 30)

    async def deliver(self, target: int, limit: float) -> None:
        """Make messages up to ``target`` due and wait until the timeline has them."""
        await self.clock(now=self.world.time_of(self.conv, target))
        await self.until(lambda: self.last_index() >= target, limit)


async def _with_app(kind: str, p: dict[str, Any]) -> dict[str, Any]:
    from bimpe_tui.app import AppConfig, BimpeApp
    from bimpe_tui.state import StateStore

    with tempfile.TemporaryDirectory() as tmp:
        app = BimpeApp(
            AppConfig(
                state=StateStore(Path(tmp) / "state.toml"),
                api_key=p["api_key"],
                base_url=p["base_url"],
            )
        )
        async with app.run_test(size=SIZE) as pilot:
            # On the demo world (the idle run) the first conversation may be a
            # newcomer with no message yet.
            await _ready(app, with_message=kind != "idle")
            # Burst, sustained and RSS run on the bench world, whose conversations
            # never end: the one the app opened takes the clock as far as it goes.
            await pilot.pause()
            driver = _Driver(app, p)
            await driver.clock(speed=0)
            if kind == "interactive":
                result = await _interactive(driver, p["hold"])
            elif kind == "idle":
                result = await _idle(driver, p["watched"], p["seconds"])
            else:
                result = await _rss(driver, p["total"], p["step"], p["budget"])
            app.exit()
    return result


async def _idle(driver: _Driver, watched: int, seconds: float) -> dict[str, Any]:
    """Watch `watched` conversations, wait until all are live, then measure CPU at rest."""
    app = driver.app
    for conversation_id in app.order[:watched]:
        app.monitor.watch(conversation_id)

    def all_live() -> bool:
        entries = app.monitor.book.watched()
        return len(entries) >= watched and all(
            e.status is not None and e.status.state in ("live", "resumed") for e in entries
        )

    await driver.until(all_live, 60)
    # Let the start-up work (history pages, first paints) settle first.
    await asyncio.sleep(2.0)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    used = time.process_time() - cpu
    return {
        "cpu_pct": 100 * used / (time.perf_counter() - wall),
        "watched": len(app.monitor.book.watched()),
    }


async def _ready(app: Any, *, with_message: bool = True) -> None:
    def ready() -> bool:
        entry = app.monitor.reading.open_entry()
        return bool(
            app.monitor.ready
            and entry is not None
            and entry.live
            and (entry.timeline.last_message is not None or not with_message)
        )

    updated: asyncio.Event = app.updated
    async with asyncio.timeout(60):
        while not ready():
            updated.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(updated.wait(), 0.05)


async def _interactive(driver: _Driver, hold: float) -> dict[str, Any]:
    result: dict[str, Any] = {}
    # The burst: BURST messages due at once.
    target = driver.last_index() + BURST
    due = driver.world.time_of(driver.conv, target)
    started = time.perf_counter()
    await driver.clock(now=due)
    await driver.until(lambda: driver.last_index() >= target, 60)
    in_timeline = time.perf_counter()
    await driver.refreshed()
    result["burst_s"] = time.perf_counter() - started
    result["burst_timeline_s"] = in_timeline - started
    await asyncio.sleep(0.5)

    # The ladder: rates held while tab is pressed, up to the first one not kept up with;
    # the target rate is always measured, so its key latency is known either way.
    probe = _KeyProbe(driver.app)
    sustained = 0
    failed = False
    ladder: list[str] = []
    for rate in LADDER:
        if failed and rate != TARGET_RATE:
            if rate > TARGET_RATE:
                break
            continue
        step = await _hold_rate(driver, probe, rate, hold)
        ok = step["key_max_ms"] < KEY_BUDGET * 1000 and step["drain_s"] < DRAIN_BUDGET
        ladder.append(
            f"{rate}:{'ok' if ok else 'no'}(keys max {step['key_max_ms']:.0f} ms, "
            f"drain {step['drain_s']:.2f} s)"
        )
        if rate == TARGET_RATE:
            result["key_max_ms_at_1000"] = step["key_max_ms"]
            result["key_p50_ms_at_1000"] = step["key_p50_ms"]
        if ok and not failed:
            sustained = rate
        failed = failed or not ok
    result.setdefault("key_max_ms_at_1000", float("nan"))
    result.setdefault("key_p50_ms_at_1000", float("nan"))
    result["sustained"] = sustained
    result["ladder"] = " ".join(ladder)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


class _KeyProbe:
    """Presses tab and times how long until focus has moved (the key was handled)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._pressed = 0.0
        self._handled = asyncio.Event()
        self.latencies: list[float] = []
        app.watch(app.screen, "focused", self._moved, init=False)

    def _moved(self) -> None:
        if self._pressed:
            self.latencies.append(time.perf_counter() - self._pressed)
            self._pressed = 0.0
            self._handled.set()

    async def press(self, limit: float = 2.0) -> None:
        """Press tab once and wait (bounded) until it is handled."""
        from textual import events

        self._handled.clear()
        self._pressed = time.perf_counter()
        self.app.post_message(events.Key("tab", None))
        try:
            await asyncio.wait_for(self._handled.wait(), limit)
        except TimeoutError:
            self.latencies.append(limit)
            self._pressed = 0.0


async def _hold_rate(driver: _Driver, probe: _KeyProbe, rate: int, hold: float) -> dict[str, float]:
    world, conv = driver.world, driver.conv
    first = driver.last_index()
    # The mean gap between messages is the conversation's period (its jitter averages out).
    period = (world.time_of(conv, first + 1000) - world.time_of(conv, first)) / 1000
    probe.latencies.clear()
    started = time.perf_counter()
    await driver.clock(speed=rate * period)
    next_probe = started
    while next_probe < started + hold:
        await probe.press()
        next_probe += PROBE_EVERY
        await asyncio.sleep(max(0.0, next_probe - time.perf_counter()))
    stopped_at = await driver.clock(speed=0)
    stopped = time.perf_counter()
    target = world.latest_index(conv, stopped_at)
    try:
        await driver.until(lambda: driver.last_index() >= target, 60)
        drain = time.perf_counter() - stopped
    except TimeoutError:
        drain = float("inf")
    await driver.refreshed()
    latencies_ms = [lat * 1000 for lat in probe.latencies]
    return {
        "messages": target - first,
        "offered": (target - first) / (stopped - started),
        "drain_s": drain,
        "key_max_ms": max(latencies_ms, default=float("nan")),
        "key_p50_ms": percentile(latencies_ms, 50),
    }


async def _rss(driver: _Driver, total: int, step: int, budget: float) -> dict[str, Any]:
    ready_rss = peak_rss_mb()
    start = driver.last_index()
    started = time.perf_counter()
    delivered = 0
    # Bounded in time as well as in messages: a slow app must not hold the bench hostage.
    while delivered < total and (elapsed := time.perf_counter() - started) < budget:
        size = min(step, total - delivered)
        if delivered:
            # Size the step to what fits in the budget left, so a slow app stops near it.
            rate = delivered / elapsed
            size = min(size, max(1_000, int(rate * (budget - elapsed))))
        await driver.deliver(start + delivered + size, limit=budget + 60)
        delivered += size
    await driver.refreshed()
    elapsed = time.perf_counter() - started
    return {
        "messages": delivered,
        "msgs_per_s": delivered / elapsed,
        "peak_rss_mb": peak_rss_mb(),
        "rss_ready_mb": ready_rss,
    }
