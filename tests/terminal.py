"""The app as a real process in a pseudo-terminal, fed the bytes a terminal sends.

Textual's pilot hands the app key names; a real terminal sends bytes that
Textual must decode (ESC-prefixed alt keys, CSI sequences, kitty's protocol,
SGR mouse). `Terminal` runs `bimpe-tui` on a pty, writes such bytes to it,
and reads the screen back through `pyte`, a terminal emulator, so a test
sees what a person would. Every byte the app wrote is kept too, for what a
screen does not show (the bell, desktop-notification sequences).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Callable, Sequence
from pathlib import Path

import pyte

#: Bytes real terminals send for keys (xterm's defaults; alt as an ESC prefix).
KEYS: dict[str, bytes] = {
    "enter": b"\r",
    "escape": b"\x1b",
    "tab": b"\t",
    "backspace": b"\x7f",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "ctrl+p": b"\x10",
    "ctrl+q": b"\x11",
}


def alt(key: str) -> bytes:
    """Alt+key as most terminals send it (tmux included): ESC, then the key."""
    return b"\x1b" + key.encode()


def kitty(codepoint: int, modifiers: int = 1) -> bytes:
    """A key in the kitty keyboard protocol: CSI code ; modifiers u (alt is 3)."""
    return f"\x1b[{codepoint};{modifiers}u".encode()


#: The kitty keyboard protocol's mode sequences (push, pop, query, set).
_KITTY_MODE = re.compile(rb"\x1b\[[>?<=][0-9;]*u")


class Terminal:
    """`bimpe-tui` on a pseudo-terminal of `cols` x `rows`, with a screen to read."""

    def __init__(self, args: Sequence[str], *, cols: int, rows: int, home: Path) -> None:
        self.args = list(args)
        self.cols = cols
        self.rows = rows
        self.home = home
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        #: Everything the app wrote, as bytes.
        self.output = bytearray()
        self.process: subprocess.Popen[bytes] | None = None
        self._fd = -1
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Terminal:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_STATE_HOME": str(self.home / "state"),
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "LANG": "C.UTF-8",
        }
        # Popen returns at once (fork and exec); nothing here waits on the child.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bimpe_tui", *self.args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        os.close(slave)
        self._fd = master
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._read)
        return self

    def _read(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except OSError:  # the app ended: the pty is closed
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._fd)
        self.output.extend(data)
        # pyte does not know the kitty keyboard protocol's "CSI > flags u" and
        # friends, and would print their final "u": leave them out of its view.
        self.stream.feed(_KITTY_MODE.sub(b"", data))
        self._changed.set()

    async def __aexit__(self, *exc: object) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(process.wait), 10)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
                await asyncio.to_thread(process.wait)
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self._fd)
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def send(self, *keys: str | bytes) -> None:
        """Type keys: names from KEYS, other strings as typed text, bytes as they are."""
        for key in keys:
            data = key if isinstance(key, bytes) else KEYS.get(key, key.encode())
            os.write(self._fd, data)

    @property
    def text(self) -> str:
        """The screen as a person reads it, one line per row."""
        # From the cell buffer: pyte's own `display` can fail on a wide character
        # in the last column. A wide character's second cell holds "".
        buffer = self.screen.buffer
        return "\n".join(
            "".join(buffer[y][x].data for x in range(self.cols)).rstrip() for y in range(self.rows)
        )

    async def wait_for(self, predicate: Callable[[], bool], limit: float = 20.0) -> None:
        """Wait until `predicate()` holds, re-checking whenever the app writes."""
        async with asyncio.timeout(limit):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def shows(self, words: str, limit: float = 20.0) -> None:
        """Wait until `words` are on screen."""
        try:
            await self.wait_for(lambda: words in self.text, limit)
        except TimeoutError:
            raise AssertionError(f"{words!r} never showed; the screen:\n{self.text}") from None

    async def ended(self, limit: float = 15.0) -> int:
        """Wait for the app to exit; its exit code."""
        assert self.process is not None
        return await asyncio.wait_for(asyncio.to_thread(self.process.wait), limit)
