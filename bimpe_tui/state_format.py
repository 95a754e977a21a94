"""The state file's format: what is remembered per server, and its TOML form.

`parse_servers` reads a parsed file's `servers` table value by value: each
value of the wrong type is skipped and named (the caller copies the file
aside before the next save drops it), and keys this version does not know are
ignored (a newer version may have added them). `render_servers` writes the
whole file. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tomli_w

STATE_VERSION = 1


@dataclass
class Cursor:
    """Where one conversation stands: what arrived, and what the user saw."""

    agent_id: str
    #: The last message delivered to the app: the stream resumes after it.
    received: str | None = None
    #: That message's creation time, the fallback if the server forgets its id.
    received_at: str | None = None
    #: The last message the user had on screen with the terminal focused.
    seen: str | None = None
    #: That message's creation time: which of two copies' seen cursors is further along.
    seen_at: str | None = None


@dataclass
class ServerState:
    """Everything remembered about one server (one base URL)."""

    cursors: dict[str, Cursor] = field(default_factory=dict)
    watched: list[str] = field(default_factory=list)
    selected: str | None = None
    #: The selected conversation was open with "peek" (opened again so after a restart).
    peeking: bool = False
    #: Each listed conversation's number (see `numbers.Numbers`), kept across restarts.
    numbers: dict[str, int] = field(default_factory=dict)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _type_name(value: Any) -> str:
    return {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        list: "array",
        dict: "table",
    }.get(type(value), type(value).__name__)


def _parse_server(raw: Any, where: str, problems: list[str]) -> ServerState:
    """One server's state; each value of the wrong type is skipped and named in
    `problems` (keys this version does not know are not problems: a newer
    version may have added them)."""
    state = ServerState()
    if not isinstance(raw, dict):
        problems.append(f"{where} is a {_type_name(raw)}")
        return state
    conversations = raw.get("conversations", {})
    if not isinstance(conversations, dict):
        problems.append(f"{where}.conversations is a {_type_name(conversations)}")
        conversations = {}
    for conversation_id, entry in conversations.items():
        here = f"{where}.conversations.{conversation_id}"
        if not isinstance(entry, dict):
            problems.append(f"{here} is a {_type_name(entry)}")
            continue
        agent_id = entry.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id:
            kind = "missing" if agent_id is None else "empty" if agent_id == "" else None
            problems.append(f"{here}.agent_id is {kind or 'a ' + _type_name(agent_id)}")
            continue
        values: dict[str, str | None] = {}
        for key in ("received", "received_at", "seen", "seen_at"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                problems.append(f"{here}.{key} is a {_type_name(value)}")
            values[key] = _str(value)
        state.cursors[conversation_id] = Cursor(agent_id=agent_id, **values)
    watched = raw.get("watched", [])
    if not isinstance(watched, list):
        problems.append(f"{where}.watched is a {_type_name(watched)}")
        watched = []
    for item in watched:
        if not isinstance(item, str):
            problems.append(f"{where}.watched holds a {_type_name(item)}")
        elif item in state.cursors and item not in state.watched:
            state.watched.append(item)
    selected = raw.get("selected")
    if selected is not None and not isinstance(selected, str):
        problems.append(f"{where}.selected is a {_type_name(selected)}")
    state.selected = _str(selected)
    peeking = raw.get("peeking", False)
    if not isinstance(peeking, bool):
        problems.append(f"{where}.peeking is a {_type_name(peeking)}")
    state.peeking = state.selected is not None and peeking is True
    numbers = raw.get("numbers", {})
    if not isinstance(numbers, dict):
        problems.append(f"{where}.numbers is a {_type_name(numbers)}")
        numbers = {}
    for conversation_id, number in numbers.items():
        if isinstance(number, bool) or not isinstance(number, int):
            problems.append(f"{where}.numbers.{conversation_id} is a {_type_name(number)}")
        elif number > 0:
            state.numbers[conversation_id] = number
    return state


def _dump_server(state: ServerState) -> dict[str, Any]:
    conversations: dict[str, Any] = {}
    for conversation_id, cursor in state.cursors.items():
        entry = {"agent_id": cursor.agent_id}
        for key in ("received", "received_at", "seen", "seen_at"):
            value = getattr(cursor, key)
            if value is not None:
                entry[key] = value
        conversations[conversation_id] = entry
    out: dict[str, Any] = {"watched": list(state.watched), "conversations": conversations}
    if state.selected is not None:
        out["selected"] = state.selected
        if state.peeking:
            out["peeking"] = True
    if state.numbers:
        out["numbers"] = dict(state.numbers)
    return out


def parse_servers(data: dict[str, Any], problems: list[str]) -> dict[str, ServerState]:
    """Every server's state in a parsed file; what is of the wrong type is named in `problems`."""
    servers = data.get("servers", {})
    if not isinstance(servers, dict):
        problems.append(f"servers is a {_type_name(servers)}")
        return {}
    return {
        key: _parse_server(value, f"servers.{key!r}", problems) for key, value in servers.items()
    }


def render_servers(servers: dict[str, ServerState]) -> bytes:
    """The whole file's content for `servers`, this version's number in it."""
    document = {
        "version": STATE_VERSION,
        "servers": {key: _dump_server(s) for key, s in servers.items()},
    }
    return tomli_w.dumps(document).encode("utf-8")
