"""The loop chosen at start-up: uvloop where installed, the standard loop when told."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from bimpe_tui import event_loop
from tests.processes import CLI, child_env


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


def _factory_without_eager_start(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, Any],
    *,
    name: str | None = None,
    context: contextvars.Context | None = None,
) -> asyncio.Task[Any]:
    # The signature of Python 3.13.0's asyncio.eager_task_factory, minus the eagerness.
    return asyncio.Task(coro, loop=loop, name=name, context=context)


@pytest.mark.parametrize("loop_setting", ["", "asyncio"], ids=["chosen", "asyncio"])
def test_a_task_factory_that_takes_no_eager_start_runs_on_either_loop(
    monkeypatch: pytest.MonkeyPatch, loop_setting: str
) -> None:
    # Textual 8 sets asyncio.eager_task_factory on its loop (Python 3.12+). On
    # Python 3.13, uvloop 0.23's create_task passes eager_start=None to any task
    # factory, and 3.13.0's factory takes no such argument: the app died at
    # launch with a TypeError. Both factories must work on the loop we choose.
    monkeypatch.setenv(event_loop.ENV, loop_setting)
    factories: list[Any] = [_factory_without_eager_start]
    eager = getattr(asyncio, "eager_task_factory", None)
    if eager is not None:
        factories.append(eager)

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        results = []
        for factory in factories:
            loop.set_task_factory(factory)
            results.append(await asyncio.create_task(asyncio.sleep(0, "ran")))
            results.append(await loop.create_task(asyncio.sleep(0, "ran"), name="named"))
        loop.set_task_factory(None)
        return results

    assert event_loop.run(main()) == ["ran"] * 2 * len(factories)


async def test_the_app_starts_under_textuals_task_factory(tmp_path: Path) -> None:
    # The app as `bimpe-tui --demo` starts it (the pilot's run_test sets no task
    # factory; run_async does): it must get as far as showing messages.
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "--demo",
        "--headless",
        "--record",
        "-",
        "--state-file",
        str(tmp_path / "state.toml"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path),
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line:
            # It died: its traceback says why.
            raise AssertionError((await proc.stderr.read()).decode())
        shown = json.loads(line)
        assert shown["id"]
        assert shown["c"]
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
