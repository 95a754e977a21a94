"""The boxes under the log: what to search for, and what to show (the filter).

Each box tells the log (`BarsHost`) when the reader is done with it.
"""

from __future__ import annotations

from typing import Protocol

from textual.binding import Binding
from textual.message import Message as TextualMessage

from .text_keys import OrderedInput


class BarsHost(Protocol):
    """What the boxes ask of the log they belong to.

    Calls, not messages: the key typed right after escape or enter (n, N)
    belongs to the log, and must not land in the box.
    """

    def search_done(self) -> None:
        """Back to the log from the search box, the matches still marked."""

    def filter_done(self) -> None:
        """Back to the log from the filter box, the filter kept."""

    def clear_filter(self) -> None:
        """Show every message again, and close the filter box."""


class LogBox(OrderedInput):
    """A box under the log, that hands the keys back to it (`host`) when done."""

    def __init__(
        self, host: BarsHost | None = None, *, placeholder: str = "", id: str | None = None
    ) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self.host = host


class SearchBox(LogBox):
    """Where the reader types what to find in the open conversation (as they type)."""

    BINDINGS = [
        Binding("enter", "step(1)", "Next match", id="search.next"),
        Binding("shift+enter", "step(-1)", "Previous match", show=False, id="search.previous"),
        Binding("ctrl+r", "toggle_regex", "Regex on/off", id="search.regex"),
        Binding("ctrl+o", "ask_server", "Search all history", id="search.server"),
        Binding("escape", "done", "Back to the log", id="search.done"),
    ]

    class AskServer(TextualMessage):
        """Search the whole conversation on the server, not only what is loaded."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Step(TextualMessage):
        """Go to the next (1) or previous (-1) match."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    class ToggleRegex(TextualMessage):
        """Read the query as a regular expression, or as literal text."""

    def action_step(self, step: int) -> None:
        self.post_message(self.Step(step))

    def action_toggle_regex(self) -> None:
        self.post_message(self.ToggleRegex())

    def action_ask_server(self) -> None:
        if self.value.strip():
            self.post_message(self.AskServer(self.value.strip()))

    def action_done(self) -> None:
        # At once, not through a message: a key typed right after escape
        # (n, N) belongs to the log, and must not land in this box.
        if self.host is not None:
            self.host.search_done()


class FilterBox(LogBox):
    """What the log shows: words to find, `@customer`, `@agent`, `@staff`, `@other`."""

    BINDINGS = [
        Binding("enter", "done", "Back to the log", id="filter.done"),
        Binding("escape", "clear", "Clear the filter", id="filter.clear"),
    ]

    # Directly, not through a message: the next key belongs to the log.
    def action_done(self) -> None:
        if self.host is not None:
            self.host.filter_done()

    def action_clear(self) -> None:
        if self.host is not None:
            self.host.clear_filter()


class SearchKeys:
    """The search box's own keys, for the help (not Input's usual editing keys)."""

    BINDINGS = SearchBox.BINDINGS


class FilterKeys:
    """The filter box's own keys, for the help (not Input's usual editing keys)."""

    BINDINGS = FilterBox.BINDINGS
