"""The conversation picker: agents with their conversations, a filter, live state glyphs."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from ..api.models import Agent
from ..book import Entry
from ..render import one_line, relative_time, status_glyph
from ..status_words import tone_of

#: Where the state glyph sits in a row, and the theme colour of each tone.
GLYPH_AT = 2
TONE_COLOURS = {"live": "$success", "busy": "$warning", "bad": "$error", "idle": "$text-muted"}

LOAD_MORE_PREFIX = "more:"
AGENT_PREFIX = "agent:"


def row(entry: Entry, now: float, number: int | None, width: int = 40) -> Text:
    """Two lines for one conversation: who, channel, time, unread, state; then the preview."""
    c = entry.conversation
    text = Text(end="")
    text.append(f"{number} " if number is not None else "  ", "dim")
    # Coloured by the theme in `show_rows` (GLYPH_AT), from the stream's tone.
    text.append(status_glyph(entry.status))
    text.append(" ")
    text.append("! " if c.needs_attention else "  ", "bold red")
    text.append(one_line(c.who, 24), "bold" if entry.unread else "")
    channel = c.channel_type.removeprefix("test_")
    text.append(f" · {one_line(channel, 12)}", "dim")
    if c.is_test_channel:
        text.append(" test", "dim italic")
    if c.is_ai_chat_paused:
        text.append(" paused", "yellow")
    if entry.gone:
        # Kept because it is watched; the server's list no longer has it.
        text.stylize("dim")
        text.append(" gone", "dim italic")
    if entry.new:
        text.append(" new", "bold cyan")
    elif entry.active:
        # Not watched, but the list says something happened since you looked.
        text.append(" •", "bold cyan")
    when = relative_time(entry.last_activity, now)
    if when:
        text.append(f" · {when}", "dim")
    if entry.unread:
        text.append(f" ({entry.unread if entry.unread < 1000 else '999+'})", "bold magenta")
    text.truncate(width, overflow="ellipsis")
    preview = Text("      " + (one_line(entry.preview, width) or "—"), "dim", end="")
    preview.truncate(width, overflow="ellipsis")
    return Text.assemble(text, "\n", preview, end="")


class ConversationList(OptionList):
    """The list itself; j and k move as in vi."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="picker.down"),
        Binding("k", "cursor_up", "Up", show=False, id="picker.up"),
        Binding("enter", "select", "Open", show=False, id="picker.open"),
    ]


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

    def compose(self) -> ComposeResult:
        # No select-all on focus: text typed ahead of the focus is already in it.
        yield Input(placeholder="filter: name, id or text", id="filter", select_on_focus=False)
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
    ) -> list[str]:
        """Rebuild the rows, keeping the highlighted conversation; returns their ids in order."""
        options = self.options
        highlighted = options.highlighted_option
        keep = highlighted.id if highlighted is not None else None
        has_more = set(more)
        # Rows never wrap: each is cut to the list's width.
        width = options.scrollable_content_region.width or 40
        rows: list[Option] = []
        order: list[str] = []
        for agent, entries in groups:
            title = Text(one_line(agent.name or agent.id, 40), "bold underline", end="")
            if agent.status:
                title.append(f"  {one_line(agent.status, 12)}", "dim")
            rows.append(Option(title, id=f"{AGENT_PREFIX}{agent.id}", disabled=True))
            for entry in entries:
                number = len(order) + 1 if len(order) < 9 else None
                colour = TONE_COLOURS[tone_of(entry.status)]
                prompt = Content.from_rich_text(row(entry, now, number, width))
                prompt = prompt.stylize(colour, GLYPH_AT, GLYPH_AT + 1)
                rows.append(Option(prompt, id=entry.id))
                order.append(entry.id)
            if agent.id in has_more:
                label = Text("      … load more conversations", "italic dim", end="")
                rows.append(Option(label, id=f"{LOAD_MORE_PREFIX}{agent.id}"))
        options.set_options(rows)
        if keep is not None:
            try:
                options.highlighted = options.get_option_index(keep)
            except OptionDoesNotExist:  # the conversation was filtered out
                options.highlighted = 1 if order else None
        self.border_title = f"Conversations ({len(order)})"
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
