"""6. `bimpe-tui tail` end to end: a replay piped out, against the SDK printing the same JSON.

Both run as the user would: a process whose stdout is a pipe read by this
one. Ours is `bimpe-tui tail --after ID`; the SDK's is the few lines a user
would write (iterate the stream, `print(message.model_dump_json(), flush=True)`).
The rate counts lines from the first byte read to the `count`-th newline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from bench import mix_server
from bench.common import REPO, BenchError, DemoServerProcess
from bench.context import Context
from bench.per_message import replay_params
from bench.report import TIMES, Figure, Row, Target

SECTION = "6 tail"
_SDK_SCRIPT = """
import asyncio, sys
from bimpeai import AsyncBimpeAI

async def main(key, url, agent, conv, after):
    async with AsyncBimpeAI(api_key=key, base_url=url) as client:
        async for message in client.conversations.messages.stream(agent, conv, after=after):
            print(message.model_dump_json(), flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


def measure(ctx: Context) -> list[Row]:
    """Lines per second through a pipe, ours and the SDK's, run by run: on the demo
    world's replay, then on the long-and-hostile mix (`bench.mix_server`)."""
    count = 20_000 if ctx.quick else 100_000
    with DemoServerProcess(["--seed", "7", "--replay-cache", "512"]) as server:
        p = replay_params(server, count)
        rows = _compare(ctx, p, count, f"{count:,}-message replay", "")
    mix_count = 10_000 if ctx.quick else 50_000
    mix = [sys.executable, "-m", "bench.mix_server", str(mix_count)]
    with DemoServerProcess(command=mix) as server:
        p = {
            "base_url": server.base_url,
            "api_key": server.api_key,
            "agent": mix_server.AGENT,
            "conv": mix_server.CONVERSATION,
            "after": mix_server.message_id(0),
        }
        what = f"{mix_count:,} long (3 KB) and hostile (controls, bidi) messages"
        rows += _compare(ctx, p, mix_count, what, " (long and hostile)")
    ctx.note(
        "6 tail, long and hostile: a quarter each short, 3 KB ASCII, 3 KB of Yoruba, Chinese "
        "and emoji, and DEL, C1, bidi raw plus escaped controls (an eighth on two data lines)"
    )
    return rows


def _compare(ctx: Context, p: dict[str, Any], count: int, what: str, label: str) -> list[Row]:
    rates: dict[str, list[float]] = {"ours": [], "sdk": []}
    ratios: list[float] = []
    env = {**os.environ, "BIMPEAI_API_KEY": str(p["api_key"])}
    commands = {
        "ours": [
            str(REPO / ".venv" / "bin" / "bimpe-tui"),
            "tail",
            "--base-url",
            str(p["base_url"]),
            "--after",
            str(p["after"]),
            str(p["agent"]),
            str(p["conv"]),
        ],
        "sdk": [
            sys.executable,
            "-c",
            _SDK_SCRIPT,
            str(p["api_key"]),
            str(p["base_url"]),
            str(p["agent"]),
            str(p["conv"]),
            str(p["after"]),
        ],
    }
    _lines_per_second(commands["ours"], env, min(count, 2_000))  # warm the server's cache
    for run in range(ctx.runs):
        got = {name: _lines_per_second(cmd, env, count) for name, cmd in commands.items()}
        for name, rate in got.items():
            rates[name].append(rate)
        ratios.append(got["ours"] / got["sdk"])
        ctx.log(f"  run {run + 1}{label}: sdk {got['sdk']:,.0f}  ours {got['ours']:,.0f} lines/s")
    return [
        Row(
            SECTION,
            f"lines/s through a pipe, {what}",
            ours=Figure(rates["ours"], "msg/s"),
            sdk=Figure(rates["sdk"], "msg/s"),
        ),
        Row(
            SECTION,
            f"ours / SDK{label}",
            ours=Figure(ratios, "x"),
            target=Target(">=", 3.0, f"≥ 3{TIMES}"),
        ),
    ]


def _lines_per_second(command: list[str], env: dict[str, str], count: int) -> float:
    """Run `command`, read its stdout until `count` lines; lines per second after the first."""
    process = subprocess.Popen(  # noqa: S603 - our own commands
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdout is not None
    lines = 0
    first = 0.0
    in_first = 0
    deadline = time.monotonic() + 120 + count / 5_000
    try:
        while lines < count:
            data = os.read(process.stdout.fileno(), 1 << 18)
            if not data:
                raise BenchError(f"{command[0]} ended after {lines} of {count} lines")
            lines += data.count(b"\n")
            if not first:
                first = time.perf_counter()
                in_first = lines
            if time.monotonic() > deadline:
                raise BenchError(f"{command[0]}: {lines} of {count} lines in time")
        last = time.perf_counter()
    finally:
        process.kill()
        process.wait()
    seconds = last - first
    return (lines - in_first) / seconds if seconds > 0 else float("nan")
