"""The help screen: every key binding of the app, in one table."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..render import visible


def bindings_table(sections: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> Table:
    """A two-column table of (key, what it does), by section."""
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column("key", style="bold cyan", no_wrap=True)
    table.add_column("does")
    for title, rows in sections:
        # Text cells, never strings: a string cell is parsed as markup, and
        # keys such as "[" would vanish.
        table.add_row(Text(title.capitalize(), "bold underline"), Text(""))
        for key, description in rows:
            table.add_row(Text(visible(key)), Text(visible(description)))
        table.add_row(Text(""), Text(""))
    return table


class HelpScreen(ModalScreen[None]):
    """A modal listing every binding; any of escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("q", "dismiss", "Close", show=False, id="help.close_q"),
        Binding("question_mark", "dismiss", "Close", show=False, id="help.close_help"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(bindings_table(self.sections), id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-body").border_title = "Keys — escape to close"
