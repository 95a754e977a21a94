"""A question before an action: the choices as buttons, one dialog at a time.

Where the answer reaches a customer (take over, hand back, a first send),
the dialog is `deliberate`: no choice has the focus when it opens, so an
enter meant for the box below (typed twice, or arriving in one read with the
first) chooses nothing, and keys that reached the app before the dialog was
drawn are dropped (see `BimpeApp.on_event`). A choice is then moved to with
tab or the arrows and taken with enter, or clicked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual import on
from textual._time import get_time
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

#: What a deliberate dialog says under its question.
CHOOSE_HINT = "tab or ←/→ to a choice, enter to take it · escape cancels"


def dialog_open(app: App[Any]) -> bool:
    """Whether a dialog (any modal screen) is up: a second one never stacks on it."""
    return any(isinstance(screen, ModalScreen) for screen in app.screen_stack)


def open_dialog(
    app: App[Any], screen: Screen[Any], callback: Callable[[Any], None] | None = None
) -> bool:
    """Show `screen` unless a dialog is already up (two Enters, or a key typed while the
    first was on its way, would stack a second); False if it was not shown."""
    if dialog_open(app):
        return False
    app.push_screen(screen, callback)
    return True


class ConfirmScreen(ModalScreen[str | None]):
    """Ask; dismissed with the chosen button's id, or None for escape.

    Not `deliberate`: the first choice has the focus, so enter takes it.
    `deliberate`: nothing has the focus until the user moves to a choice.
    Escape always cancels.
    """

    # Moving between choices is a priority binding: run as the app reads the key,
    # so an enter read right after a tab goes to the choice the tab moved to.
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding(
            "tab,right,down",
            "app.focus_next",
            "Next choice",
            show=False,
            priority=True,
            id="confirm.next",
        ),
        Binding(
            "shift+tab,left,up",
            "app.focus_previous",
            "Previous choice",
            show=False,
            priority=True,
            id="confirm.previous",
        ),
    ]

    #: No widget is focused when the dialog opens (see `on_mount`).
    AUTO_FOCUS = ""

    def __init__(
        self,
        title: str,
        question: str,
        choices: Sequence[tuple[str, str]],
        *,
        deliberate: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.choices = list(choices)
        self.deliberate = deliberate
        #: When the dialog was shown (Textual's event clock): keys read before it
        #: were typed for what was under it, not answers to it.
        self.shown_at: float | None = None
        #: The choice focused when the dialog shows (none for a deliberate one).
        self._default: Button | None = None

    def compose(self) -> ComposeResult:
        body = Vertical(id="confirm-body")
        # The title is set here, not looked up once mounted: a dialog mounted as
        # the app closes (a kill while it opened) has lost its children by then.
        body.border_title = self.title_text
        with body:
            # Content, not markup: the question names a customer, from the server.
            yield Static(Content(self.question), id="confirm-question")
            if self.deliberate:
                yield Static(Content(CHOOSE_HINT), id="confirm-hint")
            with Horizontal(id="confirm-buttons"):
                for number, (choice_id, label) in enumerate(self.choices):
                    # A deliberate question shows no choice as the default one.
                    first = number == 0 and not self.deliberate
                    button = Button(
                        Content(label), id=choice_id, variant="primary" if first else "default"
                    )
                    if first:
                        self._default = button
                    yield button

    def on_mount(self) -> None:
        default = self._default
        if default is not None and default.is_attached:
            default.focus()
        self.shown_at = get_time()

    def takes_key(self, read_at: float) -> bool:
        """Whether a key read at `read_at` (an event's `time`) may answer this dialog."""
        return self.shown_at is not None and read_at >= self.shown_at

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id)

    def action_cancel(self) -> None:
        """Do nothing."""
        self.dismiss(None)


class QuestionKeys:
    """A question's own keys, for the help (not every screen's)."""

    BINDINGS = ConfirmScreen.BINDINGS
