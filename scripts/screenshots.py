"""Regenerate screenshots/: the real app against the demo server, fixed seed and clock.

SVG from Textual's `App.save_screenshot`, and only SVG: a viewer draws its text
with the fonts it has, so Chinese, Arabic and emoji show (a PNG made here would
show them as boxes: this machine has no font for them). Run with `make screenshots`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import tempfile
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.book import Pending
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.screens.confirm import ConfirmScreen
from bimpe_tui.screens.history_results import HistoryResults
from bimpe_tui.state import StateStore

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (130, 36)
#: A small terminal, where one pane shows at a time.
NARROW = (80, 24)
#: 2026-11-20 09:00:00 UTC.
START = 1_795_165_200.0


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


async def settle(pilot: Pilot[Any], app: BimpeApp, check: Callable[[], bool]) -> None:
    """Wait (bounded) until `check()` holds and the picker is redrawn."""
    async with asyncio.timeout(20):
        while True:
            await pilot.pause()
            if check() and not app.redraw_pending:
                return
            app.updated.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(app.updated.wait(), 0.25)


def live(app: BimpeApp) -> Callable[[], bool]:
    def check() -> bool:
        entry = app.monitor.reading.open_entry()
        return bool(app.monitor.ready and entry is not None and entry.live)

    return check


def new_app(
    server: DemoServer,
    state: Path,
    clock: Clock,
    monitor: dict[str, Any] | None = None,
    **options: Any,
) -> BimpeApp:
    return BimpeApp(
        AppConfig(
            state=StateStore(state, debounce=0.05),
            demo=server,
            stream_options=options,
            tz=UTC,
            clock=clock,
            **(monitor or {}),
        )
    )


def attention_turns_on(server: DemoServer, clock: Clock) -> tuple[str, float]:
    """A conversation and a moment just before its needs_attention turns on."""
    start = clock.now
    world = server.world
    before: dict[str, bool] = {}
    try:
        for step in range(6 * 120):
            clock.now = start + 30 * step
            now = {
                str(c["id"]): bool(c["needs_attention"])
                for agent in world.agents()
                for c in world.conversations(str(agent["id"]))
            }
            for cid, flag in now.items():
                if flag and before.get(cid) is False:
                    return cid, clock.now - 30
            before = now
    finally:
        clock.now = start
    raise RuntimeError("no attention in the demo world's next 6 hours")


def early_order_number(server: DemoServer, conversation_id: str) -> str:
    """An order number said once, early in a conversation (for the search shot)."""
    world = server.world
    texts = [
        str(world.message(conversation_id, n).to_api()["message"])
        for n in range(world.latest_index(conversation_id) + 1)
    ]
    for text in texts[: len(texts) // 4]:
        for number in re.findall(r"order (\d{5})", text):
            if sum(number in t for t in texts) == 1:
                return str(number)
    raise RuntimeError("no order number said once early in the conversation")


async def shoot(
    app: BimpeApp,
    name: str,
    script: Callable[[Pilot[Any]], Any],
    *,
    toasts: bool = False,
    size: tuple[int, int] = SIZE,
) -> Path:
    async with app.run_test(size=size, notifications=toasts) as pilot:
        await script(pilot)
        await pilot.pause()
        path = OUT / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(OUT))
        await pilot.press("q")
    return path


async def main() -> int:
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bimpe-shots-"))
    clock = Clock()
    server = DemoServer(seed=7, rate=1.0, clock=clock, heartbeat_interval=15.0)
    await server.start()
    shots: list[Path] = []
    try:
        app = new_app(server, work / "a.toml", clock)
        shots.append(await shoot(app, "main", lambda p: settle(p, app, live(app))))

        # Who waits for a person, and how long: rows and the summary under the list.
        app = new_app(server, work / "w.toml", clock)

        def summed_up() -> bool:
            return "longest wait" in str(app.main.picker.border_subtitle)

        async def waiting(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            await settle(pilot, app, summed_up)

        shots.append(await shoot(app, "waits", waiting))

        # One pane at a time in a small terminal: the list, then the log.
        app = new_app(server, work / "a80.toml", clock)
        shots.append(
            await shoot(app, "narrow-list", lambda p: settle(p, app, live(app)), size=NARROW)
        )
        app = new_app(server, work / "a80.toml", clock)

        async def reading(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            await pilot.press("l")
            await settle(pilot, app, lambda: app.main.pane == "log")

        shots.append(await shoot(app, "narrow-log", reading, size=NARROW))

        app = new_app(server, work / "b.toml", clock)

        async def helping(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            await pilot.press("question_mark")

        shots.append(await shoot(app, "help", helping))

        app = new_app(server, work / "c.toml", clock)

        async def filtering(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            await pilot.press("slash", *"whatsapp")
            await settle(pilot, app, lambda: app.main.picker.filter_text == "whatsapp")

        shots.append(await shoot(app, "filter", filtering))

        # Back after a while away: the divider and what came in meanwhile.
        app = new_app(server, work / "d.toml", clock)
        await shoot(app, "_first_run", lambda p: settle(p, app, live(app)))
        (OUT / "_first_run.svg").unlink()
        clock.now += 45
        app = new_app(server, work / "d.toml", clock)

        async def resumed(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            entry = app.monitor.book.entries[app.monitor.current or ""]
            await settle(pilot, app, lambda: entry.timeline.pending_marker is None)

        shots.append(await shoot(app, "new-since-you-left", resumed))

        server.faults.inject("ticket_503")
        app = new_app(
            server, work / "e.toml", clock, base_delay=20.0, max_delay=20.0, rng=random.Random(3)
        )

        async def reconnecting(pilot: Pilot[Any]) -> None:
            await settle(
                pilot,
                app,
                lambda: app.main.status_footer.state_words.startswith("reconnecting in"),
            )

        shots.append(await shoot(app, "reconnecting", reconnecting))

        # An alert: a conversation starts needing attention and is auto-watched.
        server.faults.clear()
        cid, before = attention_turns_on(server, clock)
        clock.now = before
        app = new_app(
            server,
            work / "f.toml",
            clock,
            {"refresh_interval": 0.2, "auto_watch": ("needs_attention",)},
        )

        async def alerted(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            clock.now += 30
            server.wake()
            await settle(pilot, app, lambda: bool(app.screen.query("Toast")))
            entry = app.monitor.book.entries[cid]
            await settle(pilot, app, lambda: entry.watched and not app.redraw_pending)

        shots.append(await shoot(app, "alert", alerted, toasts=True))

        # A match of the server's search read in place, deep in the history.
        app = new_app(server, work / "h.toml", clock)

        async def reading_history(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            number = early_order_number(server, app.monitor.current or "")
            await pilot.press("l", "ctrl+f", *number, "ctrl+o")
            await settle(pilot, app, lambda: isinstance(app.screen, HistoryResults))
            await pilot.press("enter")
            await settle(
                pilot,
                app,
                lambda: not app.main.log_view.live and not isinstance(app.screen, HistoryResults),
            )

        shots.append(await shoot(app, "history-match", reading_history))

        # The question before taking over: nothing chosen until a person moves.
        app = new_app(server, work / "f2.toml", clock)

        async def asking(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            await pilot.press("t")
            await settle(pilot, app, lambda: isinstance(app.screen, ConfirmScreen))

        shots.append(await shoot(app, "take-over-question", asking))

        # Taking over and replying: last, since what the user sends stays in the
        # demo world for the run and would show in the shots after it.
        app = new_app(server, work / "g.toml", clock)

        async def replying(pilot: Pilot[Any]) -> None:
            await settle(pilot, app, live(app))
            entry = app.monitor.book.entries[app.monitor.current or ""]
            await pilot.press("t")
            await settle(pilot, app, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("tab", "enter")  # a person moves to "Take over" and takes it
            await settle(pilot, app, lambda: entry.yours)
            await pilot.press("c", *"Hello! Ada from the team here: I'll sort this out.", "enter")
            await settle(
                pilot,
                app,
                lambda: (
                    bool(entry.timeline.mine)
                    and not any(isinstance(i, Pending) for i in entry.timeline.items)
                ),
            )
            await pilot.press(*"Could you send me your order number?")
            await settle(pilot, app, lambda: app.focused is app.main.compose_box)

        shots.append(await shoot(app, "reply", replying))
    finally:
        await server.stop()
    for stale in OUT.glob("*.png"):
        stale.unlink()  # left by an older version of this script
    for path in sorted(OUT.iterdir()):
        print(path.relative_to(OUT.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
