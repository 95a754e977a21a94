"""The conversation picker: agents with their conversations, a filter, live state glyphs."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from ..api.models import Agent
from ..book import Entry
from ..render import one_line, relative_time, status_glyph
from ..status_words import tone_of
from ..waits import DEFAULT_WAITS, WaitRules, wait_words
from .text_keys import OrderedInput

#: The theme colour of each tone of the state glyph.
TONE_COLOURS = {"live": "$success", "busy": "$warning", "bad": "$error", "idle": "$text-muted"}

LOAD_MORE_PREFIX = "more:"
AGENT_PREFIX = "agent:"


def glyph_at(digits: int) -> int:
    """Where the state glyph sits in a row whose numbers are `digits` wide."""
    return digits + 1


def row(
    entry: Entry,
    now: float,
    number: int | None,
    width: int = 40,
    digits: int = 1,
    waits: WaitRules = DEFAULT_WAITS,
) -> Text:
    """Two lines for one conversation: number, who, channel, state; then the preview.

    What a user needs most sits at the right and is never cut: the unread
    count, the age, and the `new` / `•` marks; the name and channel give way.
    Numbers are right-aligned in `digits` cells, so every row's glyph lines up.
    """
    c = entry.conversation
    text = Text(end="")
    text.append(f"{number:>{digits}} " if number is not None else " " * (digits + 1), "dim")
    # Coloured by the theme in `show_rows` (glyph_at), from the stream's tone.
    text.append(status_glyph(entry.status))
    text.append(" ")
    text.append("! " if c.needs_attention else "  ", "bold red")
    text.append(one_line(c.who, 24), "bold" if entry.unread else "")
    channel = c.channel_type.removeprefix("test_")
    text.append(f" · {one_line(channel, 12)}", "dim")
    if c.is_test_channel:
        text.append(" test", "dim italic")
    if c.is_ai_chat_paused:
        # Who has it: you (taken over this run), else someone else paused the AI.
        text.append(
            " you" if entry.yours else " taken", "bold magenta" if entry.yours else "yellow"
        )
    if entry.gone:
        # Kept because it is watched; the server's list no longer has it.
        text.stylize("dim")
        text.append(" gone", "dim italic")
    right = Text(end="")
    if entry.new:
        right.append(" new", "bold cyan")
    elif entry.active:
        # Not watched, but the list says something happened since you looked.
        right.append(" •", "bold cyan")
    since = entry.waiting_since()
    waiting = wait_words(since, now, waits)
    if since is not None and waiting:
        # Who waits, and how long, says more than when the last message came.
        long = now - since >= waits.colour_after
        right.append(f" {waiting}", "bold yellow" if long else "yellow")
    elif when := relative_time(entry.last_activity, now):
        right.append(f" {when}", "dim")
    if entry.unread:
        right.append(f" ({entry.unread if entry.unread < 1000 else '999+'})", "bold magenta")
    room = max(glyph_at(digits) + 1, width - right.cell_len)
    text.truncate(room, overflow="ellipsis", pad=True)
    text.append_text(right)
    text.truncate(width, overflow="ellipsis")
    indent = " " * (digits + 5)  # under the name
    preview = Text(indent + (one_line(entry.preview, width) or "—"), "dim", end="")
    preview.truncate(width, overflow="ellipsis")
    return Text.assemble(text, "\n", preview, end="")


class ConversationList(OptionList):
    """The list itself; j and k move as in vi."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="picker.down"),
        Binding("k", "cursor_up", "Up", show=False, id="picker.up"),
        Binding("enter", "select", "Open", show=False, id="picker.open"),
        Binding("p", "peek", "Peek (open, not marked seen)", show=False, id="picker.peek"),
    ]

    class Peek(Message):
        """The user wants to look at a conversation without marking it seen."""

        def __init__(self, conversation_id: str) -> None:
            self.conversation_id = conversation_id
            super().__init__()

    def action_peek(self) -> None:
        """Open the highlighted conversation without moving its seen cursor."""
        index = self.highlighted
        if index is None:
            return
        option_id = self.get_option_at_index(index).id or ""
        if option_id.startswith((LOAD_MORE_PREFIX, AGENT_PREFIX)):
            return
        self.post_message(self.Peek(option_id))

    def action_page_up(self) -> None:
        self._page(-1)

    def action_page_down(self) -> None:
        self._page(1)

    def _page(self, direction: int) -> None:
        """Move a page of rows, counted in rows (two lines each), never onto a heading.

        OptionList's own page move measures rendered lines, which a list shown
        a moment ago (one pane at a time) does not have yet: keys typed right
        after `h` would fail on it.
        """
        if not self.option_count:
            return
        height = self.scrollable_content_region.height or self.screen.size.height - 6
        step = max(1, height // 2)
        index = (self.highlighted or 0) + direction * step
        index = min(max(index, 0), self.option_count - 1)
        self.highlighted = index
        self._off_headers(direction)

    def _off_headers(self, direction: int) -> None:
        # A page move can land on an agent's heading (a disabled row), where
        # enter does nothing: go on to the nearest conversation.
        index = self.highlighted
        if index is None or not self.options[index].disabled:
            return
        for step in (direction, -direction):
            at = index + step
            while 0 <= at < self.option_count:
                if not self.options[at].disabled:
                    self.highlighted = at
                    return
                at += step

    def scroll_to_highlight(self, top: bool = False) -> None:
        """Scroll to the highlighted row, with its agent's heading when that is just above.

        Without this, `home` and `k` onto a group's first conversation leave the
        heading above it scrolled out of sight: the user would not see whose it is.
        """
        super().scroll_to_highlight(top)
        index = self.highlighted
        if index is None or index == 0 or not self.options[index - 1].disabled:
            return
        lines = self._index_to_line
        if index - 1 not in lines or index not in lines:
            return
        y = lines[index - 1]
        height = lines[index] - y + self._heights[index]
        self.scroll_to_region(
            Region(0, y, self.scrollable_content_region.width, height),
            force=True,
            animate=False,
            top=top,
            immediate=True,
        )

    class Resized(Message):
        """The list's width changed: rows, cut to the old width, must be drawn again."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())


#: A row as drawn: its id, text and styles.
Fingerprint = tuple[str | None, str, tuple[object, ...]]


def _fingerprint(option: Option) -> Fingerprint:
    prompt = option.prompt
    if isinstance(prompt, Text):
        return (option.id, prompt.plain, tuple(prompt.spans))
    if isinstance(prompt, Content):
        return (option.id, prompt.plain, tuple(prompt.spans))
    return (option.id, str(prompt), ())


class Picker(Vertical):
    """Filter box above the list of conversations, grouped by agent."""

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False, id="picker.clear")]

    class Chosen(Message):
        """The user picked a conversation (enter or click)."""

        def __init__(self, conversation_id: str) -> None:
            self.conversation_id = conversation_id
            super().__init__()

    class LoadMore(Message):
        """The user asked for an agent's next page of conversations."""

        def __init__(self, agent_id: str) -> None:
            self.agent_id = agent_id
            super().__init__()

    class FilterChanged(Message):
        """The filter text changed: the rows must be drawn again."""

    filter_text: reactive[str] = reactive("")

    #: What the rows last drawn showed (see `show_rows`).
    _shown: tuple[str, tuple[Fingerprint, ...]] | None = None

    def compose(self) -> ComposeResult:
        # No select-all on focus: text typed ahead of the focus is already in it.
        yield OrderedInput(
            placeholder="filter: name, id or text", id="filter", select_on_focus=False
        )
        yield ConversationList(id="conversations")

    @property
    def options(self) -> ConversationList:
        """The option list."""
        return self.query_one(ConversationList)

    def show_rows(
        self,
        groups: Iterable[tuple[Agent, list[Entry]]],
        now: float,
        more: Iterable[str] = (),
        number_of: Callable[[str], int | None] = lambda _: None,
        waits: WaitRules = DEFAULT_WAITS,
        summary: str = "",
    ) -> list[str]:
        """Rebuild the rows, keeping the highlighted conversation; returns their ids in order.

        `number_of` gives each conversation's number (see `numbers.Numbers`);
        `summary` (who waits for a person) is the list's subtitle, under it.
        """
        groups = [(agent, list(entries)) for agent, entries in groups]
        numbers = {e.id: number_of(e.id) for _, entries in groups for e in entries}
        digits = max((len(str(n)) for n in numbers.values() if n is not None), default=1)
        glyph = glyph_at(digits)
        options = self.options
        highlighted = options.highlighted_option
        keep = highlighted.id if highlighted is not None else None
        has_more = set(more)
        # Rows never wrap: each is cut to the list's width, less the scrollbar's
        # whether it shows yet or not (it appears once the rows overflow, after
        # they are set, and a row one cell too wide would wrap).
        padding = options.get_component_styles("option-list--option").padding.width
        inner = options.size.width - options.styles.gutter.width - padding
        width = inner - options.styles.scrollbar_size_vertical if inner > 0 else 40
        rows: list[Option] = []
        order: list[str] = []
        for agent, entries in groups:
            title = Text(one_line(agent.name or agent.id, 40), "bold underline", end="")
            if agent.status:
                title.append(f"  {one_line(agent.status, 12)}", "dim")
            rows.append(Option(title, id=f"{AGENT_PREFIX}{agent.id}", disabled=True))
            for entry in entries:
                colour = TONE_COLOURS[tone_of(entry.status)]
                drawn = row(entry, now, numbers[entry.id], width, digits, waits)
                prompt = Content.from_rich_text(drawn).stylize(colour, glyph, glyph + 1)
                rows.append(Option(prompt, id=entry.id))
                order.append(entry.id)
            if agent.id in has_more:
                label = Text("      … load more conversations", "italic dim", end="")
                rows.append(Option(label, id=f"{LOAD_MORE_PREFIX}{agent.id}"))
        if not order and self.filter_text:
            label = Text(f"  no conversation matches “{one_line(self.filter_text, 40)}”", "italic")
            label.append("\n  escape clears the filter", "dim")
            rows.append(Option(label, id=f"{AGENT_PREFIX}none", disabled=True))
        heading = f"Conversations ({len(order)})"
        if str(self.border_title or "") != heading:  # setting it repaints, even the same words
            self.border_title = heading
        # Under the list, where its width has room for it (the top border holds the
        # count; both would be cut in a 40-column list).
        if str(self.border_subtitle or "") != summary:
            self.border_subtitle = summary
        # Most redraws (the clock moving rows' ages, a refresh that changed
        # nothing a row shows) produce the rows already shown: rebuilding the
        # options anyway makes Textual lay out and paint the whole list again.
        shown = (self.filter_text, tuple(_fingerprint(option) for option in rows))
        if shown == self._shown:
            return order
        self._shown = shown
        options.set_options(rows)
        if keep is not None:
            try:
                options.highlighted = options.get_option_index(keep)
            except OptionDoesNotExist:  # the conversation was filtered out
                options.highlighted = 1 if order else None
        return order

    def highlight(self, conversation_id: str) -> None:
        """Move the cursor to a conversation, if it is listed."""
        options = self.options
        try:
            options.highlighted = options.get_option_index(conversation_id)
        except OptionDoesNotExist:
            return

    def open_filter(self) -> None:
        """Show the filter box and type into it."""
        box = self.query_one("#filter", Input)
        box.display = True
        # At once, not through focus()'s call_later: keys typed right after the
        # slash are already queued and must land in the box ("/q" must not quit).
        self.screen.set_focus(box)

    def action_clear_filter(self) -> None:
        """Empty and hide the filter; back to the list."""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.filter_text = ""
        self.post_message(self.FilterChanged())
        self.options.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.post_message(self.FilterChanged())

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id.startswith(LOAD_MORE_PREFIX):
            self.post_message(self.LoadMore(option_id.removeprefix(LOAD_MORE_PREFIX)))
        elif not option_id.startswith(AGENT_PREFIX):
            self.post_message(self.Chosen(option_id))
