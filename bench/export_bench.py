"""7. `bimpe-tui export` of the long demo conversation (about 100,000 messages), end to end.

Ours is the command as a user runs it (`bimpe-tui export AGENT CONV -o FILE`), in JSON
Lines and in Markdown; the SDK's is the few lines a user would write to save the same
JSON Lines (page through list messages oldest first, write each message's JSON). Each
is timed from spawn to exit, so start-up counts; the rate is messages written per
second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, BenchError, DemoServerProcess
from bench.context import Context
from bench.report import TIMES, Figure, Row, Target

SECTION = "7 export"
_SDK_SCRIPT = """
import asyncio, sys
from bimpeai import AsyncBimpeAI

async def main(key, url, agent, conv, path):
    async with AsyncBimpeAI(api_key=key, base_url=url) as client:
        page = await client.conversations.messages.list(agent, conv, limit=100, sort="created_at")
        with open(path, "w", encoding="utf-8") as out:
            async for message in page:
                out.write(message.model_dump_json() + "\\n")

asyncio.run(main(*sys.argv[1:]))
"""


def measure(ctx: Context) -> list[Row]:
    """Messages per second written to a file: ours in both formats, and the SDK."""
    rates: dict[str, list[float]] = {"jsonl": [], "md": [], "sdk": []}
    ratios: list[float] = []
    count = 0
    with DemoServerProcess(["--seed", "7"]) as server, tempfile.TemporaryDirectory() as tmp:
        agent, conv = _long_conversation(server)
        env = {**os.environ, "BIMPEAI_API_KEY": server.api_key}
        ours = [str(REPO / ".venv" / "bin" / "bimpe-tui"), "export", "--base-url"]
        ours += [server.base_url, agent, conv]
        out = Path(tmp)
        commands = {
            "jsonl": [*ours, "-o", str(out / "ours.jsonl")],
            "md": [*ours, "-o", str(out / "ours.md")],
            "sdk": [
                sys.executable,
                "-c",
                _SDK_SCRIPT,
                server.api_key,
                server.base_url,
                agent,
                conv,
                str(out / "sdk.jsonl"),
            ],
        }
        results = {"jsonl": out / "ours.jsonl", "md": None, "sdk": out / "sdk.jsonl"}
        for run in range(ctx.runs):
            got: dict[str, float] = {}
            for name, command in commands.items():
                seconds = _run(command, env)
                written = _lines(results[name]) if results[name] else count
                if name == "jsonl":
                    count = written
                got[name] = written / seconds
                rates[name].append(got[name])
            ratios.append(got["jsonl"] / got["sdk"])
            ctx.log(
                f"  run {run + 1}: {count:,} messages; jsonl {got['jsonl']:,.0f}  "
                f"md {got['md']:,.0f}  sdk {got['sdk']:,.0f} msg/s"
            )
    return [
        Row(
            SECTION,
            f"export of a {count:,}-message conversation, JSON Lines, msg/s",
            ours=Figure(rates["jsonl"], "msg/s"),
            sdk=Figure(rates["sdk"], "msg/s"),
        ),
        Row(SECTION, "... as Markdown, msg/s", ours=Figure(rates["md"], "msg/s")),
        Row(
            SECTION,
            "ours / SDK (JSON Lines)",
            ours=Figure(ratios, "x"),
            target=Target(">=", 1.0, f"≥ 1{TIMES}"),
        ),
    ]


def _long_conversation(server: DemoServerProcess) -> tuple[str, str]:
    """The conversation with the most messages: the demo world's long one."""
    from bimpe_tui.demo.world import DemoWorld

    # The world is a pure function of seed and clock: the server's is this one.
    found = DemoWorld(seed=7).long_conversation()
    if found is None:
        raise BenchError("the demo world has no long conversation")
    return found


def _run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own commands
        command, env=env, capture_output=True, timeout=600, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"{command[:2]} failed: {done.stderr.decode()[-300:]}")
    return seconds


def _lines(path: Path | None) -> int:
    assert path is not None
    with path.open("rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
