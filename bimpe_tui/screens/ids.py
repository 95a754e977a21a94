"""`i`: the open conversation's ids and the command lines that act on it, to copy.

`bimpe-tui tail`, `export` and `send` take an agent id and a conversation id;
finding them took curl. Here each is a row: `enter` copies it (OSC 52), as
typed into a shell: ids are quoted for the shell and never carry control
characters (see `safe_text`).
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..api.client import DEFAULT_BASE_URL
from ..render import one_line
from ..safe_text import spelled_out
from .confirm import open_dialog

if TYPE_CHECKING:
    from .main import MainScreen

#: The title of the list, with its keys.
TITLE = "Ids and commands — enter copies · escape closes"


def id_rows(agent_id: str, conversation_id: str, base_url: str) -> list[tuple[str, str]]:
    """(what, the text to copy): the two ids, then `tail`, `export` and `send` lines."""
    agent, conversation = shlex.quote(agent_id), shlex.quote(conversation_id)
    where = "" if base_url in ("", DEFAULT_BASE_URL) else f" --base-url {shlex.quote(base_url)}"
    target = f"{agent} {conversation}{where}"
    file = shlex.quote(f"{conversation_id}.md")
    rows = [
        ("agent id", agent_id),
        ("conversation id", conversation_id),
        ("follow it", f"bimpe-tui tail {target}"),
        ("export it", f"bimpe-tui export {target} -o {file}"),
        ("send to it", f"bimpe-tui send {target} -m 'your reply'"),
    ]
    return [(what, spelled_out(text)) for what, text in rows]


class IdsScreen(ModalScreen[None]):
    """The ids and ready-made command lines of one conversation; enter copies a row."""

    BINDINGS = [Binding("escape,i", "dismiss", "Close", id="ids.close")]

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="ids-body"):
            width = max(len(what) for what, _ in self.rows)
            yield OptionList(
                *(
                    Option(Content(f"{what.ljust(width)}  {text}"), id=str(number))
                    for number, (what, text) in enumerate(self.rows)
                ),
                id="ids-list",
            )

    def on_mount(self) -> None:
        body = self.query_one("#ids-body")
        body.border_title = self.title_text
        body.border_subtitle = TITLE
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _copy(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        what, text = self.rows[int(event.option.id or 0)]
        self.app.copy_to_clipboard(text)
        self.notify(f"copied ({what}): {text}", markup=False)


def show_ids(screen: MainScreen) -> None:
    """`i`: the open conversation's ids and command lines, in a dialog; or why not."""
    entry = screen.open_entry()
    if entry is None:
        screen.notify("no conversation open", markup=False)
        return
    title = f"{one_line(entry.conversation.who, 40)} · {one_line(entry.agent.name, 40)}"
    rows = id_rows(entry.agent.id, entry.id, screen.monitor.base_url)
    open_dialog(screen.app, IdsScreen(title, rows))
