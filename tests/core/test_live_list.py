"""The list stays true while the monitor runs: new conversations, attention, alerts, 429s.

Driven by the demo world's clock: newcomers start and their flags move at
times that are a pure function of the seed, so each transition is found by
asking the world, then reached by moving the clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import bimpe_tui.monitor.listing as monitor_listing
from bimpe_tui.api.models import Agent, Conversation
from bimpe_tui.app import ALERT_TOAST, BimpeApp
from bimpe_tui.config import AlertSettings
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import AlertRaised, ListChanged, Monitor, MonitorConfig, MonitorEvent
from bimpe_tui.rules import WatchRules
from bimpe_tui.state import StateStore
from tests.apptools import FakeClock, make_app, ready, until
from tests.core.test_monitor import Harness

#: Fast refreshes: the test waits for events, never for this interval.
FAST = 0.2


def listed(server: DemoServer) -> dict[str, dict[str, object]]:
    """Every listed conversation's API shape at the world clock's present."""
    world = server.world
    out: dict[str, dict[str, object]] = {}
    for agent in world.agents():
        out.update((str(c["id"]), c) for c in world.conversations(str(agent["id"])))
    return out


def find_attention_turning_on(server: DemoServer, clock: FakeClock) -> tuple[str, float, float]:
    """A conversation listed without attention at `before` and with it at `after`."""
    start = clock.now
    try:
        previous: dict[str, dict[str, object]] = {}
        t = start
        while t < start + 6 * 3600:
            clock.now = t
            now = listed(server)
            for cid, shape in now.items():
                old = previous.get(cid)
                if old is not None and shape["needs_attention"] and not old["needs_attention"]:
                    return cid, t - 30, t
            previous = now
            t += 30
    finally:
        clock.now = start
    raise AssertionError("no conversation of the demo world turns on attention in 6 hours")


async def started(server: DemoServer, tmp_path: Path, clock: FakeClock, **config: Any) -> Harness:
    h = Harness(server, tmp_path / "state.toml", clock, {"refresh_interval": FAST, **config})
    await h.monitor.start()
    return h


async def test_a_new_conversation_appears_within_one_refresh_marked_new(
    server: DemoServer, tmp_path: Path, clock: FakeClock, closing: list[Harness]
) -> None:
    alerts = AlertSettings(new_conversation=True, attention=False)
    h = await started(server, tmp_path, clock, alerts=alerts)
    closing.append(h)
    book = h.monitor.book
    before = set(book.entries)
    clock.advance(1200, server)
    arriving = {c for _, c in server.world.conversation_ids()} - before
    assert arriving, "the demo world starts a conversation every few minutes"
    await h.until(lambda: arriving <= set(book.entries))
    assert all(book.entries[c].new for c in arriving)
    # (Some listed before may have left the list meanwhile: ended ones age out.)
    assert not any(book.entries[c].new for c in before if c in book.entries)
    raised = [e for e in h.events if isinstance(e, AlertRaised)]
    assert raised, "a new-conversation alert"
    assert all(a.kind == "new_conversation" for e in raised for a in e.decision.alerts)
    # Opening it clears the mark.
    some = next(iter(arriving))
    h.monitor.open(some)
    assert not book.entries[some].new


async def test_attention_on_flags_alerts_once_and_auto_watches_then_off_clears(
    server: DemoServer, tmp_path: Path, clock: FakeClock, closing: list[Harness]
) -> None:
    cid, before, after = find_attention_turning_on(server, clock)
    clock.now = before
    h = await started(server, tmp_path, clock, auto_watch=("needs_attention",))
    closing.append(h)
    book = h.monitor.book
    await h.until(lambda: cid in book.entries)
    entry = book.entries[cid]
    assert not entry.conversation.needs_attention
    assert not entry.watched
    clock.advance(after - before, server)
    await h.until(lambda: entry.conversation.needs_attention)
    await h.until(lambda: entry.watched)
    assert entry.watched_by == "needs_attention"
    alerts = [a for e in h.events if isinstance(e, AlertRaised) for a in e.decision.alerts]
    assert [a.conversation_id for a in alerts if a.kind == "attention"] == [cid]
    # More refreshes of the same state raise nothing more.
    refreshes = h.monitor.listing.schedules[entry.agent.id]
    count = len(h.events)
    await h.until(lambda: len(h.events) > count + 6)
    assert refreshes.problem is None
    again = [a for e in h.events if isinstance(e, AlertRaised) for a in e.decision.alerts]
    assert again == alerts
    # Later the flag goes off again, and the row follows.
    t = after
    while server.world.conversation_detail(entry.agent.id, cid)["needs_attention"]:  # type: ignore[index]
        t += 60
        clock.now = t
        assert t < after + 24 * 3600
    server.wake()
    await h.until(lambda: not entry.conversation.needs_attention)


async def test_a_restart_does_not_alert_again(
    server: DemoServer, tmp_path: Path, clock: FakeClock, closing: list[Harness]
) -> None:
    cid, before, after = find_attention_turning_on(server, clock)
    clock.now = before
    first = await started(server, tmp_path, clock)
    await first.until(lambda: cid in first.monitor.book.entries)
    clock.advance(after - before, server)
    await first.until(lambda: any(isinstance(e, AlertRaised) for e in first.events))
    await first.monitor.close()
    second = await started(server, tmp_path, clock)
    closing.append(second)
    entry = second.monitor.book.entries[cid]
    assert entry.conversation.needs_attention
    count = len(second.events)
    await second.until(lambda: len(second.events) > count + 6)
    assert not any(isinstance(e, AlertRaised) for e in second.events)


async def test_a_429_on_refresh_shows_in_the_footer_words_and_recovers(
    server: DemoServer, tmp_path: Path, clock: FakeClock, closing: list[Harness]
) -> None:
    h = await started(server, tmp_path, clock)
    closing.append(h)
    # More than the client's own retries, so the refresh itself sees the 429.
    server.faults.inject("list_429", count=12)
    await h.until(lambda: "rate limited" in h.monitor.list_health(), limit=30)
    assert h.monitor.list_health().startswith(("list ", "list not refreshed"))
    server.faults.clear()
    await h.until(lambda: h.monitor.list_health() == "", limit=60)


def conversation(cid: str, created_at: str, **flags: object) -> Conversation:
    return Conversation.from_api(
        {
            "id": cid,
            "channel_type": "webchat",
            "is_test_channel": False,
            "is_ai_chat_paused": False,
            "needs_attention": False,
            "created_at": created_at,
            "updated_at": created_at,
            **flags,
        }
    )


async def test_one_that_moves_up_from_a_later_page_is_not_new(tmp_path: Path) -> None:
    events: list[MonitorEvent] = []
    alerts = AlertSettings(new_conversation=True, attention=True)
    config = MonitorConfig(state=StateStore(tmp_path / "s.toml"), alerts=alerts, clock=FakeClock())
    monitor = Monitor(config, events.append)
    agent = Agent.from_api({"id": "ag_1", "name": "A", "created_at": "", "updated_at": ""})
    monitor.listing.listed_at = config.clock()
    monitor.merge_listing(agent, [conversation("c_first", "2026-11-20T08:00:00Z")])
    assert events.count(ListChanged()) == 1  # the baseline: no alert
    old = conversation("c_old", "2026-11-01T08:00:00Z", needs_attention=True)
    fresh = conversation("c_fresh", "2026-11-20T09:05:00Z")
    monitor.merge_listing(agent, [old, fresh, conversation("c_first", "2026-11-20T08:00:00Z")])
    assert not monitor.book.entries["c_old"].new
    assert monitor.book.entries["c_fresh"].new
    raised = [a for e in events if isinstance(e, AlertRaised) for a in e.decision.alerts]
    assert [(a.kind, a.conversation_id) for a in raised] == [("new_conversation", "c_fresh")]
    await monitor.close()


def picker_row(app: BimpeApp, conversation_id: str) -> str:
    options = app.main.picker.options
    option = options.get_option(conversation_id)
    return str(option.prompt)


async def test_in_the_app_attention_flags_the_row_alerts_and_watches(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    cid, before, after = find_attention_turning_on(server, clock)
    clock.now = before
    app = make_app(server, tmp_path / "state.toml", clock)
    app.monitor.config.refresh_interval = FAST
    app.monitor.listing.watch_rules = WatchRules.parse(["needs_attention"])
    async with app.run_test(size=(140, 60), notifications=True) as pilot:
        await until(pilot, ready(app))
        await until(pilot, lambda: cid in app.order)
        assert "!" not in picker_row(app, cid)[:8]
        clock.advance(after - before, server)
        await until(pilot, lambda: "!" in picker_row(app, cid)[:8])
        entry = app.monitor.book.entries[cid]
        await until(pilot, lambda: entry.watched)
        toasts = [n for n in app._notifications if "needs attention" in n.message]
        assert toasts
        # Longer than an ordinary toast: the person may be in another window.
        assert all(n.timeout == ALERT_TOAST for n in toasts)


async def test_in_the_app_a_429_on_refresh_shows_in_the_footer_and_recovers(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    app.monitor.config.refresh_interval = FAST
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        server.faults.inject("list_429", count=12)
        footer = app.main.status_footer
        await until(pilot, lambda: "rate limited, retrying in" in footer.line.summary, limit=30)
        assert footer.line.summary.startswith("list ")
        server.faults.clear()
        await until(pilot, lambda: "rate limited" not in footer.line.summary, limit=60)


async def test_a_conversation_gone_from_the_whole_list_is_dropped_or_kept_greyed(
    tmp_path: Path,
) -> None:
    events: list[MonitorEvent] = []
    config = MonitorConfig(state=StateStore(tmp_path / "s.toml"), clock=FakeClock())
    monitor = Monitor(config, events.append)
    agent = Agent.from_api({"id": "ag_1", "name": "A", "created_at": "", "updated_at": ""})
    monitor.listing.listed_at = config.clock()
    kept, dropped, other = (conversation(c, "2026-11-20T08:00:00Z") for c in ("c_k", "c_d", "c_o"))
    monitor.merge_listing(agent, [kept, dropped, other], complete=True)
    monitor.book.entries["c_k"].watched = True  # as if streaming (no server here)
    # A first page that is not the whole list says nothing about what it lacks.
    monitor.merge_listing(agent, [other], complete=False)
    assert set(monitor.book.entries) == {"c_k", "c_d", "c_o"}
    monitor.merge_listing(agent, [other], complete=True)
    assert set(monitor.book.entries) == {"c_k", "c_o"}
    assert monitor.book.entries["c_k"].gone
    assert not monitor.book.entries["c_o"].gone
    monitor.merge_listing(agent, [kept, other], complete=True)
    assert not monitor.book.entries["c_k"].gone
    await monitor.close()


async def test_an_agent_gone_from_the_server_is_let_go_its_watched_rows_kept(
    tmp_path: Path,
) -> None:
    events: list[MonitorEvent] = []
    config = MonitorConfig(state=StateStore(tmp_path / "s.toml"), clock=FakeClock())
    monitor = Monitor(config, events.append)
    a, b = (
        Agent.from_api({"id": i, "name": i, "created_at": "", "updated_at": ""})
        for i in ("ag_a", "ag_b")
    )
    monitor.listing.listed_at = config.clock()
    monitor.book.add_agent(a)
    monitor.book.add_agent(b)
    monitor.merge_listing(b, [conversation("c_w", "2026-11-20T08:00:00Z")], complete=True)
    monitor.merge_listing(b, [conversation("c_x", "2026-11-20T08:00:00Z")], complete=False)
    monitor.book.entries["c_w"].watched = True
    monitor.merge_agents([a], complete=False)  # a partial list proves nothing
    assert set(monitor.book.agents) == {"ag_a", "ag_b"}
    monitor.merge_agents([a], complete=True)
    assert set(monitor.book.entries) == {"c_w"}
    assert monitor.book.entries["c_w"].gone
    assert "ag_b" in monitor.book.agents  # its watched conversation still needs the header
    monitor.book.entries["c_w"].watched = False
    monitor.merge_agents([a], complete=True)
    assert set(monitor.book.agents) == {"ag_a"}
    await monitor.close()


async def test_pages_the_user_loaded_are_refreshed_too(
    server: DemoServer, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor_listing, "PAGE_SIZE", 4)
    h = Harness(server, tmp_path / "state.toml", clock)
    await h.monitor.start()
    try:
        agent = next(a for a in h.monitor.book.agents.values() if a.id in h.monitor.book.more_pages)
        first, complete = await h.monitor.listing._fetch_listing(agent)
        assert (len(first), complete) == (4, False)
        await h.monitor.load_more(agent.id)
        both, _ = await h.monitor.listing._fetch_listing(agent)
        assert len(both) > 4
        assert [c.id for c in both[:4]] == [c.id for c in first]
    finally:
        await h.monitor.close()


async def test_in_the_app_a_new_conversation_shows_new_and_attention_off_clears_the_flag(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    cid, _, after = find_attention_turning_on(server, clock)
    clock.now = after
    app = make_app(server, tmp_path / "state.toml", clock)
    app.monitor.config.refresh_interval = FAST
    async with app.run_test(size=(140, 80)) as pilot:
        await until(pilot, ready(app))
        await until(pilot, lambda: cid in app.order)
        assert "!" in picker_row(app, cid)[:8]
        # A newcomer starts: its row appears, marked new.
        listed = set(app.monitor.book.entries)
        t = clock.now
        while not ({c for _, c in server.world.conversation_ids(t)} - listed):
            t += 30
        clock.now = t
        server.wake()
        arriving = {c for _, c in server.world.conversation_ids()} - listed
        await until(pilot, lambda: any(c in app.order for c in arriving))
        newcomer = next(c for c in arriving if c in app.order)
        assert " new" in picker_row(app, newcomer)
        # Later the flagged conversation is answered: the flag goes.
        agent_id = app.monitor.book.entries[cid].agent.id
        while server.world.conversation_detail(agent_id, cid)["needs_attention"]:  # type: ignore[index]
            clock.now += 60
        server.wake()
        await until(pilot, lambda: "!" not in picker_row(app, cid)[:8])


async def test_in_the_app_a_restart_does_not_alert_again(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    cid, before, after = find_attention_turning_on(server, clock)
    clock.now = before
    state = tmp_path / "state.toml"
    first = make_app(server, state, clock)
    first.monitor.config.refresh_interval = FAST
    async with first.run_test(size=(140, 60), notifications=True) as pilot:
        await until(pilot, ready(first))
        await until(pilot, lambda: cid in first.order)
        clock.advance(after - before, server)
        await until(
            pilot, lambda: any("needs attention" in n.message for n in first._notifications)
        )
        await pilot.press("q")
    again = make_app(server, state, clock)
    again.monitor.config.refresh_interval = FAST
    async with again.run_test(size=(140, 60), notifications=True) as pilot:
        await until(pilot, ready(again))
        await until(pilot, lambda: "!" in picker_row(again, cid)[:8])
        schedules = again.monitor.listing.schedules.values()
        # Several refreshes of every agent pass, and none rings for what was already seen.
        done = {id(s): s.refreshed_at for s in schedules}
        await until(pilot, lambda: all(s.refreshed_at != done[id(s)] for s in schedules), limit=20)
        assert not any("needs attention" in n.message for n in again._notifications)
