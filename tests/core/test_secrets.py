"""The API key and stream tickets never leak: every output of real runs is grepped for them.

`bimpe-tui tail` and `bimpe-tui demo-server` run as processes; the app runs headless
in-process. The servers are hostile on purpose: their error answers echo the request
(URL with the ticket, the Authorization header, the bare key) back into the messages
that end up in statuses, footers, notifications and exception texts.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.errors import BimpeError
from bimpe_tui.api.stream import ResumableStream, StreamStatus
from bimpe_tui.app import AppConfig
from bimpe_tui.config import load_settings
from bimpe_tui.demo.server import DEMO_API_KEY, DemoServer
from bimpe_tui.demo.world import DemoWorld
from bimpe_tui.state import StateStore
from tests.apptools import hostile_app, ready, strip_texts, until, widget_lines
from tests.loopback import API_KEY, Canned, agent, conversation, error_body, message, sse_frame
from tests.loopback import LoopbackServer as HostileServer
from tests.processes import CLI, child_env, demo_server_process
from tests.streamkit import collect, messages, statuses

#: An error body echoing everything a careless server might echo.
ECHO = error_body("echo: {url} | auth: {auth} | ticket {ticket} | {token}")
TICKET_SHAPE = re.compile(r"tk_[A-Za-z0-9_\-]{6,}")


def assert_clean(text: str, key: str, tickets: list[str], where: str) -> None:
    assert key not in text, f"the key leaked into {where}"
    for ticket in tickets:
        assert ticket not in text, f"a ticket leaked into {where}"


def assert_key_never_in_a_url(server: HostileServer) -> None:
    assert server.requests
    for seen in server.requests:
        assert server.api_key not in seen.url
        if seen.url.split("?")[0].endswith("/stream"):
            # The long-lived connection carries the ticket, never the key.
            assert "Authorization" not in seen.headers
        else:
            assert "ticket=" not in seen.url


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    async with HostileServer() as server:
        yield server


@pytest.fixture
def status_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every StreamStatus any stream creates during the test, in words."""
    texts: list[str] = []
    original = ResumableStream._status

    def spy(self: ResumableStream, state: Any, **kw: Any) -> StreamStatus:
        status = original(self, state, **kw)
        texts.append(status.describe())
        return status

    monkeypatch.setattr(ResumableStream, "_status", spy)
    return texts


# -- the demo server ----------------------------------------------------------------------


