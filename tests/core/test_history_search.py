"""Searching past what is loaded: ctrl+o in the search box asks the server for the whole
conversation, and lists what it found (an order number from the first messages)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from textual.widgets import Label, OptionList

from bimpe_tui.demo.server import DemoServer
from bimpe_tui.screens.history_results import HistoryResults
from tests.apptools import FakeClock, make_app, until
from tests.shell.test_scrollback import ids, open_short


async def test_ctrl_o_lists_a_match_from_history_not_loaded(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        conv, entry = await open_short(pilot, server, 200, 450)
        loaded = set(ids(entry))
        world = server.world
        # An order number said only in messages the app has not loaded.
        found: str | None = None
        for index in range(world.latest_index(conv)):
            if world.message_id(conv, index) in loaded:
                break
            text = str(world.message(conv, index).to_api()["message"])
            match = re.search(r"order (\d{5})", text)
            if match is not None:
                number = match.group(1)
                later = (
                    str(world.message(conv, n).to_api()["message"])
                    for n in range(index + 1, world.latest_index(conv) + 1)
                )
                if not any(number in t for t in later):
                    found = number
                    break
        assert found is not None, "no order number only in the older history"
        app.main.action_show_pane("log")
        await pilot.press("ctrl+f", *found)
        # Not in what is loaded ...
        await until(
            pilot,
            lambda: "no matches" in str(app.main.log_view.query_one("#search-count").render()),
        )
        # ... but the server has it.
        count = app.main.log_view.query_one("#search-count", Label)
        said: list[str] = []
        update = count.update

        def recording(content: Any = "", **options: Any) -> None:
            said.append(str(content))
            update(content, **options)

        count.update = recording  # type: ignore[method-assign]
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, HistoryResults), limit=20)
        # Said in the count while the server searched, not in a toast over it.
        assert any("searching the whole conversation" in words for words in said)
        assert not any("searching" in n.message for n in app._notifications)
        results = app.screen.query_one(OptionList)
        lines = [str(results.get_option_at_index(n).prompt) for n in range(results.option_count)]
        assert lines
        assert all(found in line for line in lines)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HistoryResults))
        assert "no matches" in str(count.render())
