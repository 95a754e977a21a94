"""The reply box under the log: enter sends, shift+enter or ctrl+j a new line, escape cancels."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message as TextualMessage
from textual.reactive import reactive
from textual.widgets import TextArea
from textual.widgets._toast import ToastRack

from ..book import Pending
from ..render import visible
from .text_keys import run_own_binding

#: The longest message the demo server takes (the service's is not documented):
#: the box counts against it, and the server has the last word.
MAX_CHARS = 4096

#: The box's subtitle while it is empty.
HINT = "enter send · ctrl+j new line · esc cancel"


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

    #: A send of this box is in flight (or waits for its confirmation): enter
    #: waits. Two enters in one terminal read must not make two messages.
    busy: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, tab_behavior="focus", show_line_numbers=False)
        self.border_title = "reply"
        self.border_subtitle = HINT

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
        if self.busy:
            return  # the send before is still on its way: see `busy`
        if not self.text.strip():
            self.notify("nothing to send", markup=False)
            return
        self.busy = True
        self.post_message(self.Send(self.text))

    def action_newline(self) -> None:
        """A new line in the reply."""
        self.insert("\n")

    def action_cancel(self) -> None:
        """Close the box; what was typed stays as the conversation's draft."""
        self.post_message(self.Cancelled(self.text))

    def watch_busy(self) -> None:
        self._show_count()

    def _on_resize(self) -> None:
        super()._on_resize()  # TextArea re-wraps its text here
        self.lift_toasts()

    def lift_toasts(self) -> None:
        """Toasts stand above the open box, never over its text or its count (a
        "nothing to send" or "you have it" toast hid them for seconds at 80x24)."""
        if not self.is_attached:
            return  # the app is closing: no screen, no toasts
        try:
            rack = self.screen.query_one(ToastRack)
        except NoMatches:
            return
        # The rack's margin in app.tcss keeps it off the log's bottom border, the
        # status line and the keys (3 rows); the box's height changes as it grows.
        box = self.outer_size.height if self.has_class("-open") and self.display else 0
        rack.styles.margin = (0, 2, 3 + box, 0)

    @on(TextArea.Changed)
    def _changed(self) -> None:
        self._show_count()

    def _show_count(self) -> None:
        """The subtitle: sending, or how long the text is against the known limit."""
        if self.busy:
            self.border_subtitle = "sending…"
            return
        count = len(self.text)
        if not count:
            self.border_subtitle = HINT
            return
        over = " — over the demo's limit, the server may refuse it" if count > MAX_CHARS else ""
        self.border_subtitle = f"{count:,}/{MAX_CHARS:,}{over} · enter send · esc cancel"
        self.set_class(count > MAX_CHARS, "-too-long")


class ReplyKeys:
    """The reply box's own keys, for the help.

    Not ComposeBox itself: the help would then list every editing key
    TextArea binds (undo, selection by word...), which are the usual ones.
    """

    BINDINGS = ComposeBox.BINDINGS