def listeners(port: int) -> list[str]:
    """Local addresses (hex, as /proc shows them) listening on `port`, over IPv4 and IPv6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                address, port_hex = fields[1].rsplit(":", 1)
                if int(port_hex, 16) == port and fields[3] == "0A":  # LISTEN
                    found.append(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
async def test_demo_server_listens_on_loopback_only_and_tail_never_shows_the_key(
    tmp_path: Path,
) -> None:
    async with demo_server_process(tmp_path, "--rate", "40", "--heartbeat", "0.2") as demo:
        assert listeners(demo.port) == ["0100007F"]  # 127.0.0.1 and nothing else
        # A distinctive, refused key: tail gives up without ever showing it.
        world = DemoWorld(seed=7, rate=40.0)
        agent_id, conversation_id = world.conversation_ids()[0]
        tail = await asyncio.create_subprocess_exec(
            *CLI,
            "tail",
            "--base-url",
            demo.base_url,
            agent_id,
            conversation_id,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(tmp_path, BIMPEAI_API_KEY=API_KEY),
        )
        out, err = await asyncio.wait_for(tail.communicate(), 30)
        assert tail.returncode == 1
        assert "API key was refused" in err.decode()
        assert_clean(out.decode() + err.decode(), API_KEY, [], "tail's output")
    assert_clean(demo.first_line + demo.rest, API_KEY, [], "the demo server's output")
    assert "Traceback" not in demo.rest


async def test_the_embedded_demo_server_binds_loopback_only() -> None:
    server = DemoServer(seed=7)
    await server.start()
    try:
        assert server._runner is not None
        addresses = server._runner.addresses
        assert addresses
        assert all(address[0] == "127.0.0.1" for address in addresses)
        # Not reachable on the machine's other addresses.
        other = _non_loopback_address()
        if other is not None:
            with (
                pytest.raises((ConnectionRefusedError, TimeoutError)),
                socket.create_connection((other, server.port), 2),
            ):
                pass
    finally:
        await server.stop()


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_tail_under_chaos_never_prints_the_key_or_a_ticket(tmp_path: Path) -> None:
    chaos = ("--faults", "drop,cut,close", "--fault-rate", "4")
    args = ("--rate", "40", "--heartbeat", "0.2", *chaos)
    async with demo_server_process(tmp_path, *args) as demo:
        agent_id, conversation_id = max(
            DemoWorld(seed=7, rate=40.0).conversation_ids(),
            key=lambda ids: DemoWorld(seed=7, rate=40.0).latest_index(ids[1]),
        )
        tail = await asyncio.create_subprocess_exec(
            *CLI,
            "tail",
            "--base-url",
            demo.base_url,
            "--max-retries",
            "20",
            agent_id,
            conversation_id,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(tmp_path, BIMPEAI_API_KEY=DEMO_API_KEY),
        )
        assert tail.stdout is not None
        assert tail.stderr is not None
        err_lines: list[str] = []
        out_lines: list[str] = []
        try:
            async with asyncio.timeout(30):
                # Faults, and messages delivered through them.
                while sum("reconnecting" in line for line in err_lines) < 3:
                    line = (await tail.stderr.readline()).decode()
                    assert line, "".join(err_lines)
                    err_lines.append(line)
                out_lines.append((await tail.stdout.readline()).decode())
        finally:
            tail.send_signal(signal.SIGINT)
            out, rest = await asyncio.wait_for(tail.communicate(), 20)
    err = "".join(err_lines) + rest.decode()
    stdout = "".join(out_lines) + out.decode()
    assert tail.returncode == 0, err
    assert json.loads(stdout.splitlines()[0])["id"]
    for where, text in (("tail's stdout", stdout), ("tail's stderr", err)):
        assert DEMO_API_KEY not in text, where
    assert not TICKET_SHAPE.search(err)
    assert "Traceback" not in err


# -- tail against a server that echoes secrets ----------------------------------------------


async def test_tail_never_repeats_an_echoed_key_or_ticket(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.add(agent("ag_1"), conversation("c_1"), frames=[sse_frame(message("m_1"))])
    hostile.end_streams = True
    hostile.canned["ticket"].append(Canned(503, ECHO))
    hostile.canned["stream"].append(Canned(500, ECHO))
    # After the good stream ends: a refusal no retry fixes, echoing again.
    hostile.frames["c_1"].append([])
    tail = await asyncio.create_subprocess_exec(
        *CLI,
        "tail",
        "--base-url",
        hostile.base_url,
        "ag_1",
        "c_1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path, BIMPEAI_API_KEY=API_KEY),
    )
    assert tail.stdout is not None
    line = await asyncio.wait_for(tail.stdout.readline(), 30)
    assert json.loads(line)["id"] == "m_1"
    hostile.canned["stream"].append(Canned(409, ECHO))
    rest, err = await asyncio.wait_for(tail.communicate(), 30)
    text = err.decode()
    assert tail.returncode == 1, text
    assert "gave up: HTTP 409" in text
    assert text.count("reconnecting") >= 2
    assert len(hostile.tickets) >= 3
    assert_clean(line.decode() + rest.decode() + text, API_KEY, hostile.tickets, "tail's output")
    assert "Traceback" not in text
    assert_key_never_in_a_url(hostile)


# -- the app, headless ----------------------------------------------------------------------


async def test_the_app_never_shows_or_saves_the_key_or_a_ticket(
    hostile: HostileServer,
    tmp_path: Path,
    status_texts: list[str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    hostile.add(
        agent("ag_1", "Desk"),
        conversation("c_1", needs_attention=True),
        frames=[sse_frame(message("m_live", "after the faults"))],
    )
    hostile.add(agent("ag_1", "Desk"), conversation("c_2"), [message("m_h")])
    # History that fails with an echo (shown in the timeline), then a stream that
    # meets every fault with an echo before it goes live.
    hostile.canned["messages"].append(Canned(409, ECHO))
    hostile.canned["ticket"].append(Canned(503, ECHO))
    hostile.canned["stream"].extend(
        [Canned(500, ECHO), Canned(401, ECHO), Canned(429, ECHO, {"Retry-After": "0"})]
    )
    state_path = tmp_path / "state.toml"
    app = hostile_app(hostile, state_path)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await until(pilot, ready(app))
        entry = app.monitor.book.entries["c_1"]
        await until(pilot, lambda: entry.timeline.last_message is not None)
        # A conversation that is not listed any more: its error goes to a notification.
        hostile.canned["conversation"].append(Canned(404, ECHO))
        app.run_worker(app.monitor.fetch_missing("ag_1", "c_gone", open_it=False))
        await until(pilot, lambda: any("cannot reopen" in n.message for n in app._notifications))
        await pilot.press("right_square_bracket")
        await until(pilot, ready(app))
        assert await app.monitor.state.flush()
        screenshot = app.export_screenshot()
        shown = [
            screenshot,
            *strip_texts(app.main.log_view.lines.lines),
            *strip_texts(widget_lines(app.main.status_footer)),
            *strip_texts(widget_lines(app.main.picker.options)),
            *(n.message for n in app._notifications),
            *(str(item) for item in app.monitor.book.entries["c_1"].timeline.items),
        ]
    # The faults really happened, and were reported.
    assert any("reconnecting" in t for t in status_texts)
    assert any("history unavailable" in line for line in shown)
    tickets = hostile.tickets
    assert len(tickets) >= 4
    out, err = capfd.readouterr()
    outputs = {
        "status texts": "\n".join(status_texts),
        "the screen": "\n".join(shown),
        "the state file": state_path.read_text(),
        "stdout": out,
        "stderr": err,
    }
    for where, text in outputs.items():
        assert_clean(text, API_KEY, tickets, where)
    assert_key_never_in_a_url(hostile)


# -- exception texts ---------------------------------------------------------------------------

STATUSES = [200, 301, 400, 401, 403, 404, 409, 410, 418, 429, 500, 501, 503]


@pytest.mark.parametrize("status", STATUSES)
async def test_typed_errors_never_carry_an_echoed_key(hostile: HostileServer, status: int) -> None:
    headers = {"Content-Type": "application/json", "Location": "https://evil.example/?k={auth}"}
    bodies = [
        ECHO,
        json.dumps(
            {"message": ["key: {token}", "auth: {auth}"], "code": "validation_error"}
        ).encode(),
        b"<html>{auth} {token} {url}</html>",
    ]
    for body in bodies:
        hostile.canned["agents"].append(Canned(status, body, headers))
    async with ConsoleClient(API_KEY, hostile.base_url, max_retries=0) as api:
        for _ in bodies:
            with pytest.raises(BimpeError) as caught:
                await api.list_agents()
            error = caught.value
            report = "".join(traceback.format_exception(error))
            for text in (str(error), repr(error), report, str(error.args)):
                assert_clean(text, API_KEY, [], f"a {type(error).__name__}")


async def test_stream_statuses_never_carry_an_echoed_ticket(
    hostile: HostileServer, status_texts: list[str]
) -> None:
    hostile.add(agent("ag_1"), conversation("c_1"), frames=[sse_frame(message("m_1"))])
    hostile.canned["stream"].extend(
        [
            Canned(500, ECHO),
            Canned(503, b"<html>{url} {ticket}</html>", {"Content-Type": "text/html"}),
            Canned(401, ECHO),
            Canned(403, ECHO),
            Canned(429, ECHO, {"Retry-After": "0"}),
            Canned(200, b"{ticket} {url}", {"Content-Type": "text/plain"}),
        ]
    )
    async with ConsoleClient(API_KEY, hostile.base_url) as api:
        stream = ResumableStream(api, "ag_1", "c_1", base_delay=0.01, max_retries=10)
        events = await collect(stream)
    assert statuses(events)[-1].state == "gave_up"
    assert not messages(events)
    assert len(hostile.tickets) == 6
    for text in status_texts:
        assert_clean(text, API_KEY, hostile.tickets, "a status")
    assert "text/plain" in status_texts[-1]


async def test_a_refused_key_of_any_shape_is_never_echoed(
    hostile: HostileServer, status_texts: list[str]
) -> None:
    odd_key = "BIMPE-PLAIN-KEY-7f3e9a1c5d"
    hostile.api_key = odd_key  # the server takes it for REST, then refuses tickets
    hostile.canned["ticket"].append(
        Canned(401, error_body("key {token} is invalid", "api_key_invalid"))
    )
    async with ConsoleClient(odd_key, hostile.base_url) as api:
        events = await collect(ResumableStream(api, "ag_1", "c_1", base_delay=0.01))
    assert statuses(events)[-1].state == "gave_up"
    for text in status_texts:
        assert odd_key not in text


# -- what a crash report would print ----------------------------------------------------------
# Textual's crash report shows the locals of every frame (show_locals=True), so any
# object holding the key must not show it in its repr.


async def test_the_client_and_the_stream_do_not_show_the_key_in_their_repr() -> None:
    async with ConsoleClient(API_KEY, "http://127.0.0.1:9") as api:
        stream = ResumableStream(api, "ag", "c")
        for text in (repr(api), repr(stream), repr(vars(stream).get("client"))):
            assert API_KEY not in text
        await stream.aclose()


def test_app_config_repr_hides_the_key(tmp_path: Path) -> None:
    config = AppConfig(state=StateStore(tmp_path / "s.toml"), api_key=API_KEY)
    assert API_KEY not in repr(config)


def test_settings_repr_hides_the_key(tmp_path: Path) -> None:
    settings = load_settings(config_path=tmp_path / "none.toml", env={"BIMPEAI_API_KEY": API_KEY})
    assert settings.api_key == API_KEY
    assert API_KEY not in repr(settings)


def test_error_texts_mask_secret_shapes_even_when_the_value_is_unknown() -> None:
    from bimpe_tui.api.errors import body_preview, printable

    echoed = (
        '{"ticket": "tk_Q2w3E4r5", "expires_in": 60} GET /s?ticket=tk_Z9y8X7&after=m_1 '
        f"Authorization: Bearer {API_KEY} key={API_KEY}"
    )
    for text in (printable(echoed), body_preview(echoed.encode())):
        assert "tk_Q2w3E4r5" not in text
        assert "tk_Z9y8X7" not in text
        assert API_KEY not in text
        assert "after=m_1" in text
    # A key cut in half by the length limit is masked before the cut.
    assert "sk_hos" not in printable("x" * 293 + " " + API_KEY)
    assert "sk_hos" not in body_preview(b"y" * 193 + b" " + API_KEY.encode())
