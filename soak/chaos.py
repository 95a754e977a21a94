"""The chaos soak: the real app, headless, watching many conversations under every fault.

At the end each conversation's timeline in the app is compared with the demo
server's record (the world is a pure function of seed and clock, so the
server's messages are known exactly): lost, duplicated and out-of-order
messages are counted per conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import resource
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.demo.faults import FaultPlan
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.state import StateStore

#: Demo world speed: the busiest conversation sends one message every 0.4 s.
RATE = 10.0
#: In the uniform world used for more conversations than the demo world has:
#: one message per conversation every 1.5 s.
BENCH_PERIOD = 15.0


@dataclass
class ConversationResult:
    """How one conversation's timeline compares with the server's record."""

    conversation_id: str
    delivered: int
    lost: int
    duplicated: int
    out_of_order: int
    reconnects: int


@dataclass
class SoakReport:
    """Everything the soak measured."""

    seconds: float = 0.0
    conversations: list[ConversationResult] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    gave_up: int = 0
    #: Chosen conversations the watch limit had let go by the end, opened again.
    rewatched: int = 0
    peak_rss_mb: float = 0.0

    @property
    def ok(self) -> bool:
        """No loss, duplicate or disorder anywhere."""
        return all(
            c.lost == 0 and c.duplicated == 0 and c.out_of_order == 0 for c in self.conversations
        )

    def table(self) -> str:
        """The report as text."""
        lines = [
            f"{'conversation':<16} {'delivered':>9} {'lost':>5} {'dup':>5} "
            f"{'disorder':>8} {'reconnects':>10}"
        ]
        for c in self.conversations:
            lines.append(
                f"{c.conversation_id:<16} {c.delivered:>9} {c.lost:>5} {c.duplicated:>5} "
                f"{c.out_of_order:>8} {c.reconnects:>10}"
            )
        total = sum(self.faults.values())
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.faults.items()))
        lines.append(f"faults injected: {total} ({kinds})")
        lines.append(
            f"reconnects: {sum(c.reconnects for c in self.conversations)}; "
            f"streams that gave up and were retried: {self.gave_up}; "
            f"let go by the watch limit and opened again: {self.rewatched}"
        )
        lines.append(f"peak RSS: {self.peak_rss_mb:.0f} MB; duration {self.seconds:.0f} s")
        lines.append("OK: nothing lost, nothing twice, all in order" if self.ok else "FAILED")
        return "\n".join(lines)


async def _wait(app: BimpeApp, seconds: float) -> None:
    """Let the app run for `seconds`, waking on its updates."""
    app.updated.clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app.updated.wait(), seconds)


async def run_soak(
    seconds: float,
    conversations: int,
    *,
    fault_rate: float = 0.06,
    seed: int = 1,
    workdir: Path | None = None,
) -> SoakReport:
    """Watch `conversations` conversations under chaos for `seconds`; then compare."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="bimpe-soak-"))
    faults = FaultPlan.chaos(rate=fault_rate, seed=seed)
    server = DemoServer(seed=7, rate=RATE, heartbeat_interval=1.0, faults=faults)
    if conversations > len(server.world.conversation_ids()):
        # More than the demo world has: a uniform world of exactly that many,
        # each conversation sending a message every BENCH_PERIOD / RATE seconds.
        server = DemoServer(
            seed=7,
            rate=RATE,
            heartbeat_interval=1.0,
            faults=faults,
            bench_conversations=conversations,
            bench_period=BENCH_PERIOD,
        )
    await server.start()
    options: dict[str, Any] = {"read_timeout": 5.0}
    # Every message as it leaves history or a stream, before the timeline drops
    # repeats: a duplicate counted here is one the engine really delivered twice.
    record = io.StringIO()
    app = BimpeApp(
        AppConfig(
            state=StateStore(workdir / "state.toml"),
            demo=server,
            stream_options=options,
            record=record,
        )
    )
    report = SoakReport()
    started = time.monotonic()
    try:
        async with app.run_test(size=(140, 40), headless=True) as pilot:
            while not app.monitor.ready:
                await _wait(app, 0.5)
            chosen = [e.id for e in app.monitor.book.flat()][:conversations]
            for conversation_id in chosen:
                app.monitor.open(conversation_id)
            deadline = started + seconds
            while time.monotonic() < deadline:
                await _wait(app, 2.0)
                # A user moving around, and pressing r where a stream gave up.
                await pilot.press("right_square_bracket")
                for conversation_id in chosen:
                    entry = app.monitor.book.entries[conversation_id]
                    if entry.status is not None and entry.status.state == "gave_up":
                        report.gave_up += 1
                        app.monitor.open(conversation_id)
                        await pilot.press("r")
            # Faults off; every stream must catch up with the server.
            report.faults = Counter(server.faults.injected)
            server.faults = FaultPlan()
            targets = {c: server.world.latest_index(c) for c in chosen}

            def caught_up() -> bool:
                for conversation_id, target in targets.items():
                    last = app.monitor.book.entries[conversation_id].timeline.last_message
                    parsed = server.world.parse_message_id(last.id) if last else None
                    if parsed is None or parsed[1] < target:
                        return False
                return True

            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(90):
                    while not caught_up():
                        for conversation_id in chosen:
                            entry = app.monitor.book.entries[conversation_id]
                            if not entry.watched:
                                # The user's moving around opens more conversations
                                # than MAX_WATCHED, so the least recently viewed,
                                # often a chosen one, stop streaming (by design).
                                # A user gets them back by opening them: they must
                                # resume from the saved cursor with nothing lost.
                                # Left unwatched, they could never catch up, and the
                                # messages since they were let go would read as lost.
                                report.rewatched += 1
                                app.monitor.open(conversation_id)
                            elif entry.status is not None and entry.status.state == "gave_up":
                                app.monitor.open(conversation_id)
                                await pilot.press("r")
                        await _wait(app, 1.0)
            delivered: dict[str, list[int]] = {c: [] for c in chosen}
            for line in record.getvalue().splitlines():
                row = json.loads(line)
                if row["c"] in delivered:
                    parsed = server.world.parse_message_id(row["id"])
                    assert parsed is not None
                    delivered[row["c"]].append(parsed[1])
            for conversation_id in chosen:
                entry = app.monitor.book.entries[conversation_id]
                indexes = delivered[conversation_id]
                got = set(indexes)
                expected = (
                    set(range(min(indexes), targets[conversation_id] + 1)) if indexes else set()
                )
                report.conversations.append(
                    ConversationResult(
                        conversation_id=conversation_id,
                        delivered=len(indexes),
                        lost=len(expected - got),
                        duplicated=len(indexes) - len(got),
                        out_of_order=sum(1 for a, b in itertools.pairwise(indexes) if b <= a),
                        reconnects=max(0, entry.connections - 1),
                    )
                )
            await pilot.press("q")
    finally:
        await server.stop()
    report.seconds = time.monotonic() - started
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report
