"""One pane at a time (below 90 columns): the pane shown is the one keys went to last.

Two keys typed in one go (a digit then h, say) reach the app together: each
moves the focus, and the focus events climb to the screen through the widgets'
queues afterwards, in no fixed order. The pane must end where the last key
put it, with the focus there, whichever event comes last.
"""

from __future__ import annotations

from pathlib import Path

from textual import events

from bimpe_tui.demo.server import DemoServer
from bimpe_tui.screens.main import Pane
from tests.apptools import FakeClock, make_app, ready, until

#: Where the keys start, the keys typed together, the pane they end on.
TYPED: list[tuple[Pane, str, Pane]] = [
    ("list", "2h", "list"),
    ("list", "lh", "list"),
    ("log", "hl", "log"),
    ("log", "h3", "log"),
]


async def test_keys_typed_together_leave_the_pane_of_the_last(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        main = app.main
        assert main.narrow
        for start, keys, pane in TYPED * 2:  # the events' order may vary: twice
            main.action_show_pane(start)
            await pilot.pause()
            # As the driver hands over keys read together: no wait in between.
            for key in keys:
                app.post_message(events.Key(key, key))
            await pilot.pause()
            where = f"{keys!r} from the {start}"
            assert main.pane == pane, where
            panes = {"list": main.picker, "log": main.log_view}
            shown = panes.pop(pane)
            (hidden,) = panes.values()
            assert shown.display, where
            assert not hidden.display, where
            focused = main.focused
            assert focused is not None, where
            assert shown in focused.ancestors_with_self, where
