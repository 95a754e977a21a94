"""Compatibility shim: the hostile server is now `tests.loopback.LoopbackServer`.

The server, its answers and the body helpers live in tests/loopback.py; they
are re-exported here for test_secrets.py, test_hostile_text.py and
test_hostile_files.py. What is left here drives the app (it imports Textual),
which the loopback kit does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from pathlib import Path
from typing import Any

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.state import StateStore
from tests.loopback import (
    API_KEY,
    CREATED,
    PREFIX,
    Canned,
    RawServer,
    Seen,
    agent,
    conversation,
    envelope,
    error_body,
    message,
    recursion_is_a_failure,
    sse_frame,
)
from tests.loopback import LoopbackServer as HostileServer

__all__ = [
    "API_KEY",
    "CREATED",
    "PREFIX",
    "Canned",
    "HostileServer",
    "RawServer",
    "Seen",
    "agent",
    "conversation",
    "envelope",
    "error_body",
    "hostile_app",
    "message",
    "recursion_is_a_failure",
    "sse_frame",
    "strip_texts",
    "widget_lines",
]


def hostile_app(server: HostileServer, state_path: Path, **stream_options: Any) -> BimpeApp:
    """The real app pointed at a hostile server, with short stream timeouts."""
    options: dict[str, Any] = {"base_delay": 0.05, "read_timeout": 30.0}
    options.update(stream_options)
    return BimpeApp(
        AppConfig(
            state=StateStore(state_path, debounce=0.05),
            api_key=server.api_key,
            base_url=server.base_url,
            stream_options=options,
            tz=UTC,
        )
    )


def strip_texts(strips: Iterable[Any]) -> list[str]:
    """The plain text of rendered Strips (what the terminal would be sent, minus styles)."""
    return ["".join(segment.text for segment in strip) for strip in strips]


def widget_lines(widget: Any) -> list[Any]:
    """Every line a widget renders for its current size, as Strips."""
    return [widget.render_line(y) for y in range(widget.size.height)]
