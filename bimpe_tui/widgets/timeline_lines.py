"""The timeline's items as lines of text, pure: no Textual, tested on their own.

A message lines up its text after the time and role, links stay whole, and a
divider is centred; the view (`line_view`) draws what these return.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from rich.console import Console
from rich.text import Text

from ..api.models import Message
from ..book import Pending, TimelineItem
from ..render import (
    MAX_SHOWN_ATTACHMENTS,
    MAX_SHOWN_CHARS,
    MAX_SHOWN_LINES,
    AttachmentLine,
    Mark,
    MessageParts,
    marker_lines,
    message_parts,
    url_text,
)

#: Width of the time and role columns: wrapped text lines up after them.
INDENT = 18


def marker_line(label: str, width: int) -> Text:
    """A divider centred in `width` cells, on as many lines as its words need."""
    return Text("\n").join(marker_lines(label, width))


def attachment_rows(attachment: AttachmentLine, room: int) -> list[Text]:
    """An attachment's lines, each under the text column (`room` cells wide).

    Label and link share a line when both fit; else the link gets its own
    line, whole if it fits, else cut in its middle (`url_text`: the link
    keeps its whole target). A link is never broken across lines, and never
    leaves the text column: one that started at the log's left edge broke
    the column the eye follows down a message.
    """
    label, url = attachment.label, url_text(attachment)
    if label.cell_len + url.cell_len <= room:
        return [Text.assemble(label, url)]
    label = label.copy()
    label.truncate(room, overflow="ellipsis")  # a long type in a narrow log
    return [label, url if url.cell_len <= room else url_text(attachment, room)]


def message_lines(
    message: Message,
    width: int,
    console: Console,
    *,
    tz: tzinfo | None,
    now: datetime | None,
    highlights: Sequence[tuple[int, int]] = (),
    marks: Sequence[Mark] = (),
    mine: bool = False,
) -> list[Text]:
    """One message as lines of at most `width` cells: its text, links too, lines up
    under itself after the time and role, and links stay whole (`attachment_rows`)."""
    parts = message_parts(message, tz=tz, now=now, highlights=highlights, marks=marks)
    # The user's own messages (sent in this run) show as "you".
    who = Text("you", "bold magenta") if mine else parts.who
    head = Text.assemble(parts.when, " ", (who.plain.rjust(8), who.style), " ")
    room = max(10, width - head.cell_len)
    text = parts.text
    alone = not parts.attachments and parts.more is None
    if alone and text.cell_len <= room and "\n" not in text.plain:
        return [head.append_text(text)]
    body = _body_rows(parts, room, console)
    if not body:
        return [head]
    indent = " " * head.cell_len
    return [Text.assemble(head, body[0]), *(Text.assemble(indent, line) for line in body[1:])]


def _body_rows(parts: MessageParts, room: int, console: Console) -> list[Text]:
    """The lines of a message's body, each `room` cells at most: its text wrapped,
    then each attachment."""
    rows: list[Text] = []
    if parts.text:
        rows.extend(parts.text.wrap(console, room, overflow="fold"))
    for attachment in parts.attachments:
        rows.extend(attachment_rows(attachment, room))
    if parts.more is not None:
        rows.extend(parts.more.wrap(console, room, overflow="fold"))
    return rows


def position_of(items: Sequence[TimelineItem], wanted: TimelineItem) -> int | None:
    """Where `wanted` (that very object) is in `items`, looking from the end."""
    for position in range(len(items) - 1, -1, -1):
        if items[position] is wanted:
            return position
    return None


def estimate_heights(items: Sequence[TimelineItem], width: int) -> list[int]:
    """Heights at `width` guessed from lengths alone, good enough for a scrollbar until
    the items show (wrapping them all would cost what a lazy view is there to save)."""
    # Words wrap before the edge: about a tenth of each line is left blank.
    room = max(10, (width - INDENT) * 9 // 10)
    heights: list[int] = []
    add = heights.append
    # Run per item, 100,000 times for a long conversation: comparisons, not min().
    chars, newlines, attached = MAX_SHOWN_CHARS, MAX_SHOWN_LINES, MAX_SHOWN_ATTACHMENTS
    for item in items:
        if isinstance(item, Message):
            text = item.message or ""
            size = len(text)
            lines = 1 + (size if size < chars else chars) // room
            if "\n" in text:
                count = text.count("\n", 0, chars)
                lines += count if count < newlines else newlines
            if item.attachments:
                count = len(item.attachments)
                lines += 2 * (count if count < attached else attached)
            add(lines)
        elif isinstance(item, Pending):
            add(1 + len(item.text) // room)
        else:
            add(1 + len(item.label) // max(10, width * 9 // 10))
    return heights
