"""What the monitor connects with: a base URL, a key, and the server's name in the state file.

The monitor never starts a server of its own: the shell (the app, `bimpe-tui
watch`) owns the embedded demo server's lifetime and hands the monitor a
`Connection` to it, as it would to any server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..api.client import ConsoleClient

if TYPE_CHECKING:
    from ..demo.server import DemoServer


def server_key(base_url: str, demo: DemoServer | None) -> str:
    """The state file's key for a server: its base URL, or one stable key per demo world."""
    if demo is not None:
        return f"demo:seed={demo.world.seed},rate={demo.world.rate:g}"
    return base_url


@dataclass(frozen=True)
class Connection:
    """A server to monitor: where it is, the key, and its key in the state file."""

    base_url: str
    #: Never in a repr: Textual's crash report prints local variables.
    api_key: str | None = field(repr=False)
    #: The state file's key for the server (see `server_key`): its cursors resume
    #: from run to run only while this stays the same.
    state_key: str
    #: The embedded demo server: nothing sent reaches a person.
    demo: bool = False

    @classmethod
    def to(cls, base_url: str, api_key: str | None) -> Connection:
        """A server in its own right."""
        return cls(base_url, api_key, server_key(base_url, None))

    @classmethod
    def to_demo(cls, demo: DemoServer) -> Connection:
        """A running demo server (its base URL is known once it has started)."""
        return cls(demo.base_url, demo.api_key, server_key(demo.base_url, demo), demo=True)


class Link:
    """The monitor's client, once started: shared by every piece that asks the server."""

    def __init__(self) -> None:
        self.client: ConsoleClient | None = None

    def require(self) -> ConsoleClient:
        """The client; LookupError before the monitor has connected."""
        if self.client is None:
            raise LookupError("not connected")
        return self.client
