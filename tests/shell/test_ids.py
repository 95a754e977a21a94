"""`i`: the open conversation's ids and command lines, copied with enter."""

from __future__ import annotations

import shlex
from pathlib import Path

from bimpe_tui.demo.server import DemoServer
from bimpe_tui.screens.ids import IdsScreen, id_rows
from tests.apptools import FakeClock, make_app, ready, until


def test_rows_quote_hostile_ids_for_the_shell_and_spell_out_controls() -> None:
    rows = dict(id_rows("ag_1", "c_1; rm -rf ~\x1b[31m", "https://api.bimpe.ai"))
    assert rows["agent id"] == "ag_1"
    assert "\x1b" not in rows["follow it"]
    # Pasted into a shell, the id stays one argument.
    words = shlex.split(rows["follow it"].replace("\u241b", "E"))
    assert words[:3] == ["bimpe-tui", "tail", "ag_1"]
    assert words[3].startswith("c_1; rm -rf ~")
    assert "--base-url" not in rows["follow it"]
    other = dict(id_rows("ag_1", "c_1", "http://127.0.0.1:9"))
    assert other["export it"] == (
        "bimpe-tui export ag_1 c_1 --base-url http://127.0.0.1:9 -o c_1.md"
    )


async def test_i_shows_the_ids_and_enter_copies_a_command(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, ready(app))
        entry = app.monitor.book.entries[app.monitor.current or ""]
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, IdsScreen))
        screen = app.screen
        assert isinstance(screen, IdsScreen)
        assert dict(screen.rows)["agent id"] == entry.agent.id
        assert dict(screen.rows)["conversation id"] == entry.id
        await pilot.press("enter")
        assert app.clipboard == entry.agent.id
        await pilot.press("down", "down", "enter")
        assert app.clipboard.startswith(f"bimpe-tui tail {entry.agent.id} {entry.id}")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, IdsScreen))
