"""The event loop the app, `tail` and the demo server run on: uvloop where there is one.

uvloop (libuv under asyncio's API) makes the many-streams case cheaper: the
loop and its socket reads are most of what 200 watched streams cost (see the
README's Performance section). It is chosen at start-up; where it is not
installed (it has no Windows build) or `BIMPE_TUI_LOOP=asyncio` says so, the
standard loop runs instead, and everything works the same on both (the test
suite runs its engine and app tests on each).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: Set to "asyncio" to run on the standard loop even where uvloop is installed.
ENV = "BIMPE_TUI_LOOP"


def uvloop_wanted() -> bool:
    """Whether uvloop should run: installed, and not turned off by the environment."""
    if os.environ.get(ENV, "").strip().lower() == "asyncio":
        return False
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's where wanted, else the standard one."""
    if uvloop_wanted():
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """ "uvloop" or "asyncio": which loop `loop` is (for benchmarks and diagnostics)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on the chosen loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
