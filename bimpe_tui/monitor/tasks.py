"""The monitor's background tasks: kept until done, failures told, cancelled on close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterable
from typing import Any

from .events import Emit, Notice

#: What a piece of the monitor hands to `Tasks.spawn`.
Job = Coroutine[Any, Any, None]


class Tasks:
    """Every task the monitor runs in the background (the streams' pumps included)."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Job) -> None:
        """Run `coro` in the background until it ends or the monitor closes."""
        # Kept until done: the loop holds tasks only weakly.
        self._tasks.add(self.start(coro))

    def start(self, coro: Job) -> asyncio.Task[None]:
        """Run `coro` as a task the caller keeps (and cancels); its failure is told."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self._emit(Notice(f"internal error: {type(exc).__name__}: {exc}", "error"))

    async def cancel(self, others: Iterable[asyncio.Task[None]] = ()) -> None:
        """Cancel every spawned task, wait for them and for `others` (already cancelled)."""
        pending = [*others, *self._tasks]
        for task in self._tasks:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
