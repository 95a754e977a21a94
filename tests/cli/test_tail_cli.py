"""`bimpe-tui tail` and `bimpe-tui demo-server` end to end, as real processes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bimpe_tui.demo.server import DEMO_API_KEY
from bimpe_tui.demo.world import DemoWorld
from tests.loopback import API_KEY as LOOPBACK_KEY
from tests.loopback import LoopbackServer, Reply, frame
from tests.processes import CLI, child_env, demo_server_process, tail_to_pipe


@pytest.fixture
async def demo_process(tmp_path: Path) -> AsyncIterator[str]:
    """`bimpe-tui demo-server` as a separate process; yields its base URL."""
    async with demo_server_process(tmp_path, "--rate", "40", "--heartbeat", "0.2") as demo:
        assert DEMO_API_KEY in demo.first_line
        yield demo.base_url
    assert demo.returncode == 0, demo.rest
    assert "Traceback" not in demo.rest


def busiest(world: DemoWorld) -> tuple[str, str]:
    return max(world.conversation_ids(), key=lambda ids: world.latest_index(ids[1]))


async def start_tail(
    tmp_path: Path, *args: str, key: str = DEMO_API_KEY
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *CLI,
        "tail",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path, BIMPEAI_API_KEY=key),
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_tail_prints_json_lines_and_exits_0_on_signal(
    demo_process: str, tmp_path: Path, sig: signal.Signals
) -> None:
    world = DemoWorld(seed=7, rate=40.0)
    agent_id, conversation_id = busiest(world)
    start = world.latest_index(conversation_id) - 10
    after = world.message(conversation_id, start).id
    proc = await start_tail(
        tmp_path, agent_id, conversation_id, "--after", after, "--base-url", demo_process
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    lines = [json.loads(await asyncio.wait_for(proc.stdout.readline(), 20)) for _ in range(15)]
    assert [m["id"] for m in lines] == [
        world.message(conversation_id, start + 1 + i).id for i in range(15)
    ]
    assert set(lines[0]) >= {"id", "conversation_id", "role", "created_at"}
    proc.send_signal(sig)
    rest, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    assert "Traceback" not in err.decode()
    assert "live" in err.decode()
    assert DEMO_API_KEY not in err.decode() + rest.decode()


async def test_tail_without_a_key_exits_2_naming_the_ways(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "tail",
        "ag",
        "c",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert "BIMPEAI_API_KEY" in err.decode()
    assert "config.toml" in err.decode()
    assert "Traceback" not in err.decode()
    assert out == b""


async def test_tail_with_a_refused_key_exits_1_with_one_line(
    demo_process: str, tmp_path: Path
) -> None:
    world = DemoWorld(seed=7)
    agent_id, conversation_id = busiest(world)
    key = "sk_refused_key_987654321"
    proc = await start_tail(
        tmp_path, agent_id, conversation_id, "--base-url", demo_process, key=key
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 1
    text = err.decode()
    assert "gave up: the API key was refused" in text
    assert key not in text
    assert "Traceback" not in text


async def test_tail_refuses_plain_http_to_another_host(tmp_path: Path) -> None:
    proc = await start_tail(tmp_path, "ag", "c", "--base-url", "http://example.com")
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert "plain http" in err.decode()


async def test_version_is_fast_path_without_heavy_imports() -> None:
    code = (
        "import sys\n"
        "from bimpe_tui.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('textual', 'httpx', 'aiohttp') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    lines = out.decode().splitlines()
    assert lines[0].startswith("bimpe-tui ")
    assert lines[-1] == "[]"


async def test_stream_engine_does_not_import_textual() -> None:
    code = "import sys, bimpe_tui.api.stream; print('textual' in sys.modules)"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert out.decode().strip() == "False"


async def test_app_without_a_key_exits_2_naming_the_three_ways(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    text = err.decode()
    assert proc.returncode == 2
    for way in ("BIMPEAI_API_KEY", "config.toml", "--config"):
        assert way in text
    assert "Traceback" not in text
    assert out == b""


async def test_help_documents_every_option() -> None:
    proc = await asyncio.create_subprocess_exec(*CLI, "--help", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    text = out.decode()
    for option in ("--demo", "--chaos", "--state-file", "--config", "--base-url", "tail"):
        assert option in text


async def test_a_world_readable_config_file_with_a_key_warns(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('api_key = "sk_from_file_123456"\nbase_url = "http://127.0.0.1:9"\nx = 1\n')
    config.chmod(0o644)
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "tail",
        "ag",
        "c",
        "--config",
        str(config),
        "--max-retries",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path),
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    text = err.decode()
    assert "readable by others" in text
    assert "unknown key 'x'" in text
    assert "sk_from_file_123456" not in text
    assert proc.returncode == 1


async def login(
    tmp_path: Path, config: Path, typed: bytes
) -> tuple[asyncio.subprocess.Process, bytes, bytes]:
    """`bimpe-tui login --config CONFIG` with `typed` on its stdin, run to its end:
    (process, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "login",
        "--config",
        str(config),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path),
    )
    out, err = await asyncio.wait_for(proc.communicate(typed), 20)
    return proc, out, err


