"""The state file: per server, per conversation, the received and seen cursors.

Written atomically (temp file, fsync, rename) and debounced; read with
tomllib. A corrupt file is moved aside, a file from a newer version is left
alone (the run is read-only), and unknown keys are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

STATE_VERSION = 1
DEFAULT_DEBOUNCE = 1.0


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


@dataclass
class ServerState:
    """Everything remembered about one server (one base URL)."""

    cursors: dict[str, Cursor] = field(default_factory=dict)
    watched: list[str] = field(default_factory=list)
    selected: str | None = None
    #: The selected conversation was open with "peek" (opened again so after a restart).
    peeking: bool = False


def default_state_path() -> Path:
    """`state.toml` in platformdirs' user state dir (computed, not created)."""
    import platformdirs

    return platformdirs.user_state_path("bimpe-tui") / "state.toml"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_server(raw: Any) -> ServerState:
    state = ServerState()
    if not isinstance(raw, dict):
        return state
    conversations = raw.get("conversations")
    if isinstance(conversations, dict):
        for conversation_id, entry in conversations.items():
            if not isinstance(entry, dict) or not _str(entry.get("agent_id")):
                continue
            state.cursors[conversation_id] = Cursor(
                agent_id=entry["agent_id"],
                received=_str(entry.get("received")),
                received_at=_str(entry.get("received_at")),
                seen=_str(entry.get("seen")),
            )
    watched = raw.get("watched")
    if isinstance(watched, list):
        state.watched = [w for w in watched if isinstance(w, str) and w in state.cursors]
    state.selected = _str(raw.get("selected"))
    state.peeking = state.selected is not None and raw.get("peeking") is True
    return state


def _dump_server(state: ServerState) -> dict[str, Any]:
    conversations: dict[str, Any] = {}
    for conversation_id, cursor in state.cursors.items():
        entry = {"agent_id": cursor.agent_id}
        for key in ("received", "received_at", "seen"):
            value = getattr(cursor, key)
            if value is not None:
                entry[key] = value
        conversations[conversation_id] = entry
    out: dict[str, Any] = {"watched": list(state.watched), "conversations": conversations}
    if state.selected is not None:
        out["selected"] = state.selected
        if state.peeking:
            out["peeking"] = True
    return out


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    # The rename itself must reach the disk too.
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class StateStore:
    """The state file in memory, saved at most once per `debounce` seconds."""

    def __init__(self, path: Path, *, debounce: float = DEFAULT_DEBOUNCE) -> None:
        self.path = path
        self.debounce = debounce
        self.servers: dict[str, ServerState] = {}
        #: Set when the file is from a newer version: we never overwrite it.
        self.read_only = False
        self.warnings: list[str] = []
        self.saves = 0
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._dirty = False
        self._pending: asyncio.Task[bool] | None = None
        #: The last write error, in plain words, until a write succeeds.
        self.error: str | None = None
        self._saved = asyncio.Event()

    def load(self) -> list[str]:
        """Read the file (blocking: call it from a thread). Returns warnings."""
        self.servers = {}
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return self.warnings
        except OSError as exc:
            self.read_only = True
            self.warnings.append(
                f"cannot read the state file {self.path} ({exc.strerror or exc}); "
                "this run will not save where you are"
            )
            return self.warnings
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
            return self._set_aside("is not valid TOML")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return self._set_aside("has no version")
        if version > STATE_VERSION:
            self.read_only = True
            self.warnings.append(
                f"the state file {self.path} is from a newer bimpe-tui (version {version}); "
                "it is left untouched and this run will not save"
            )
        servers = data.get("servers")
        if isinstance(servers, dict):
            self.servers = {key: _parse_server(value) for key, value in servers.items()}
        return self.warnings

    def _set_aside(self, problem: str) -> list[str]:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        try:
            os.replace(self.path, aside)
            where = f"moved to {aside}"
        except OSError as exc:
            self.read_only = True
            where = f"could not be moved aside ({exc.strerror or exc}); not saving"
        self.warnings.append(f"the state file {problem}: {where}; starting fresh")
        return self.warnings

    def server(self, key: str) -> ServerState:
        """The state of one server, created empty on first use."""
        return self.servers.setdefault(key, ServerState())

    def render(self) -> bytes:
        """The file's content for the current state."""
        document = {
            "version": STATE_VERSION,
            "servers": {key: _dump_server(s) for key, s in self.servers.items()},
        }
        return tomli_w.dumps(document).encode("utf-8")

    def save_now(self) -> None:
        """Write the file (blocking)."""
        if self.read_only:
            return
        write_atomically(self.path, self.render())
        self.saves += 1

    def save_if_changed(self) -> None:
        """Write the file (blocking) if anything changed since the last write."""
        if self._dirty and not self.read_only:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._dirty = False
            self.save_now()

    def changed(self) -> None:
        """Note a change; the file is written within `debounce` seconds."""
        self._dirty = True
        if self._timer is None and not self.read_only:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.debounce, self._fire)

    def _fire(self) -> None:
        self._timer = None
        # Keep a reference until done; asyncio holds tasks only weakly.
        self._pending = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> bool:
        """Write now if anything changed, off the event loop; False if it failed."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._lock:
            if not self._dirty or self.read_only:
                return True
            self._dirty = False
            # Render on the loop (the state is only touched there), write in a thread.
            data = self.render()
            try:
                await asyncio.to_thread(write_atomically, self.path, data)
            except OSError as exc:
                # Keep the change: the next change or the exit flush tries again.
                self._dirty = True
                self.error = f"cannot save the state file: {exc.strerror or exc}"
                return False
            self.error = None
            self.saves += 1
            saved, self._saved = self._saved, asyncio.Event()
            saved.set()
            return True

    async def wait_for_save(self) -> None:
        """Wait until the next write of the file has completed."""
        await self._saved.wait()
