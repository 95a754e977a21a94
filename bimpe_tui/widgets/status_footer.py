"""The status line above the key hints: the open stream in words, and all streams summed up."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ..status_words import StatusLine

TONE_CLASSES = ("-live", "-busy", "-bad", "-idle")


class StatusFooter(Static):
    """The open stream in words on the left; counts across all streams on the right.

    Its colour comes from the tone's CSS class (`-live`, `-busy`, `-bad`,
    `-idle`), which the theme maps to `$success`, `$warning` and `$error`.
    """

    #: The whole line; set by the screen from `status_words.status_line`.
    line: reactive[StatusLine] = reactive(StatusLine("starting", "busy"), layout=False)

    @property
    def state_words(self) -> str:
        """The open conversation's stream state in words."""
        return self.line.words

    def watch_line(self, line: StatusLine) -> None:
        for name in TONE_CLASSES:
            self.set_class(name == f"-{line.tone}", name)

    @property
    def tone(self) -> str:
        """The current tone: live, busy, bad or idle."""
        return self.line.tone

    def render(self) -> Text:
        line = self.line
        # The glyph and words take the widget's colour (the tone's class);
        # the rest is dimmed.
        left = Text(no_wrap=True, overflow="ellipsis", end="")
        if line.words:
            left.append("● " + line.words)
        if line.activity:
            left.append(f" · {line.activity}", "dim")
        right = Text(line.summary, "dim", end="")
        width = self.size.width
        if left.cell_len + right.cell_len + 1 > width:
            return left
        gap = width - left.cell_len - right.cell_len
        return Text.assemble(left, " " * gap, right)
