"""The state file: per server, per conversation, the received and seen cursors.

Written atomically (temp file, fsync, rename) and debounced; read with
tomllib. A corrupt file is moved aside, one with values of the wrong type is
copied aside (and its well-typed rest used), a file from a newer version is
left alone (the run is read-only), and unknown keys are ignored. A write the
disk refuses is retried on its own until it succeeds, and said once.

Two copies of the app may share the file: each save reads the file, merges
(`state_merge`) and writes it as one step under a lock file beside it
(`state.toml.lock`), and a copy that starts while another runs says so
(each running copy holds a shared lock on `state.toml.in-use`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import errno
import os
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from . import atomic
from .state_merge import merge_servers

if sys.platform != "win32":
    import fcntl

STATE_VERSION = 1
DEFAULT_DEBOUNCE = 1.0
#: Seconds before a refused write is tried again; doubled each time, up to MAX_RETRY.
DEFAULT_RETRY = 2.0
MAX_RETRY = 60.0
#: Seconds a save waits for another copy's save to finish before it counts as failed
#: (and is retried): a copy stopped in the middle of one (ctrl+z) must not hang this one.
LOCK_WAIT = 5.0


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


def default_state_path() -> Path:
    """`state.toml` in platformdirs' user state dir (computed, not created)."""
    import platformdirs

    return platformdirs.user_state_path("bimpe-tui") / "state.toml"


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


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file, never half.

    Through the app's one atomic writer (`bimpe_tui.atomic`: fsynced, mode 600); the
    state directory is created if missing.
    """
    atomic.write_bytes(path, data, make_parents=True)


class NewerStateFile(OSError):
    """The file on disk was written by a newer version (by another copy, meanwhile)."""


def _parse_servers(data: dict[str, Any], problems: list[str]) -> dict[str, ServerState]:
    """Every server's state in a parsed file; what is of the wrong type is named in `problems`."""
    servers = data.get("servers", {})
    if not isinstance(servers, dict):
        problems.append(f"servers is a {_type_name(servers)}")
        return {}
    return {
        key: _parse_server(value, f"servers.{key!r}", problems) for key, value in servers.items()
    }


def _render(servers: dict[str, ServerState]) -> bytes:
    document = {
        "version": STATE_VERSION,
        "servers": {key: _dump_server(s) for key, s in servers.items()},
    }
    return tomli_w.dumps(document).encode("utf-8")


