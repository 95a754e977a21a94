"""`bimpe-tui` commands as real processes: the environment they get, and the demo server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

#: How tests start the command line: the package of this checkout.
CLI = [sys.executable, "-m", "bimpe_tui"]


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process: no BIMPEAI_ settings, its own home and dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIMPEAI_")}
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env.update(extra)
    return env


async def watch_demo(tmp_path: Path, *args: str, rate: str = "30") -> asyncio.subprocess.Process:
    """`bimpe-tui watch --demo` at `rate`, its state file in `tmp_path`, stdout and
    stderr piped; `args` come last."""
    return await asyncio.create_subprocess_exec(
        *CLI,
        "watch",
        "--demo",
        "--rate",
        rate,
        "--state-file",
        str(tmp_path / "state.toml"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path),
    )


async def tail_to_pipe(
    tmp_path: Path, base_url: str, key: str, *, stderr: int, limit: int = 1 << 16
) -> tuple[asyncio.subprocess.Process, asyncio.StreamReader, asyncio.ReadTransport]:
    """`bimpe-tui tail ag_1 c_1` from `base_url` with its stdout an OS pipe, as a shell
    pipeline gives it (tail can widen it; closing the read end is what `head` does).

    Returns the process, a reader of the pipe (lines up to `limit` bytes: asyncio's
    default unless told) and the transport that holds the read end.
    """
    read_end, write_end = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "tail",
        "ag_1",
        "c_1",
        "--base-url",
        base_url,
        stdout=write_end,
        stderr=stderr,
        env=child_env(tmp_path, BIMPEAI_API_KEY=key),
    )
    # The child holds its own copy: ours open would keep the pipe from ever ending.
    os.close(write_end)
    reader = asyncio.StreamReader(limit=limit)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_end, "rb", 0)
    )
    return proc, reader, transport


@dataclass
class DemoProcess:
    """A running `bimpe-tui demo-server`: its address, and what it printed."""

    process: asyncio.subprocess.Process
    base_url: str
    port: int
    #: The line it printed at start (address and demo key).
    first_line: str
    #: Everything else it printed, stdout then stderr; filled in once it has stopped.
    rest: str = ""
    returncode: int | None = None


@asynccontextmanager
async def demo_server_process(tmp_path: Path, *args: str) -> AsyncIterator[DemoProcess]:
    """`bimpe-tui demo-server ARGS` in its own process, stopped with Ctrl-C at the end."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "demo-server",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path),
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
    assert match, first
    demo = DemoProcess(proc, match.group(0), int(match.group(1)), first)
    try:
        yield demo
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        demo.returncode = await asyncio.wait_for(proc.wait(), 20)
        demo.rest = (await proc.stdout.read()).decode() + (await proc.stderr.read()).decode()
