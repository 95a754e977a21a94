"""`bimpe-tui send` and `bimpe-tui ai pause|resume` as real processes against the demo server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bimpe_tui.demo.server import DemoServer
from bimpe_tui.safe_text import json_line
from tests.apptools import FakeClock
from tests.processes import CLI, child_env

WAIT = 30.0  # upper bound for a process to finish; never a timing assertion


async def run(
    tmp_path: Path, *args: str, key: str, stdin: bytes | None = None
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path, BIMPEAI_API_KEY=key),
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin or b""), WAIT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_send_with_m_and_from_stdin(server: DemoServer, tmp_path: Path) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    url = ["--base-url", server.base_url]
    code, out, err = await run(
        tmp_path, "send", agent_id, conv, "-m", "Hello 👋", *url, key=server.api_key
    )
    assert code == 0, err
    sent = json.loads(out)
    assert sent["message"] == "Hello 👋"
    assert sent["role"] == "assistant"
    code, out, err = await run(
        tmp_path, "send", agent_id, conv, *url, key=server.api_key, stdin=b"line 1\nline 2\n"
    )
    assert code == 0, err
    assert json.loads(out)["message"] == "line 1\nline 2"
    assert server.actions.sent_count(conv) == 2


async def test_send_prints_json_as_tail_and_watch_do(server: DemoServer, tmp_path: Path) -> None:
    # One style for every command: compact, UTF-8, unsafe characters escaped.
    agent_id, conv = server.world.conversation_ids()[0]
    text = "Ça va 👋 \u202egnp.exe"
    code, out, err = await run(
        tmp_path, "send", agent_id, conv, "-m", text, "--base-url", server.base_url,
        key=server.api_key,
    )  # fmt: skip
    assert code == 0, err
    line = out.removesuffix("\n")
    assert "\n" not in line
    assert json.loads(line)["message"] == text
    assert line == json_line(json.loads(line))
    assert "\\u202e" in line
    assert "Ça va 👋" in line
    assert ", " not in line.replace(text, "")


async def test_send_retries_a_lost_answer_once(server: DemoServer, tmp_path: Path) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    server.faults.inject("send_lost")
    code, _, err = await run(
        tmp_path, "send", agent_id, conv, "-m", "one", "--base-url", server.base_url,
        key=server.api_key,
    )  # fmt: skip
    assert code == 0, err
    assert server.faults.injected["send_lost"] == 1
    assert server.actions.sent_count(conv) == 1


async def test_ai_pause_and_resume(server: DemoServer, tmp_path: Path) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    url = ["--base-url", server.base_url]
    code, out, err = await run(tmp_path, "ai", "pause", agent_id, conv, *url, key=server.api_key)
    assert code == 0, err
    assert json.loads(out) == {"is_ai_chat_paused": True}
    code, out, err = await run(tmp_path, "ai", "resume", agent_id, conv, *url, key=server.api_key)
    assert code == 0, err
    assert json.loads(out) == {"is_ai_chat_paused": False}


async def test_failures_say_why_without_the_key(server: DemoServer, tmp_path: Path) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    url = ["--base-url", server.base_url]
    code, out, err = await run(tmp_path, "send", agent_id, conv, *url, key=server.api_key)
    assert code == 2
    assert "nothing to send" in err
    code, out, err = await run(
        tmp_path, "send", agent_id, "c_nope", "-m", "x", *url, key=server.api_key
    )
    assert code == 1
    assert "404" in err
    code, out, err = await run(tmp_path, "send", agent_id, conv, "-m", "x", *url, key="sk_wrong1")
    assert code == 1
    assert "sk_wrong1" not in err + out
    assert server.actions.sent_count(conv) == 0


async def test_a_read_only_key_and_read_only_config(clock: FakeClock, tmp_path: Path) -> None:
    async with DemoServer(clock=clock, writes_allowed=False) as server:
        agent_id, conv = server.world.conversation_ids()[0]
        url = ["--base-url", server.base_url]
        code, _, err = await run(tmp_path, "ai", "pause", agent_id, conv, *url, key=server.api_key)
        assert code == 1
        assert "this key can only read" in err
    config = tmp_path / "config.toml"
    config.write_text("read_only = true\n")
    code, _, err = await run(
        tmp_path, "send", agent_id, conv, "-m", "x", "--config", str(config), *url, key="sk_x"
    )
    assert code == 2
    assert "read-only" in err
