"""The loop chosen at start-up: uvloop where installed, the standard loop when told."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from bimpe_tui import event_loop


async def test_the_engine_tests_run_on_each_loop(request: pytest.FixtureRequest) -> None:
    # The id names the loop this run asked for; the running loop must be that one.
    asked = "asyncio" if "[asyncio]" in request.node.name else "uvloop"
    assert event_loop.loop_name(asyncio.get_running_loop()) == asked


def test_uvloop_is_chosen_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV, raising=False)
    loop = event_loop.new_event_loop()
    try:
        assert event_loop.loop_name(loop) == "uvloop"
    finally:
        loop.close()
    monkeypatch.setenv(event_loop.ENV, "asyncio")
    loop = event_loop.new_event_loop()
    try:
        assert event_loop.loop_name(loop) == "asyncio"
    finally:
        loop.close()


def test_run_uses_the_chosen_loop() -> None:
    code = (
        "import asyncio; from bimpe_tui import event_loop as e\n"
        "async def which(): return e.loop_name(asyncio.get_running_loop())\n"
        "print(e.run(which()))"
    )
    for setting, expected in (("", "uvloop"), ("asyncio", "asyncio")):
        env = {**os.environ, event_loop.ENV: setting}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected
