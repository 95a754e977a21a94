"""The monitor is given a connection; the shell owns the demo server's lifetime."""

from __future__ import annotations

from pathlib import Path

from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import Connection, server_key
from tests.apptools import FakeClock, make_app, ready, until


def test_state_keys_are_as_before() -> None:
    # Existing state files resume only while these stay the same.
    assert Connection.to("https://api.bimpe.ai", "k").state_key == "https://api.bimpe.ai"
    assert server_key("https://x.test", None) == "https://x.test"
    demo = DemoServer(seed=7, rate=0.05)
    assert server_key("", demo) == "demo:seed=7,rate=0.05"


def test_the_key_is_never_in_a_repr() -> None:
    connection = Connection.to("https://api.bimpe.ai", "sk_secret_value")
    assert "sk_secret_value" not in repr(connection)
    assert not connection.demo


async def test_a_running_demo_server_gives_its_address_and_state_key(server: DemoServer) -> None:
    connection = Connection.to_demo(server)
    assert connection.base_url == server.base_url
    assert connection.api_key == server.api_key
    assert connection.state_key == "demo:seed=7,rate=1"
    assert connection.demo


async def test_the_app_stops_the_demo_server_it_started(tmp_path: Path, clock: FakeClock) -> None:
    server = DemoServer(seed=7, rate=1.0, clock=clock, heartbeat_interval=0.5)
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        assert server.running
        assert app.monitor.on_demo
        assert app.monitor.server_key == "demo:seed=7,rate=1"
    assert not server.running


async def test_the_app_leaves_a_running_demo_server_running(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
    assert server.running
