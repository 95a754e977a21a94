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

This module is `StateStore`: opening the file, saving it (debounced, retried)
and the corrupt-file handling. The file's format (`Cursor`, `ServerState`,
parsing with its type checks, writing) is in `state_format`, the locks in
`state_lock`, the merge in `state_merge`; the names others import from here
still are.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import os
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from . import atomic
from .state_format import STATE_VERSION, Cursor, ServerState, parse_servers, render_servers
from .state_lock import claim_presence, write_lock
from .state_merge import merge_servers

__all__ = [
    "DEFAULT_DEBOUNCE",
    "DEFAULT_RETRY",
    "MAX_RETRY",
    "STATE_VERSION",
    "Cursor",
    "NewerStateFile",
    "ServerState",
    "StateStore",
    "default_state_path",
    "write_atomically",
]

DEFAULT_DEBOUNCE = 1.0
#: Seconds before a refused write is tried again; doubled each time, up to MAX_RETRY.
DEFAULT_RETRY = 2.0
MAX_RETRY = 60.0


def default_state_path() -> Path:
    """`state.toml` in platformdirs' user state dir (computed, not created)."""
    import platformdirs

    return platformdirs.user_state_path("bimpe-tui") / "state.toml"


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file, never half.

    Through the app's one atomic writer (`bimpe_tui.atomic`: fsynced, mode 600); the
    state directory is created if missing.
    """
    atomic.write_bytes(path, data, make_parents=True)


class NewerStateFile(OSError):
    """The file on disk was written by a newer version (by another copy, meanwhile)."""


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
        self.servers = parse_servers(data, problems)
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

        Returns a warning if another running copy uses it too (see
        `state_lock.claim_presence`).
        """
        if self._presence is not None or self.read_only:
            # A run that will not save leaves the dir as it found it, lock files too.
            return None
        held = claim_presence(self.path)
        if held is None:
            return None
        self._presence, alone = held
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
        return render_servers(self.servers)

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
        return parse_servers(data, [])

    def _sync(self, ours: dict[str, ServerState]) -> dict[str, ServerState]:
        """Merge `ours` into the file and write it, as one step (blocking).

        Returns the state written, as the file now says it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with write_lock(self.path):
            merged = merge_servers(self._mine, self._written, ours, self._read_current())
            data = render_servers(merged)
            write_atomically(self.path, data)
        return parse_servers(tomllib.loads(data.decode("utf-8")), [])

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
