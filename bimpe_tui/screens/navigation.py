"""Moving between conversations: numbers that stay, `]` `[` rounds, the hotlist, go to.

The list re-sorts as news comes; what a person builds habits on must not:
a conversation keeps its number (`numbers.Numbers`, saved in the state file),
a round of `]` visits each conversation once whatever moves meanwhile, and
`ctrl+g` / `:` find one by number or name (`screens.goto`).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from textual.binding import Binding

from ..numbers import Numbers
from ..render import one_line
from .confirm import open_dialog
from .goto import Candidate, GoToScreen
from .titles import channel_words

if TYPE_CHECKING:
    from .main import MainScreen

__all__ = ["Navigation", "jump_bindings", "jump_keys"]

#: What Textual makes of ESC followed by a digit, the way most terminals (tmux
#: included) send alt+digit: the characters macOS's option key types ("¡" for
#: alt+1). Bound too, so alt+1 … alt+9 work whichever form arrives.
_ESC_DIGIT_AS = "¡™£¢∞§¶•ª"


def jump_keys(number: int) -> str:
    """The keys of "open the Nth conversation": alt+N, and alt+N as ESC N arrives."""
    character = _ESC_DIGIT_AS[number - 1]
    if character.isalnum():
        name = character
    else:
        name = unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")
    return f"alt+{number},{name}"


def jump_bindings() -> list[Binding]:
    """The keys that open conversation 1 … 9: the digit, and alt+digit.

    Digits work in every terminal (a text box takes them first while it has
    focus); alt+digit where the terminal delivers it.
    """
    digits = [
        Binding(str(n), f"jump({n})", f"Conversation {n}", show=False, id=f"main.digit_{n}")
        for n in range(1, 10)
    ]
    alts = [
        Binding(
            jump_keys(n),
            f"jump({n})",
            f"Conversation {n}",
            show=False,
            key_display=f"alt+{n}",
            id=f"main.jump_{n}",
        )
        for n in range(1, 10)
    ]
    return [*digits, *alts]


class Navigation:
    """The screen's ways from one conversation to another."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.monitor = screen.monitor
        #: Each listed conversation's number; read from the state file once the list is in.
        self.numbers: Numbers | None = None
        #: The order `]` and `[` walk, fixed at the start of a round (see `cycle`).
        self._round: list[str] = []

    def new_round(self) -> None:
        """Forget the round of `]` / `[` (the list was filtered: another list)."""
        self._round = []

    def go(self, conversation_id: str) -> None:
        """Open a conversation from a key; in a narrow terminal the log shows it."""
        self.monitor.open(conversation_id)
        if self.screen.narrow:
            self.screen.action_show_pane("log")

    def number_rows(self) -> None:
        """Number the conversations listed for the first time; free the numbers of those gone.

        Only once the first listing is whole: before it, every conversation not
        yet listed would lose its number.
        """
        monitor = self.monitor
        if not monitor.ready:
            return
        if self.numbers is None:
            self.numbers = Numbers(monitor.saved.numbers)
        if self.numbers.numbers_exactly(monitor.book.entries.keys()):
            return  # the usual redraw: no conversation came or went (no sorting)
        if self.numbers.update(entry.id for entry in monitor.book.flat()):
            monitor.saved.numbers = self.numbers.as_dict()
            monitor.state.changed()

    def jump(self, number: int) -> None:
        """Open the conversation numbered `number` (numbers stay as the list re-sorts)."""
        conversation_id = self.numbers.conversation(number) if self.numbers else None
        if conversation_id is None or self.monitor.book.get(conversation_id) is None:
            self.screen.notify(f"no conversation {number}", markup=False)
            return
        self.go(conversation_id)

    def cycle(self, step: int) -> None:
        """Open the next (step 1) or previous (step -1) conversation in the list.

        A round walks the order the list had when it began, so a conversation
        that moves up while the user walks is not visited twice and none is
        skipped; one that appears during the round joins at its end. Wrapping
        around starts a new round from the list as it is then.
        """
        order = self.screen.order
        if not order:
            return
        listed = set(order)
        walk = [c for c in self._round if c in listed]
        in_round = set(walk)
        walk += [c for c in order if c not in in_round]
        current = self.monitor.current
        if current not in walk:
            self._round = list(order)
            self.go(order[0] if step > 0 else order[-1])
            return
        index = walk.index(current) + step
        if not 0 <= index < len(walk):
            walk = list(order)  # a new round, from the list as it is now
            index = 0 if step > 0 else len(walk) - 1
            if walk[index] == current and len(walk) > 1:
                index += step
        self._round = walk
        self.go(walk[index])

    def next_unread(self) -> None:
        """Open the most urgent conversation with news (the hotlist; see the README)."""
        current = self.monitor.current
        for entry in self.monitor.book.hotlist(self.screen.picker.filter_text):
            if entry.id != current:
                self.go(entry.id)
                return
        self.screen.notify(
            "nothing new: every conversation with news has been visited", markup=False
        )

    def go_to(self) -> None:
        """Find a conversation by its number or part of a name, and open it."""
        self.number_rows()
        numbers = self.numbers
        everyone = [
            Candidate(
                entry.id,
                numbers.of(entry.id) if numbers is not None else None,
                one_line(
                    f"{entry.conversation.who} · {channel_words(entry)} · {entry.agent.name}", 120
                ),
                entry.conversation.needs_attention,
            )
            for entry in self.monitor.book.flat()
        ]

        def chosen(conversation_id: str | None) -> None:
            if conversation_id is not None and self.monitor.book.get(conversation_id):
                self.screen.picker.highlight(conversation_id)
                self.go(conversation_id)

        open_dialog(self.screen.app, GoToScreen(everyone), chosen)
