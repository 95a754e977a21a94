"""What the demo server's request handlers need from it, named so none imports the server.

The REST, write, stream and control handlers are built by
:class:`~bimpe_tui.demo.server.DemoServer` and handed the server as a
:class:`ServerContext`: the handlers depend on this description, the server satisfies it,
and no module of the demo imports one that imports it back.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Protocol

from bimpe_tui.demo.actions import UserActions
from bimpe_tui.demo.faults import FaultPlan
from bimpe_tui.demo.world import DemoWorld

__all__ = ["ServerContext", "StreamRequestRecord"]


@dataclass(frozen=True, slots=True)
class StreamRequestRecord:
    """What one stream GET looked like on the wire."""

    path: str
    query_string: str
    query: dict[str, str]
    headers: dict[str, str]
    """Request headers with lower-cased names."""


class ServerContext(Protocol):
    """The server's state and signals as its request handlers see them."""

    world: DemoWorld
    actions: UserActions
    api_key: str
    writes_allowed: bool
    stream_lag: bool
    heartbeat_interval: float
    ticket_ttl: float
    stats: collections.Counter[str]
    stream_requests: collections.deque[StreamRequestRecord]

    @property
    def faults(self) -> FaultPlan:
        """The fault plan in force (it may be replaced while the server runs)."""
        ...

    @property
    def active_streams(self) -> int:
        """How many stream responses are open right now."""
        ...

    @property
    def stopping(self) -> bool:
        """True once :meth:`~bimpe_tui.demo.server.DemoServer.stop` has begun."""
        ...

    def wake(self) -> None:
        """Make idle streams re-check the clock and the fault plan now."""
        ...

    def notify_change(self) -> None:
        """Tell whoever waits on the server's state that it changed."""
        ...

    async def idle(self, seconds: float) -> None:
        """Sleep up to ``seconds``, or until :meth:`wake`."""
        ...

    async def wait_stopped(self) -> None:
        """Wait until the server stops."""
        ...
