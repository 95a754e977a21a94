"""A question before an action that reaches a customer: the choices as buttons."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[str | None]):
    """Ask; dismissed with the chosen button's id, or None for escape.

    The first choice has the focus, so enter takes it; escape always cancels.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]

    def __init__(self, title: str, question: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-body"):
            # Content, not markup: the question names a customer, from the server.
            yield Static(Content(self.question), id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                for number, (choice_id, label) in enumerate(self.choices):
                    yield Button(
                        Content(label),
                        id=choice_id,
                        variant="primary" if number == 0 else "default",
                    )

    def on_mount(self) -> None:
        self.query_one("#confirm-body").border_title = self.title_text
        self.query_one(Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id)

    def action_cancel(self) -> None:
        """Do nothing."""
        self.dismiss(None)
