"""`ctrl+g` or `:`: go to a conversation by its number or by part of a name.

Type a number (`12`) and enter to open the conversation that holds it, or a
few letters of the customer, the channel or the agent: the best fuzzy matches
come first (Textual's own matcher, the command palette's), the letters that
matched are marked. Pure matching in `candidates_for`; the screen only draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ..widgets.text_keys import OrderedInput

__all__ = ["Candidate", "GoToKeys", "GoToScreen", "candidates_for"]

#: How many matches the list shows at most.
SHOWN = 50
#: The list's title, with its keys.
KEYS = "enter opens · ↑↓ choose · escape closes"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One conversation the finder can go to."""

    conversation_id: str
    number: int | None
    #: What is matched and shown: customer · channel · agent (one line, safe to draw).
    label: str
    needs_attention: bool = False


def candidates_for(query: str, everyone: Sequence[Candidate]) -> list[tuple[Candidate, Content]]:
    """The candidates `query` finds, best first, each with its label as drawn.

    Empty: all of them, in the list's order. A number: the conversation that
    holds it first, then those whose number starts with it. Otherwise fuzzy
    matches of the label, best score first (ties in the list's order).
    """
    query = query.strip().removeprefix(":").strip()
    if not query:
        return [(c, Content(c.label)) for c in everyone[:SHOWN]]
    if query.isdigit():
        wanted = int(query)
        exact = [c for c in everyone if c.number == wanted]
        starts = [
            c
            for c in everyone
            if c.number is not None and c.number != wanted and str(c.number).startswith(query)
        ]
        starts.sort(key=lambda c: c.number or 0)
        return [(c, Content(c.label)) for c in [*exact, *starts][:SHOWN]]
    matcher = Matcher(query)
    scored = [(matcher.match(c.label), order, c) for order, c in enumerate(everyone)]
    found = sorted(
        ((score, order, c) for score, order, c in scored if score > 0),
        key=lambda item: (-item[0], item[1]),
    )
    return [(c, matcher.highlight(c.label)) for _, _, c in found[:SHOWN]]


def _option(candidate: Candidate, label: Content, digits: int) -> Option:
    number = str(candidate.number) if candidate.number is not None else ""
    mark = "! " if candidate.needs_attention else "  "
    prompt = Content.assemble((number.rjust(digits), "dim"), " ", (mark, "bold red"), label)
    return Option(prompt, id=candidate.conversation_id)


class GoToScreen(ModalScreen[str | None]):
    """A box to type into and the conversations it finds; dismisses with the chosen id."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close, open nothing", id="goto.close"),
        # The box has the focus; these move the list under it.
        Binding("down", "move(1)", "Next match", show=False, priority=True, id="goto.down"),
        Binding("up", "move(-1)", "Previous match", show=False, priority=True, id="goto.up"),
    ]

    def __init__(self, everyone: Sequence[Candidate], query: str = "") -> None:
        super().__init__()
        self.everyone = list(everyone)
        self.query_text = query
        numbers = [c.number for c in self.everyone if c.number is not None]
        self._digits = max((len(str(n)) for n in numbers), default=1)

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-body"):
            yield OrderedInput(
                self.query_text,
                placeholder="a number, or part of a customer, channel or agent",
                id="goto-query",
                select_on_focus=False,
            )
            yield OptionList(id="goto-list")

    def on_mount(self) -> None:
        body = self.query_one("#goto-body")
        body.border_title = "Go to a conversation"
        body.border_subtitle = KEYS
        self._show(self.query_text)
        # At once, not through focus()'s call_later: keys typed right after
        # ctrl+g are already queued and must land in the box.
        self.set_focus(self.query_one(Input))

    async def on_key(self, event: events.Key) -> None:
        # Keys read with the one that opened the box can arrive before it has
        # the focus: letters and digits go into it, in order, not nowhere.
        box = self.query_one(Input)
        if self.focused is not box and event.is_printable and event.character:
            event.stop()
            self.set_focus(box)
            box.insert_text_at_cursor(event.character)

    def _show(self, query: str) -> None:
        found = candidates_for(query, self.everyone)
        options = self.query_one(OptionList)
        options.set_options(_option(c, label, self._digits) for c, label in found)
        if found:
            options.highlighted = 0
        else:
            why = "no conversation has that number" if query.strip(": ").isdigit() else None
            options.add_option(Option(why or "nothing matches", disabled=True))

    @on(Input.Changed, "#goto-query")
    def _changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def action_move(self, step: int) -> None:
        """Move the highlight in the list of matches."""
        options = self.query_one(OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    @on(Input.Submitted, "#goto-query")
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        option = options.highlighted_option
        if option is not None and not option.disabled:
            self.dismiss(option.id)

    @on(OptionList.OptionSelected, "#goto-list")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


class GoToKeys:
    """The finder's own keys, for the help (not every screen's)."""

    BINDINGS = [
        Binding("enter", "open", "Open the highlighted match", show=False),
        *GoToScreen.BINDINGS,
    ]
