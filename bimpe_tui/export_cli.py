"""`bimpe-tui export`: a whole conversation to a file or stdout, progress on stderr.

What is written, and how, is `bimpe_tui.export`'s; here are the command's progress
display, its output (a file replaced only once complete, or stdout) and exit codes.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from .api.client import ConsoleClient
from .export import ExportFormat, atomic_text_file, export_conversation

__all__ = ["PROGRESS_FROM", "ProgressReport", "run_export"]

#: Conversations shorter than this export without a progress display: done at once.
PROGRESS_FROM = 1000
_BAR_WIDTH = 30
_REDRAW_EVERY = 0.1


class ProgressReport:
    """An export's progress on stderr: a bar redrawn in place on a terminal, else lines.

    Shown only for conversations of ``PROGRESS_FROM`` messages or more. On a terminal
    the bar is redrawn at most ten times a second and cleared at the end; elsewhere (a
    log, a pipe) a plain line at every tenth of the way, no carriage returns.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._terminal = stream.isatty() if terminal is None else terminal
        self._clock = clock
        self._drawn_at = -_REDRAW_EVERY
        self._tenths = 0
        self._bar_shown = False

    def __call__(self, written: int, total: int | None) -> None:
        """Report ``written`` of ``total`` messages."""
        if total is None or total < PROGRESS_FROM:
            return
        total = max(total, written)
        if self._terminal:
            now = self._clock()
            if written < total and now - self._drawn_at < _REDRAW_EVERY:
                return
            self._drawn_at = now
            filled = _BAR_WIDTH * written // total
            bar = "█" * filled + "░" * (_BAR_WIDTH - filled)
            percent = 100 * written // total
            self._stream.write(
                f"\rbimpe-tui: exporting {bar} {percent:3d}% {written:,}/{total:,} messages"
            )
            self._bar_shown = True
            self._stream.flush()
            return
        tenths = 10 * written // total
        if tenths > self._tenths:
            self._tenths = tenths
            self._stream.write(
                f"bimpe-tui: exported {written:,} of {total:,} messages ({10 * tenths} %)\n"
            )
            self._stream.flush()

    def finish(self) -> None:
        """Clear the bar (if drawn), so what follows starts on a clean line."""
        if self._bar_shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._bar_shown = False


def _utf8_stdout() -> io.TextIOWrapper:
    # Exports are UTF-8 whatever the locale says: a C locale would refuse the first é.
    return io.TextIOWrapper(
        sys.stdout.buffer, encoding="utf-8", newline="\n", line_buffering=False, write_through=False
    )


async def _export_to(
    *,
    api_key: str,
    base_url: str,
    agent_id: str,
    conversation_id: str,
    fmt: ExportFormat,
    out: TextIO,
    report: ProgressReport,
) -> int:
    async with ConsoleClient(api_key, base_url) as client:
        return await export_conversation(
            client, agent_id, conversation_id, out, fmt, progress=report
        )


def run_export(
    *,
    api_key: str,
    base_url: str,
    agent_id: str,
    conversation_id: str,
    fmt: ExportFormat,
    output: str | None,
    stderr: TextIO | None = None,
) -> int:
    """Run `bimpe-tui export`: the whole conversation to ``output`` (None or "-": stdout).

    A file is written through :func:`atomic_text_file`, so an interrupted or failed
    export leaves no half file. Returns the exit code: 0 done, 1 failed.
    """
    from . import event_loop
    from .api.errors import BimpeError

    err = sys.stderr if stderr is None else stderr
    report = ProgressReport(err)
    to_stdout = output is None or output == "-"

    def export_to(out: TextIO) -> int:
        written = event_loop.run(
            _export_to(
                api_key=api_key,
                base_url=base_url,
                agent_id=agent_id,
                conversation_id=conversation_id,
                fmt=fmt,
                out=out,
                report=report,
            )
        )
        out.flush()
        return written

    try:
        if to_stdout:
            stdout = _utf8_stdout()
            try:
                written = export_to(stdout)
            finally:
                # Not closed: that would close the process's stdout under Python's feet.
                with contextlib.suppress(ValueError, OSError):
                    stdout.detach()
        else:
            assert output is not None
            with atomic_text_file(output, suffix=".part") as out:
                written = export_to(out)
    except BimpeError as exc:
        report.finish()
        print(f"bimpe-tui: export failed: {exc}", file=err)
        return 1
    except OSError as exc:
        report.finish()
        if isinstance(exc, BrokenPipeError) and to_stdout:
            # The reader went away (`| head`): what it wanted, it got.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        print(f"bimpe-tui: export failed: {exc.strerror or exc}: {output}", file=err)
        return 1
    except KeyboardInterrupt:
        report.finish()
        print("bimpe-tui: export interrupted; nothing written", file=err)
        return 1
    report.finish()
    where = "stdout" if to_stdout else os.path.abspath(str(output))
    print(f"bimpe-tui: wrote {written:,} messages to {where}", file=err)
    return 0
