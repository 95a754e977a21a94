"""What the server found when asked to search a whole conversation (ctrl+o in the search box)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static

from ..api.models import Message
from ..api.stream import parse_timestamp
from ..render import one_line
from ..roles import role_name


def result_line(message: Message, tz: tzinfo | None) -> Text:
    """One match: when (local time), who, and the text on one line (made visible)."""
    parsed = parse_timestamp(message.created_at)
    when = parsed.astimezone(tz).strftime("%b %d %H:%M") if parsed is not None else "?"
    line = Text(f"{when} ", "dim")
    line.append(f"{role_name(message.role):>8} ", "bold")
    line.append(one_line(message.message or "", 160))
    return line


class HistoryResults(ModalScreen[Message | None]):
    """The server's matches for a search, newest first: enter goes to one (its place in
    the conversation), escape closes."""

    BINDINGS = [Binding("escape", "dismiss", "Close", id="history_results.close")]

    def __init__(
        self, query: str, matches: Sequence[Message], total: int, tz: tzinfo | None
    ) -> None:
        super().__init__()
        self._query = query
        self._matches = list(matches)
        self._total = total
        self._tz = tz

    def compose(self) -> ComposeResult:
        shown = len(self._matches)
        if not self._total:
            title = f"“{one_line(self._query, 40)}”: no message of the conversation has it"
        elif shown < self._total:
            title = (
                f"“{one_line(self._query, 40)}”: {self._total:,} messages in the whole "
                f"conversation; the newest {shown} here"
            )
        else:
            title = f"“{one_line(self._query, 40)}”: {self._total:,} in the whole conversation"
        with Vertical(id="history-results"):
            yield Static(Text(title), id="history-results-title")
            yield OptionList(*(result_line(m, self._tz) for m in self._matches))
            yield Static(Text("enter: read it in place · escape closes", "dim"))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._matches[event.option_index])