def _flock(fd: int, kind: int, wait: float) -> bool:
    """Take the flock `kind` on `fd`, trying for up to `wait` seconds; False if it could not.

    Polled rather than blocking, so a copy that holds the lock and never lets go
    (stopped with ctrl+z mid-save) costs a failed save, said and retried, not a hang.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        else:
            return True


class StateStore:
    """The state file in memory, saved at most once per `debounce` seconds.

    Each save merges with the file on disk (see `state_merge`), under a lock,
    so two copies of the app on one file lose nothing of each other's.
    """

    def __init__(
        self, path: Path, *, debounce: float = DEFAULT_DEBOUNCE, retry: float = DEFAULT_RETRY
    ) -> None:
        self.path = path
        self.debounce = debounce
        #: The first wait before a refused write is tried again.
        self.retry = retry
        self._retry_delay = retry
        self.servers: dict[str, ServerState] = {}
        #: Set when the file is from a newer version: we never overwrite it.
        self.read_only = False
        self.warnings: list[str] = []
        self.saves = 0
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._dirty = False
        self._pending: asyncio.Task[bool] | None = None
        #: Why the last write failed (the OS's words), until a write succeeds.
        self.failure: str | None = None
        #: Writes that failed, in all (each retry counts).
        self.failures = 0
        #: Called with `error` when writes start failing, and with None when one
        #: succeeds again: once each way, not at every retry.
        self.on_error: Callable[[str | None], None] | None = None
        self._closed = False
        self._saved = asyncio.Event()
        self._attempted = asyncio.Event()
        #: This copy's state and the file, as they were when it last read or wrote
        #: the file: what the next save merges against (see `state_merge`).
        self._mine: dict[str, ServerState] = {}
        self._written: dict[str, ServerState] = {}
        #: The descriptor holding this copy's shared lock on `<file>.in-use`.
        self._presence: int | None = None

    def _beside(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)

    @property
    def error(self) -> str | None:
        """The last write's failure in plain words, naming the file; None once saved."""
        if self.failure is None:
            return None
        return f"cannot save the state file {self.path}: {self.failure}"

    def open(self) -> list[str]:
        """Read the file and say this copy uses it (blocking). Returns warnings."""
        self.load()
        told = self.claim()
        if told is not None:
            self.warnings.append(told)
        return self.warnings

    def load(self) -> list[str]:
        """Read the file (blocking: call it from a thread). Returns warnings."""
        self.servers = {}
        try:
            return self._load()
        finally:
            # What the next save merges against: the file as read, and our state
            # (the same, or nothing for a fresh start).
            self._written = copy.deepcopy(self.servers)
            self._mine = copy.deepcopy(self.servers)

    def _load(self) -> list[str]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return self.warnings
        except NotADirectoryError:
            # A file where the state dir should be: there is no state file to
            # lose, so nothing is read-only; the writes fail, and say so, until
            # the way is clear.
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
        problems: list[str] = []
        self.servers = _parse_servers(data, problems)
        if problems:
            self._copy_aside(raw, problems)
        return self.warnings

    def _copy_aside(self, raw: bytes, problems: list[str]) -> None:
        """Keep the file as it was beside it, since the next save drops what was wrong."""
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        what = f"values of the wrong type ({problems[0]}{more})"
        try:
            write_atomically(aside, raw)
        except OSError as exc:
            # Not kept: never overwrite the only copy of what the user had.
            self.read_only = True
            self.warnings.append(
                f"the state file {self.path} has {what}; it could not be copied aside "
                f"({exc.strerror or exc}), so this run will not save"
            )
            return
        self.warnings.append(
            f"the state file {self.path} has {what}: a copy is in {aside}; the rest is used"
        )

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

    def claim(self) -> str | None:
        """Mark the file as used by this copy until `release` (blocking).

        Returns a warning if another running copy uses it too. Each copy
        holds a shared lock on `<file>.in-use`; a copy starting tries an
        exclusive one first, which fails while any other holds its shared one.
        """
        if sys.platform == "win32" or self._presence is not None or self.read_only:
            # A run that will not save leaves the dir as it found it, lock files too.
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._beside(".in-use"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            # The dir refuses: saving will fail too, and say so.
            return None
        alone = _flock(fd, fcntl.LOCK_EX, 0)
        # Down to shared, held while this copy runs. Only a copy's probe ever
        # holds the exclusive lock, for an instant, so this waits that long at most.
        if not _flock(fd, fcntl.LOCK_SH, LOCK_WAIT):
            os.close(fd)
            return None
        self._presence = fd
        if alone:
            return None
        return (
            f"another bimpe-tui is using the state file {self.path}: both save into it, "
            "merged, so neither loses what it watches or where you read"
        )

    def release(self) -> None:
        """Stop marking the file as used by this copy (`claim`)."""
        if self._presence is not None:
            os.close(self._presence)
            self._presence = None

    def render(self) -> bytes:
        """The file's content for the current state (before any merge)."""
        return _render(self.servers)

    def _read_current(self) -> dict[str, ServerState]:
        """The file as it is now, to merge with; as last written if it cannot be read.

        Unreadable, gone, or not valid TOML: nothing says another copy changed
        anything, so this copy writes what it knows (its last write included).
        """
        try:
            data = tomllib.loads(self.path.read_bytes().decode("utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
            return self._written
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return self._written
        if version > STATE_VERSION:
            raise NewerStateFile(
                errno.EPERM, f"a newer bimpe-tui (version {version}) has written it meanwhile"
            )
        return _parse_servers(data, [])

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Held while the file is read, merged and replaced: one copy at a time."""
        if sys.platform == "win32":
            yield
            return
        fd = os.open(self._beside(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _flock(fd, fcntl.LOCK_EX, LOCK_WAIT):
                raise OSError(errno.EWOULDBLOCK, "another bimpe-tui has been saving it too long")
            yield
        finally:
            os.close(fd)  # which lets go of the lock

    def _sync(self, ours: dict[str, ServerState]) -> dict[str, ServerState]:
        """Merge `ours` into the file and write it, as one step (blocking).

        Returns the state written, as the file now says it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._write_lock():
            merged = merge_servers(self._mine, self._written, ours, self._read_current())
            data = _render(merged)
            write_atomically(self.path, data)
        return _parse_servers(tomllib.loads(data.decode("utf-8")), [])

    def save_now(self) -> None:
        """Merge with the file and write it (blocking)."""
        if self.read_only:
            return
        ours = copy.deepcopy(self.servers)
        try:
            self._written = self._sync(ours)
        except NewerStateFile:
            self.read_only = True
            raise
        self._mine = ours
        self.saves += 1

    def save_if_changed(self) -> str | None:
        """Write the file (blocking) if anything changed since the last write.

        Returns why it could not be written (naming the file), or None: the
        last chance to save, on the way out, ends in a sentence, not a traceback.
        """
        if self._dirty and not self.read_only:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            try:
                self.save_now()
            except OSError as exc:
                return f"cannot write {self.path}: {exc.strerror or exc}"
            self._dirty = False
        return None

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

    async def close(self) -> bool:
        """The last flush of a run: no retries are scheduled after it."""
        self._closed = True
        try:
            return await self.flush()
        finally:
            self.release()

    async def flush(self) -> bool:
        """Write now if anything changed, off the event loop; False if it failed."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._lock:
            if not self._dirty or self.read_only:
                return True
            self._dirty = False
            # Copied on the loop (the state is only touched there); read, merged
            # and written in a thread.
            ours = copy.deepcopy(self.servers)
            try:
                written = await asyncio.to_thread(self._sync, ours)
            except OSError as exc:
                if isinstance(exc, NewerStateFile):
                    self.read_only = True
                self._failed(exc)
                return False
            self._written, self._mine = written, ours
            self._retry_delay = self.retry
            self.saves += 1
            if self.failure is not None:
                self.failure = None
                if self.on_error is not None:
                    self.on_error(None)
            saved, self._saved = self._saved, asyncio.Event()
            saved.set()
            self._attempt_done()
            return True

    def _failed(self, exc: OSError) -> None:
        """Keep the change and try again later, on a timer: the app goes on."""
        self._dirty = True
        self.failures += 1
        first = self.failure is None
        self.failure = exc.strerror or str(exc) or errno.errorcode.get(exc.errno or 0, "error")
        if first and self.on_error is not None:
            self.on_error(self.error)
        if not self._closed and self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._retry_delay, self._fire)
            self._retry_delay = min(MAX_RETRY, self._retry_delay * 2)
        self._attempt_done()

    def _attempt_done(self) -> None:
        attempted, self._attempted = self._attempted, asyncio.Event()
        attempted.set()

    async def wait_for_attempt(self) -> None:
        """Wait until the next write of the file has been tried, whatever came of it."""
        await self._attempted.wait()

    async def wait_for_save(self) -> None:
        """Wait until the next write of the file has completed."""
        await self._saved.wait()
