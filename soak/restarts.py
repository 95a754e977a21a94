"""Kill the app with SIGKILL at random moments, restart it, and check nothing was lost.

The app runs as a real process (`bimpe-tui --headless --record -`) against a
demo server in another process; `--record -` makes it print every message it
takes in as a JSON line, which is how this checker knows what was delivered.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from bimpe_tui.demo.server import DEMO_API_KEY
from bimpe_tui.demo.world import DemoWorld

CLI = [sys.executable, "-m", "bimpe_tui"]
SEED = 7
RATE = 100.0
WATCHED = 3


@dataclass
class Report:
    """What the restart run found."""

    kills: int = 0
    delivered: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    problems: list[str] = field(default_factory=list)
    #: Per conversation, the first index that must be delivered from a received
    #: cursor saved before anything was (see check_state).
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


async def start_demo(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    """`bimpe-tui demo-server` in its own process; returns it and its base URL."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "demo-server",
        "--seed",
        str(SEED),
        "--rate",
        str(RATE),
        "--heartbeat",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if match is None:
        raise RuntimeError(f"demo server did not start: {line!r}")
    return proc, match.group(1)


def seed_state(path: Path, server_key: str, conversations: list[tuple[str, str]]) -> None:
    """A state file that watches `conversations` (so the first run opens them all)."""
    document = {
        "version": 1,
        "servers": {
            server_key: {
                "watched": [c for _, c in conversations],
                "selected": conversations[0][1],
                "conversations": {c: {"agent_id": a} for a, c in conversations},
            }
        },
    }
    path.write_text(tomli_w.dumps(document))


def check_state(path: Path, server_key: str, world: DemoWorld, report: Report) -> None:
    """The state file parses, and no received cursor is ahead of what was delivered."""
    if not path.exists():
        return
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        report.problems.append(f"state file broken after kill {report.kills}: {exc}")
        return
    conversations = data.get("servers", {}).get(server_key, {}).get("conversations", {})
    for conversation_id, cursor in conversations.items():
        received = cursor.get("received")
        if received is None:
            continue
        parsed = world.parse_message_id(received)
        if parsed is None:
            report.problems.append(f"{conversation_id}: received cursor {received} unknown")
            continue
        delivered = report.delivered.get(conversation_id, set())
        if not delivered:
            # A first open saves the message just before the page it is about
            # to show, then records the page: a kill in between leaves this
            # cursor with nothing delivered. It claims nothing shown; what it
            # promises is that everything after it comes, which the final check
            # then covers from here.
            start = min(report.starts.get(conversation_id, parsed[1] + 1), parsed[1] + 1)
            report.starts[conversation_id] = start
            continue
        if parsed[1] > max(delivered):
            report.problems.append(
                f"{conversation_id}: received cursor {received} is past every delivered message"
            )


async def one_run(
    base_url: str,
    state: Path,
    env: dict[str, str],
    world: DemoWorld,
    report: Report,
    stop_after: int | None,
    caught_up: dict[str, int] | None,
) -> None:
    """Run the app until it has recorded `stop_after` lines (or caught up), then SIGKILL it."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "--headless",
        "--record",
        "-",
        "--state-file",
        str(state),
        "--base-url",
        base_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**env, "BIMPEAI_API_KEY": DEMO_API_KEY},
    )
    assert proc.stdout is not None
    seen_this_run: dict[str, set[int]] = defaultdict(set)

    def take(raw: bytes) -> None:
        record = json.loads(raw)
        parsed = world.parse_message_id(record["id"])
        assert parsed is not None
        conversation_id, index = parsed
        if index in seen_this_run[conversation_id]:
            report.problems.append(f"{record['id']} delivered twice in one run")
        seen_this_run[conversation_id].add(index)
        report.delivered[conversation_id].add(index)

    lines = 0
    try:
        async with asyncio.timeout(120):
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    report.problems.append(f"run {report.kills}: the app ended on its own")
                    return
                take(raw)
                lines += 1
                if stop_after is not None and lines >= stop_after:
                    return
                if caught_up is not None and all(
                    max(seen_this_run.get(c, {-1})) >= target for c, target in caught_up.items()
                ):
                    return
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
        # What the app wrote before the kill and this checker had not read yet
        # (hundreds of lines when it lags, on a busy machine): delivered all the
        # same, and the app may have saved their cursors. Left out, they would
        # count as lost. A last line without its newline was cut by the kill:
        # the app saves a cursor only after the record is flushed whole.
        rest = await proc.stdout.read()
        for raw in rest.split(b"\n")[:-1]:
            take(raw)
        report.kills += 1


async def run_restarts(kills: int, workdir: Path, seed: int = 0) -> Report:
    """Kill and restart the app `kills` times; then check every message was delivered."""
    rng = random.Random(seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIMPEAI_")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    demo, base_url = await start_demo(env)
    report = Report()
    try:
        world = DemoWorld(seed=SEED, rate=RATE)
        busiest = sorted(world.conversation_ids(), key=lambda ids: -world.latest_index(ids[1]))
        watched = busiest[:WATCHED]
        state = workdir / "state.toml"
        seed_state(state, base_url, watched)
        for _ in range(kills):
            await one_run(base_url, state, env, world, report, rng.randint(1, 300), None)
            check_state(state, base_url, world, report)
        # The last run goes on until it has everything the server had when it started.
        targets = {c: world.latest_index(c) for _, c in watched}
        await one_run(base_url, state, env, world, report, None, targets)
        check_state(state, base_url, world, report)
        for _, conversation_id in watched:
            got = report.delivered.get(conversation_id, set())
            if not got:
                report.problems.append(f"{conversation_id}: nothing delivered")
                continue
            first = min(min(got), report.starts.get(conversation_id, min(got)))
            missing = set(range(first, targets[conversation_id] + 1)) - got
            if missing:
                report.problems.append(
                    f"{conversation_id}: {len(missing)} messages never delivered, "
                    f"e.g. index {min(missing)}"
                )
    finally:
        demo.send_signal(signal.SIGINT)
        await demo.wait()
    return report
