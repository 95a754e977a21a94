"""Bytes that are not UTF-8 in arguments or stdin: one line naming which, exit 2.

Each command runs as a real process, given the raw bytes a shell would pass
(`$'c_\\xff'`), against the demo server on loopback: nothing may reach it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bimpe_tui.demo.server import DemoServer
from tests.processes import CLI, child_env

WAIT = 30.0  # upper bound for a process to finish; never a timing assertion


#: How the child decodes stdin: Python's default lets undecodable bytes through as
#: surrogates; a strict one refuses them while reading. Both must end the same way.
STDIN_MODES = pytest.mark.parametrize("stdin_errors", ["surrogateescape", "strict"])


async def run(
    tmp_path: Path,
    *args: str | bytes,
    key: str = "",
    stdin: bytes = b"",
    stdin_errors: str = "",
) -> tuple[int, str]:
    """The command's exit code and its stderr (stdout must stay empty)."""
    env = child_env(tmp_path)
    if stdin_errors:
        env["PYTHONIOENCODING"] = f"utf-8:{stdin_errors}"
    if key:
        env["BIMPEAI_API_KEY"] = key
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), WAIT)
    assert proc.returncode is not None
    assert out == b""
    return proc.returncode, err.decode("utf-8", "backslashreplace")


def one_line(err: str) -> str:
    """The single line of stderr, after checking it is a single line and no traceback."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["tail", "ag_1", b"c_\xff"], "CONVERSATION_ID"),
        (["tail", b"\xfe\xfeag", "c_1"], "AGENT_ID"),
        (["tail", "ag_1", "c_1", "--after", b"m_\xc3"], "--after"),
        (["send", "ag_1", "c_1", "-m", b"hi\xff"], "-m/--message"),
        (["ai", "pause", "ag_1", b"c_\x80"], "CONVERSATION_ID"),
        (["export", "ag_1", "c_1", "-o", b"out\xff.md"], "-o/--output"),
        (["--state-file", b"/tmp/s\xff.toml", "--headless"], "--state-file"),
        (["watch", "--agent", "ag_1", "--agent", b"ag_\xff"], "--agent"),
        (["watch", "--state-file", b"/tmp/w\xff.toml"], "--state-file"),
        (["login", "--config", b"/tmp/c\xff.toml"], "--config"),
        (["demo-server", "--faults", b"dr\xffop"], "--faults"),
    ],
    ids=[
        *("tail-conversation", "tail-agent", "tail-after", "send-m", "ai", "export-o", "app"),
        *("watch-agent", "watch-state-file", "login-config", "demo-server-faults"),
    ],
)
async def test_an_argument_that_is_not_utf8_is_named(
    server: DemoServer, tmp_path: Path, args: list[str | bytes], named: str
) -> None:
    base = ["--base-url", server.base_url]
    # The connection options go before the subcommand, where every command takes them.
    code, err = await run(tmp_path, *base, *args, key=server.api_key)
    line = one_line(err)
    assert code == 2, err
    assert f"{named} is not valid UTF-8" in line
    assert server.api_key not in err
    # Refused before any request: the demo server saw none.
    assert server.stats["requests"] == 0


@STDIN_MODES
async def test_send_text_from_stdin_that_is_not_utf8(
    server: DemoServer, tmp_path: Path, stdin_errors: str
) -> None:
    agent_id, conv = server.world.conversation_ids()[0]
    code, err = await run(
        tmp_path,
        "send",
        agent_id,
        conv,
        "--base-url",
        server.base_url,
        key=server.api_key,
        stdin=b"hello \xff there\n",
        stdin_errors=stdin_errors,
    )
    line = one_line(err)
    assert code == 2
    assert "stdin is not valid UTF-8" in line
    assert server.actions.sent_count(conv) == 0


@STDIN_MODES
async def test_login_key_from_stdin_that_is_not_utf8(tmp_path: Path, stdin_errors: str) -> None:
    config = tmp_path / "config.toml"
    code, err = await run(
        tmp_path,
        "login",
        "--config",
        str(config),
        stdin=b"sk_abc\xffdef_secret\n",
        stdin_errors=stdin_errors,
    )
    line = one_line(err)
    assert code == 2
    assert "stdin is not valid UTF-8" in line
    # Whatever was typed for a key is never repeated back.
    assert "def_secret" not in err
    assert not config.exists()
