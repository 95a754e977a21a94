"""Promises of the shell that only the app can keep: redraw limits, whole bursts, the palette."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bimpe_tui.api.models import Message
from bimpe_tui.app import BimpeApp
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import ListChanged
from tests.apptools import FakeClock, make_app, ready, until


async def test_the_picker_redraws_once_for_a_flood_of_changes(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        picker = app.main.picker
        drawn: list[int] = []
        original = picker.show_rows

        def counting(*args: Any, **kwargs: Any) -> list[str]:
            drawn.append(1)
            return original(*args, **kwargs)

        picker.show_rows = counting  # type: ignore[method-assign]
        for _ in range(500):
            app.main.render_event(ListChanged())
        await until(pilot, lambda: not app.redraw_pending)
        # 500 changes inside one redraw interval: one redraw (the next tick may add one).
        assert 1 <= len(drawn) <= 2


async def test_a_burst_is_drawn_whole_and_every_message_of_it_is_reachable(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        count = 3_000
        burst = [
            Message.from_api(
                {
                    "id": f"m_burst_{n}",
                    "role": "customer",
                    "message": f"burst {n}",
                    "created_at": "2026-11-20T09:00:00Z",
                }
            )
            for n in range(count)
        ]
        log = app.main.log_view
        view = log.lines
        log.append(burst)
        # Following: the newest of the burst is on the last line, at once.
        await until(
            pilot, lambda: view.line_strip(view.line_count - 1).text.endswith(f"burst {count - 1}")
        )
        assert log.following
        # No cap: the first of the burst is there too, found by scrolling up.
        view.focus()
        first = next(
            n for n, item in enumerate(view.items) if getattr(item, "id", "") == "m_burst_0"
        )
        view.scroll_to_item(first)
        await pilot.pause()
        top = view.line_strip(round(view.scroll_y)).text
        assert top.rstrip().endswith("burst 0"), top
        assert not log.following


async def test_every_palette_command_is_named_once_and_does_what_it_says(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        titles = Counter(c.title for c in app.get_system_commands(app.screen))
        assert all(n == 1 for n in titles.values()), titles
        first = app.monitor.current
        order = list(app.order)
        commands["Next conversation"].callback()
        assert app.monitor.current == order[1]
        commands["Previous conversation"].callback()
        assert app.monitor.current == first
        commands["Filter conversations"].callback()
        await pilot.pause()
        assert app.focused is not None
        assert app.focused.id == "filter"
        await pilot.press("escape")
        commands["Key bindings"].callback()
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        commands["Reconnect"].callback()
        await until(pilot, lambda: app.monitor.current is not None)
        commands["Next unread"].callback()
        assert app.monitor.current != first or not any(
            e.unread or e.conversation.needs_attention
            for e in app.monitor.book.entries.values()
            if e.id != first
        )


async def run_and_close(server: DemoServer, state_path: Path, clock: FakeClock) -> BimpeApp:
    """The app, once it was ready and has closed (its screens and widgets gone)."""
    app = make_app(server, state_path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, ready(app))
    return app


async def test_keys_read_as_the_app_closes_are_dropped_not_raised(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    # Keys of one terminal read can still be queued when quitting has taken the
    # screens away (the random walk met it: two enters queued, then quit). With no
    # screen there is nothing for them to act on: dropped, never an exception that
    # ends the app with a traceback.
    from textual import events

    app = await run_and_close(server, state_path, clock)
    assert not app.screen_stack
    for key, character in (("enter", "\r"), ("x", "x")):
        await app.on_event(events.Key(key, character))
    assert app.return_code in (0, None)


async def test_a_list_redraw_due_as_the_app_closes_does_nothing(
    server: DemoServer, state_path: Path, clock: FakeClock
) -> None:
    # The redraw's timer can fire once more while quitting removes the widgets (seen
    # under load: NoMatches for the list, the run's exit code 1).
    app = await run_and_close(server, state_path, clock)
    assert not app.main.picker.children
    app.main.rows.redraw()
