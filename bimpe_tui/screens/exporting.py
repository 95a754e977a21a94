"""`e`: export the open conversation, the question asked first and the progress shown.

Writing the file is the monitor's (`Monitor.export`); here is what a person
sees: which messages (loaded, or all pages from the server) in which format,
the progress under the log while pages come, and where the file went.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api.errors import BimpeError
from ..export import ExportFormat
from ..render import one_line
from .confirm import ConfirmScreen, open_dialog

if TYPE_CHECKING:
    from .main import MainScreen

__all__ = ["ask_export", "export_conversation"]

#: The question's choices: scope-format, then cancel.
CHOICES = [
    ("loaded-md", "Loaded → Markdown"),
    ("loaded-jsonl", "Loaded → JSON Lines"),
    ("all-md", "All → Markdown"),
    ("all-jsonl", "All → JSON Lines"),
    ("cancel", "Cancel"),
]


def ask_export(screen: MainScreen) -> None:
    """Ask what to export of the open conversation; the answer starts `export_open`."""
    entry = screen.open_entry()
    if entry is None:
        screen.notify("no conversation open to export", markup=False)
        return
    loaded = len(entry.timeline.messages())

    def chosen(choice: str | None) -> None:
        if choice is None or choice == "cancel":
            return
        scope, fmt = choice.split("-")
        screen.export_open("jsonl" if fmt == "jsonl" else "md", everything=scope == "all")

    question = (
        f"Export {one_line(entry.conversation.who, 40)}: the {loaded:,} messages "
        "loaded, or all of it (every page fetched from the server)?"
    )
    open_dialog(screen.app, ConfirmScreen("Export", question, CHOICES), chosen)


async def export_conversation(
    screen: MainScreen, fmt: ExportFormat, *, everything: bool
) -> str | None:
    """Export the open conversation, its progress in the log's subtitle; the file's path
    (None if nothing was written: the failure is said)."""
    entry = screen.open_entry()
    if entry is None:
        return None
    log = screen.log_view
    what = "all" if everything else "loaded"

    def progress(written: int, total: int | None) -> None:
        of = f" of {total:,}" if total else ""
        log.border_subtitle = f"exporting ({what}): {written:,}{of} messages"

    progress(0, None)
    try:
        path, written = await screen.monitor.export(
            entry.id, fmt, everything=everything, progress=progress
        )
    except (BimpeError, OSError) as exc:
        screen.notify(f"export failed: {exc}", severity="error", markup=False)
        return None
    finally:
        log.border_subtitle = ""
    screen.notify(f"exported {written:,} messages to {path}", markup=False, timeout=10)
    return path
