"""`ctrl+o` in the log's search: the server searches the whole conversation.

Its matches are listed (newest first); the one chosen is read in place, in its
page of history. What a person sees meanwhile: "asking the server…" in the
search's own count (a toast would cover it), and a failure said in words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api.errors import BimpeError
from ..api.models import Message
from ..history import HistoryError
from .confirm import dialog_open
from .history_results import HistoryResults

if TYPE_CHECKING:
    from .main import MainScreen

__all__ = ["read_in_place", "search_whole_conversation"]


async def search_whole_conversation(
    screen: MainScreen, conversation_id: str, query: str
) -> Message | None:
    """Ask the server for every match of `query`; the match the user chose, if any."""
    log = screen.log_view
    log.asking_server(True)
    try:
        matches, total = await screen.monitor.search_history(conversation_id, query)
    except (BimpeError, LookupError) as error:
        screen.notify(f"could not search the conversation: {error}", severity="error", markup=False)
        return None
    finally:
        log.asking_server(False)
    if dialog_open(screen.app):
        return None  # one dialog at a time: the answer came while another was up
    return await screen.app.push_screen_wait(HistoryResults(query, matches, total, screen.tz))


async def read_in_place(screen: MainScreen, conversation_id: str, message: Message) -> None:
    """Show a match of the server's search in its place (its page of history)."""
    try:
        await screen.monitor.jump_to(conversation_id, message)
    except (BimpeError, HistoryError, LookupError) as error:
        screen.notify(f"could not go to that message: {error}", severity="error", markup=False)
