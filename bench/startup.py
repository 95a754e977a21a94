"""4. Start-up: ``bimpe-tui --version``, and ``bimpe-tui --demo`` to its first paint.

``--version`` is timed as a whole process (spawn to exit). The app is started in a
pseudo-terminal of 120x40, exactly as a user would start it, with HOME and the XDG
dirs pointed at a temporary directory; the clock runs from just before the spawn to the
first frame containing the title (first paint), and on to the first frame listing a
conversation of the demo world (conversations listed).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from bench.common import REPO, BenchError
from bench.context import Context
from bench.report import Figure, Row, Target

SECTION = "4 start-up"
ROWS, COLUMNS = 40, 120
_PAINT_TIMEOUT = 20.0
_TITLE = b"bimpe-tui"


def _command() -> str:
    script = Path(sys.executable).with_name("bimpe-tui")
    if not script.exists():
        raise BenchError(f"{script} not found: is the package installed in this venv?")
    return str(script)


def measure(ctx: Context) -> list[Row]:
    """Wall times of ``--version`` and of the app's first paint."""
    command = _command()
    version_runs = 10 if ctx.quick else 30
    version: list[float] = []
    # One unmeasured run first: the OS's file cache, not our code, dominates a cold start.
    _time_version(command)
    for _ in range(max(version_runs, ctx.runs)):
        version.append(_time_version(command))
    paint: list[float] = []
    listed: list[float] = []
    _first_paint(command, _usernames())
    for run in range(ctx.runs):
        first, conversations = _first_paint(command, _usernames())
        paint.append(first)
        listed.append(conversations)
        ctx.log(f"  run {run + 1}: first paint {first:.2f} s, listed {conversations:.2f} s")
    ctx.note(
        f"4: --version: median of {len(version)} process runs; first paint: spawn of "
        f"`bimpe-tui --demo` in a {COLUMNS}x{ROWS} pty until the title is drawn."
    )
    return [
        Row(SECTION, "bimpe-tui --version", ours=Figure(version, "ms"), target=_ms_target()),
        Row(
            SECTION,
            "--demo: launch to first paint",
            ours=Figure(paint, "s"),
            other=Figure(listed, "s"),
            other_label="conversations listed:",
            target=Target("<", 1.5, "< 1.5 s"),
        ),
    ]


def _ms_target() -> Target:
    return Target("<", 100, "< 100 ms")


def _time_version(command: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own console script
        [command, "--version"], capture_output=True, check=False, timeout=30, cwd=REPO
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or not done.stdout.startswith(b"bimpe-tui "):
        raise BenchError(f"--version failed: {done.stdout!r} {done.stderr!r}")
    return elapsed * 1000


def _usernames() -> list[bytes]:
    """What the picker shows for the demo world's conversations (any one will do)."""
    from bimpe_tui.demo.world import DemoWorld

    world = DemoWorld()
    names: list[bytes] = []
    for agent in world.agents():
        for conversation in world.conversations(str(agent["id"])):
            name = conversation["channel_user_username"]
            if isinstance(name, str) and name.isascii():
                names.append(name.encode())
    return names


def _first_paint(command: str, markers: list[bytes]) -> tuple[float, float]:
    """Seconds from spawn to the first frame with the title, and to one with a conversation."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_STATE_HOME": f"{home}/state",
            "XDG_DATA_HOME": f"{home}/data",
            "XDG_CACHE_HOME": f"{home}/cache",
            "TERM": "xterm-256color",
            "COLUMNS": str(COLUMNS),
            "LINES": str(ROWS),
        }
        env.pop("BIMPEAI_API_KEY", None)
        started = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our own console script
            [command, "--demo", "--state-file", f"{home}/state.toml"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=home,
            start_new_session=True,
        )
        os.close(slave)
        first = listed = 0.0
        seen = b""
        try:
            while not listed and time.perf_counter() - started < _PAINT_TIMEOUT:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                # Keep a tail of the previous read: a marker may straddle two reads.
                seen = seen[-64:] + chunk
                now = time.perf_counter() - started
                if not first and _TITLE in seen:
                    first = now
                if first and any(marker in seen for marker in markers):
                    listed = now
        finally:
            _stop(proc)
            os.close(master)
    if not first or not listed:
        raise BenchError("bimpe-tui --demo drew no first frame within 20 s")
    return first, listed


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
