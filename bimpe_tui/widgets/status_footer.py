"""The status line above the key hints: the open stream in words, and all streams summed up."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class StatusFooter(Static):
    """The open stream in words on the left; counts across all streams on the right."""

    #: The open conversation's stream state in words.
    state_words: reactive[str] = reactive("")
    #: Its colour: green when live, yellow while reconnecting, red when given up.
    state_style: reactive[str] = reactive("")
    #: Time since the last byte of that stream, in words.
    activity: reactive[str] = reactive("")
    #: Counts across all watched streams.
    summary: reactive[str] = reactive("")

    def render(self) -> Text:
        left = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.state_words:
            left.append("● ", self.state_style)
            left.append(self.state_words, self.state_style)
        if self.activity:
            left.append(f" · {self.activity}", "dim")
        right = Text(self.summary, "dim", end="")
        width = self.size.width
        gap = max(1, width - left.cell_len - right.cell_len)
        if left.cell_len + right.cell_len + 1 > width:
            return left
        return Text.assemble(left, " " * gap, right)
