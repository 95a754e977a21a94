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
import time
from collections import deque
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
    "shift+tab": b"\x1b[Z",
    "ctrl+c": b"\x03",
    "ctrl+f": b"\x06",
    "ctrl+g": b"\x07",
    "ctrl+o": b"\x0f",
    "ctrl+p": b"\x10",
    "ctrl+q": b"\x11",
    "ctrl+r": b"\x12",
}


def mouse(button: int, x: int, y: int, *, release: bool = False) -> bytes:
    """An SGR mouse report (xterm mode 1006) at the 0-based cell x, y.

    `button` 0 is the left button, 32 added means motion with it held, 64 and
    65 are the wheel up and down.
    """
    return f"\x1b[<{button};{x + 1};{y + 1}{'m' if release else 'M'}".encode()


def click(x: int, y: int) -> bytes:
    """A left click (press and release) at the 0-based cell x, y."""
    return mouse(0, x, y) + mouse(0, x, y, release=True)


def alt(key: str) -> bytes:
    """Alt+key as most terminals send it (tmux included): ESC, then the key."""
    return b"\x1b" + key.encode()


def kitty(codepoint: int, modifiers: int = 1) -> bytes:
    """A key in the kitty keyboard protocol: CSI code ; modifiers u (alt is 3)."""
    return f"\x1b[{codepoint};{modifiers}u".encode()


#: The kitty keyboard protocol's mode sequences (push, pop, query, set).
_KITTY_MODE = re.compile(rb"\x1b\[[>?<=][0-9;]*u")

#: Synchronized output (DEC mode 2026): the app asks whether the terminal has
#: it, and then brackets each frame. The harness answers yes, as kitty, iTerm2,
#: WezTerm and tmux 3.4 do, and shows the screen only between whole frames: a
#: frame arrives in several reads, and a half-drawn one is not what a person sees.
_ASK_SYNC = b"\x1b[?2026$p"
_HAS_SYNC = b"\x1b[?2026;2$y"
_FRAME_START = b"\x1b[?2026h"
_FRAME_END = b"\x1b[?2026l"


class Terminal:
    """`bimpe-tui` on a pseudo-terminal of `cols` x `rows`, with a screen to read."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cols: int,
        rows: int,
        home: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = list(args)
        self.extra_env = env or {}
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
        #: Bytes of a frame not yet complete, held back from the screen.
        self._pending = bytearray()
        #: For a failure's message: when the app last wrote, whether its output
        #: is still read, and the last keys sent (when, what).
        self._last_output = time.monotonic()
        self._reading = False
        self._sent: deque[tuple[float, bytes]] = deque(maxlen=8)
        #: The screen's text, kept until the screen changes: a wait re-reads it on
        #: every write of the app, and building it cell by cell is most of the
        #: test's own time at 200x50.
        self._text: str | None = None

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
            **self.extra_env,
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
        self._reading = True
        return self

    def _read(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            # Woken with nothing to read: libuv (uvloop's readers) says its poll
            # handles may wake spuriously. Not the end of the app: taken for
            # one, the screen would freeze here while the app goes on.
            return
        except OSError:  # the app ended: the pty is closed (EIO)
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._reading = False
        else:
            self._last_output = time.monotonic()
        if _ASK_SYNC in data:
            os.write(self._fd, _HAS_SYNC)
        self.output.extend(data)
        pending = self._pending
        pending.extend(data)
        # Everything but a frame still open (begun and not yet ended); when the
        # app has ended, everything it wrote.
        opened = pending.rfind(_FRAME_START)
        still_open = opened != -1 and pending.find(_FRAME_END, opened) == -1
        cut = opened if still_open and data else len(pending)
        shown = bytes(pending[:cut])
        del pending[:cut]
        if shown:
            # pyte does not know the kitty keyboard protocol's "CSI > flags u" and
            # friends, and would print their final "u": leave them out of its view.
            self.stream.feed(_KITTY_MODE.sub(b"", shown))
            self._text = None
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
            self._sent.append((time.monotonic(), data))

    def resize(self, cols: int, rows: int) -> None:
        """Resize the terminal, as a window manager does: new size, then SIGWINCH."""
        assert self.process is not None
        self.cols, self.rows = cols, rows
        self.screen.resize(rows, cols)
        self._text = None
        fcntl.ioctl(self._fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        # The app's session has no controlling terminal to signal it: tell it directly.
        os.killpg(self.process.pid, signal.SIGWINCH)

    def colour(self, x: int, y: int) -> str:
        """The foreground colour of the cell at x, y (pyte's name or hex)."""
        return str(self.screen.buffer[y][x].fg)

    def find(self, words: str) -> tuple[int, int]:
        """The cell (x, y) where `words` first start on screen."""
        buffer = self.screen.buffer
        for y in range(self.rows):
            line = ""
            # Columns, not characters: a wide character's second cell holds "".
            column_of: list[int] = []
            for x in range(self.cols):
                data = buffer[y][x].data
                line += data
                column_of.extend([x] * len(data))
            at = line.find(words)
            if at != -1:
                return column_of[at], y
        raise AssertionError(f"{words!r} is not on screen:\n{self.text}")

    def span(self, y: int, start: int, end: int) -> str:
        """The text in row y from column `start` up to `end`, by columns.

        Not a slice of `text`: a wide character takes two columns but one
        character there, so string positions drift after it.
        """
        return "".join(self.screen.buffer[y][x].data for x in range(start, end))

    @property
    def text(self) -> str:
        """The screen as a person reads it, one line per row."""
        # From the cell buffer: pyte's own `display` can fail on a wide character
        # in the last column. A wide character's second cell holds "".
        if self._text is None:
            buffer = self.screen.buffer
            self._text = "\n".join(
                "".join(buffer[y][x].data for x in range(self.cols)).rstrip()
                for y in range(self.rows)
            )
        return self._text

    async def wait_for(self, predicate: Callable[[], bool], limit: float = 20.0) -> None:
        """Wait until `predicate()` holds, re-checking whenever the app writes.

        Fails with the screen as it was, so a failure shows what a person saw.
        """
        try:
            async with asyncio.timeout(limit):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            screen = self.text
            raise AssertionError(
                f"still not so after {limit} s ({self._state()}); the screen:\n{screen}"
            ) from None

    def _state(self) -> str:
        """What a failure needs besides the screen: a frozen screen (its output no
        longer read, or an app that ended or went quiet) is not a key the app lost."""
        now = time.monotonic()
        process = self.process
        code = process.poll() if process is not None else None
        app = "the app is running" if code is None else f"the app ended with code {code}"
        reading = "its output read" if self._reading else "its output NO LONGER READ"
        keys = ", ".join(f"{data!r} {now - at:.1f} s ago" for at, data in self._sent)
        return (
            f"{app}, {reading}, its last output {now - self._last_output:.1f} s ago; "
            f"the last keys sent: {keys or 'none'}"
        )

    async def shows(self, words: str, limit: float = 20.0) -> None:
        """Wait until `words` are on screen."""
        try:
            await self.wait_for(lambda: words in self.text, limit)
        except AssertionError as error:
            raise AssertionError(f"{words!r} never showed; {error}") from None

    async def ended(self, limit: float = 15.0) -> int:
        """Wait for the app to exit; its exit code."""
        assert self.process is not None
        return await asyncio.wait_for(asyncio.to_thread(self.process.wait), limit)