async def test_login_saves_the_key_readable_by_the_owner_alone(tmp_path: Path) -> None:
    config = tmp_path / "cfg" / "config.toml"
    config.parent.mkdir()
    config.write_text('base_url = "https://example.org"\n')
    proc, out, err = await login(tmp_path, config, b"sk_saved_key_123456\n")
    assert proc.returncode == 0, err
    assert config.stat().st_mode & 0o777 == 0o600
    text = config.read_text()
    assert 'api_key = "sk_saved_key_123456"' in text
    assert 'base_url = "https://example.org"' in text
    assert b"sk_saved_key_123456" not in out + err


async def test_login_refuses_what_is_not_a_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    proc, _, err = await login(tmp_path, config, b"hunter2\n")
    assert proc.returncode == 2
    assert b"start with sk_" in err
    assert not config.exists()


# -- against the loopback kit ----------------------------------------------------


async def test_tail_exits_0_when_stdout_closes(tmp_path: Path) -> None:
    # As with `bimpe-tui tail ... | head -1`: the reader goes away mid-stream.
    flood = b"".join(frame(f"m_{i}", "x" * 100) for i in range(5000))
    async with LoopbackServer() as server:
        server.add_streams([Reply(chunks=[flood], then="hang")])
        proc, reader, transport = await tail_to_pipe(
            tmp_path, server.base_url, LOOPBACK_KEY, stderr=asyncio.subprocess.PIPE
        )
        try:
            first = json.loads(await asyncio.wait_for(reader.readline(), 20))
        finally:
            # Closing our end is what `head` does once it has its line.
            transport.close()
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert first["id"] == "m_0"
    text = err.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    assert "Exception ignored" not in text
    assert "BrokenPipe" not in text


async def test_tail_to_plain_http_elsewhere_needs_insecure_http(tmp_path: Path) -> None:
    # 127.0.0.2 is this machine, but not an address the check takes for it:
    # to the check it is another machine reached in clear.
    async with LoopbackServer(host="127.0.0.2") as server:
        server.add_streams([Reply(chunks=[frame("m_1")], then="end")])
        args = ["ag_1", "c_1", "--base-url", server.base_url, "--no-reconnect"]
        refused = await start_tail(tmp_path, *args, key=LOOPBACK_KEY)
        _, err = await asyncio.wait_for(refused.communicate(), 20)
        assert refused.returncode == 2
        assert "plain http" in err.decode()
        assert "--insecure-http" in err.decode()
        # Refused before anything was sent: the key never left.
        assert server.requests == []

        allowed = await start_tail(tmp_path, *args, "--insecure-http", key=LOOPBACK_KEY)
        out, err = await asyncio.wait_for(allowed.communicate(), 20)
    assert allowed.returncode == 0, err.decode()
    assert [json.loads(line)["id"] for line in out.decode().splitlines()] == ["m_1"]
    assert "closed" in err.decode()
    assert [seen.headers.get("Authorization") for seen in server.requests[:1]] == [
        f"Bearer {LOOPBACK_KEY}"
    ]
