"""The reply box under the log: enter sends, shift+enter or ctrl+j a new line, escape cancels."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.widgets import TextArea

from ..book import Pending
from ..render import visible
from .text_keys import run_own_binding

#: The longest message the box lets through (the demo's limit; the service's is not known).
MAX_CHARS = 4096


def pending_text(item: Pending, width: int, console: Console) -> Text:
    """A message being sent, as the log draws it: "you", the text, and its state."""
    head = Text.assemble(" " * 9, ("you".rjust(8), "bold magenta"), " ")
    body = Text(visible(item.text), "dim")
    body.append("  (sending…)", "dim italic")
    room = max(10, width - head.cell_len)
    indent = "\n" + " " * head.cell_len
    for number, line in enumerate(body.wrap(console, room, overflow="fold")):
        if number:
            head.append(indent)
        head.append_text(line)
    return head


class ComposeBox(TextArea):
    """A multi-line box for one reply; it sends nothing unless focused and told to."""

    # Declared for the footer and the help; the keys themselves are caught in
    # `_on_key`, before TextArea would insert a newline for enter.
    BINDINGS = [
        Binding("enter", "send", "Send", id="compose.send"),
        Binding(
            "ctrl+j",
            "newline",
            "New line",
            key_display="shift+enter, ctrl+j",
            id="compose.newline",
        ),
        Binding("escape", "cancel", "Cancel (keeps the draft)", id="compose.cancel"),
    ]

    class Send(TextualMessage):
        """The user asked to send the box's text."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Cancelled(TextualMessage):
        """The user left the box; its text is the conversation's draft."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, tab_behavior="focus", show_line_numbers=False)
        self.border_title = "reply"
        self.border_subtitle = "enter send · ctrl+j new line · esc cancel"

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key == "enter":
            event.stop()
            event.prevent_default()
            self.action_send()
        elif key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            self.action_newline()
        elif key == "escape":
            event.stop()
            event.prevent_default()
            self.action_cancel()
        elif event.is_printable or not await run_own_binding(self, event):
            await super()._on_key(event)

    def action_send(self) -> None:
        """Send the text (the screen confirms, and keeps it if sending fails)."""
        if self.text.strip():
            self.post_message(self.Send(self.text))

    def action_newline(self) -> None:
        """A new line in the reply."""
        self.insert("\n")

    def action_cancel(self) -> None:
        """Close the box; what was typed stays as the conversation's draft."""
        self.post_message(self.Cancelled(self.text))


class ReplyKeys:
    """The reply box's own keys, for the help.

    Not ComposeBox itself: the help would then list every editing key
    TextArea binds (undo, selection by word...), which are the usual ones.
    """

    BINDINGS = ComposeBox.BINDINGS
