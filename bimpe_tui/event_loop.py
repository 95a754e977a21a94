"""The event loop the app, `tail` and the demo server run on: uvloop where there is one.

uvloop (libuv under asyncio's API) makes the many-streams case cheaper: the
loop and its socket reads are most of what 200 watched streams cost (see
docs/performance.md). It is chosen at start-up; where it is not
installed (it has no Windows build) or `BIMPE_TUI_LOOP=asyncio` says so, the
standard loop runs instead, and everything works the same on both (the test
suite runs its engine and app tests on each).

uvloop's loop is wrapped so that a task factory written for Python's own loop
works on it: on Python 3.13, uvloop 0.23 passes `eager_start` to every task
factory, and 3.13.0's `asyncio.eager_task_factory` (which Textual sets) takes
no such argument, so the app died at launch.
"""

from __future__ import annotations

import asyncio
import functools
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


def tolerant_task_factory(factory: Any) -> Any:
    """`factory`, called without `eager_start` when the loop passes only its default.

    Python's own loop calls a task factory with `name` and `context` (and, from
    3.14, `eager_start` only when the caller gave one); uvloop 0.23 on 3.13 always
    adds `eager_start=None`. Dropping that default calls the factory as Python's
    loop would; an `eager_start` someone asked for is passed on as it is.
    """

    def call(
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any],
        *,
        eager_start: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        if eager_start is not None:
            kwargs["eager_start"] = eager_start
        return factory(loop, coro, **kwargs)

    call.wrapped = factory  # type: ignore[attr-defined]
    return call


@functools.cache
def _uvloop_class() -> type[asyncio.AbstractEventLoop]:
    """uvloop's loop class, taking the task factories Python's loop takes (made once)."""
    import uvloop

    class Loop(uvloop.Loop):
        """uvloop's loop, taking the task factories Python's loop takes."""

        def set_task_factory(self, factory: Any) -> None:
            super().set_task_factory(None if factory is None else tolerant_task_factory(factory))

        def get_task_factory(self) -> Any:
            # The factory as it was set, not its wrapper.
            factory = super().get_task_factory()
            return getattr(factory, "wrapped", factory)

    return Loop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's where wanted, else the standard one."""
    if uvloop_wanted():
        return _uvloop_class()()
    return asyncio.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """ "uvloop" or "asyncio": which loop `loop` is (for benchmarks and diagnostics)."""
    # By its classes: ours subclasses uvloop's.
    uv = any(cls.__module__.startswith("uvloop") for cls in type(loop).__mro__)
    return "uvloop" if uv else "asyncio"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on the chosen loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
