"""`bimpe-tui watch --demo --event waiting` as a real process: the demo's fast world
with a low `[waits] alert_after` read from `--config` prints `waiting` lines."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.processes import watch_demo

#: Upper bound on any wait; never a timing assertion.
WAIT = 90.0
#: Seconds a wait must last to be told, in the config file. The demo at rate 120
#: keeps some customer waiting for a person that long within seconds (1-15 s in
#: eight runs here; when is the world's chance, so the test starts among the
#: first, as its marker says, and waits beside the others).
ALERT_AFTER = 2


@pytest.mark.long(20)
async def test_watch_prints_a_waiting_line_from_the_config_files_threshold(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"refresh_interval = 2\n[waits]\nalert_after = {ALERT_AFTER}\n")
    config.chmod(0o600)
    process = await watch_demo(tmp_path, "--config", str(config), "--event", "waiting", rate="120")
    assert process.stdout is not None
    lines: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(WAIT):
            raw = await process.stdout.readline()
            assert raw, "watch ended early"
            lines.append(json.loads(raw))
    finally:
        process.send_signal(signal.SIGINT)
    rest, errors = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, errors.decode()
    assert b"Traceback" not in errors
    lines.extend(json.loads(raw) for raw in rest.splitlines())
    assert {line["event"] for line in lines} == {"waiting"}
    first = lines[0]
    assert set(first) == {"event", "agent_id", "conversation_id", "time", "since", "waited"}
    assert first["agent_id"]
    assert first["conversation_id"]
    assert isinstance(first["waited"], int)
    assert first["waited"] >= ALERT_AFTER
    since = datetime.fromisoformat(first["since"])
    told = datetime.fromisoformat(first["time"])
    assert (told - since).total_seconds() >= ALERT_AFTER
    # Once per wait.
    waits = [(line["conversation_id"], line["since"]) for line in lines]
    assert len(waits) == len(set(waits))
