"""A state dir that refuses writes: said in the status line, retried, and a clean exit."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import Notice
from bimpe_tui.state import StateStore
from tests.apptools import FakeClock, ready, record_events, until
from tests.terminal import Terminal


async def test_the_app_names_the_path_retries_and_recovers(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    blocker = tmp_path / "state-dir"
    blocker.write_text("a file where the state dir should be")
    store = StateStore(blocker / "state.toml", debounce=0.05, retry=0.05)
    app = BimpeApp(
        AppConfig(
            state=store, demo=server, stream_options={"base_delay": 0.05}, tz=UTC, clock=clock
        )
    )
    events = record_events(app)
    async with app.run_test(size=(220, 40)) as pilot:
        await until(pilot, ready(app))
        footer = app.main.status_footer
        await until(pilot, lambda: str(store.path) in footer.line.summary)
        # Tried again and again meanwhile, said once.
        await until(pilot, lambda: store.failures >= 3)
        said = [e for e in events if isinstance(e, Notice) and str(store.path) in e.text]
        assert len(said) == 1
        assert said[0].severity == "error"
        # The disk takes the file again: the next retry writes it, unprompted.
        blocker.unlink()
        blocker.mkdir()
        await until(pilot, lambda: store.path.exists() and store.error is None)
        await until(pilot, lambda: str(store.path) not in footer.line.summary)
        assert any(isinstance(e, Notice) and "saved again" in e.text for e in events)
    loaded = StateStore(store.path)
    assert loaded.load() == []
    assert app.monitor.current in loaded.server(app.monitor.server_key).watched


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path, so the state file's path fits a screen line."""
    path = Path(tempfile.mkdtemp(prefix="bt", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_q_on_a_refusing_disk_exits_0_without_a_traceback(
    tmp_path: Path, short_dir: Path
) -> None:
    blocker = short_dir / "f"
    blocker.write_text("")
    state = blocker / "state.toml"
    args = ["--demo", "--rate", "0.05", "--state-file", str(state)]
    async with Terminal(args, cols=200, rows=50, home=tmp_path) as t:
        await t.shows("● live")
        await t.shows(f"not saving {state}")
        t.send("q")
        assert await t.ended() == 0
    written = t.output.decode("utf-8", "replace")
    assert "Traceback" not in written
    # On the way out, one line says where you left off was not kept.
    assert f"where you left off is not saved: cannot write {state}" in written
