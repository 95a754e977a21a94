"""An idle app stays idle: the clock alone redraws only what a person can see change.

The idle CPU figure (docs/performance.md) rests on these: rows rebuilt only when
their text changes, and ages and the footer's "last data" in coarse steps.
"""

from __future__ import annotations

from pathlib import Path

from bimpe_tui.demo.server import DemoServer
from bimpe_tui.render import relative_time
from tests.apptools import START, FakeClock, make_app, ready, until


def test_row_ages_are_whole_minutes_or_more() -> None:
    iso = "2026-11-20T09:00:00Z"
    assert relative_time(iso, START + 3) == "now"
    assert relative_time(iso, START + 59.9) == "now"
    assert relative_time(iso, START + 60) == "1m"
    assert relative_time(iso, START + 2 * 3600 + 5) == "2h"
    assert relative_time(iso, START + 3 * 86400) == "3d"


async def test_a_redraw_that_changes_no_row_keeps_the_rows(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, ready(app))
        screen = app.main
        options = screen.picker.options
        screen.redraw_list()
        drawn = list(options.options)
        assert drawn
        screen.redraw_list()
        # The same Option objects: nothing was rebuilt, so nothing is repainted.
        assert all(a is b for a, b in zip(options.options, drawn, strict=True))
        # An hour later every row's age reads differently: the rows are rebuilt.
        clock.now += 3600
        screen.redraw_list()
        assert not any(a is b for a, b in zip(options.options, drawn, strict=False))
