"""The timeline's items as lines of text, pure: no Textual, tested on their own.

A message lines up its text after the time and role, links stay whole, and a
divider is centred; the view (`timeline_view`) draws what these return.
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


#: A laid-out line of a message's body, and whether it starts under the text
#: column (True) or at the log's left edge (a link too long for the column).
Row = tuple[Text, bool]


def attachment_rows(attachment: AttachmentLine, width: int, room: int) -> list[Row]:
    """An attachment's lines: its link is never broken across lines.

    Label and link share a line under the text column when both fit in its
    `room` cells; else the link gets its own line: under the text column if
    it fits there, else from the left edge, where it has the log's whole
    `width`, and is cut in its middle (the link keeping its whole target)
    only if even that is too narrow.
    """
    label, url = attachment.label, url_text(attachment)
    if label.cell_len + url.cell_len <= room:
        return [(Text.assemble(label, url), True)]
    label = label.copy()
    label.truncate(room, overflow="ellipsis")  # a long type in a narrow log
    rows: list[Row] = [(label, True)]
    if url.cell_len <= room:
        rows.append((url, True))
    else:
        rows.append((url_text(attachment, width), False))
    return rows


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
    """One message as lines of at most `width` cells: its text lines up under itself,
    after the time and role, and links stay whole (`attachment_rows`)."""
    parts = message_parts(message, tz=tz, now=now, highlights=highlights, marks=marks)
    # The user's own messages (sent in this run) show as "you".
    who = Text("you", "bold magenta") if mine else parts.who
    head = Text.assemble(parts.when, " ", (who.plain.rjust(8), who.style), " ")
    room = max(10, width - head.cell_len)
    text = parts.text
    alone = not parts.attachments and parts.more is None
    if alone and text.cell_len <= room and "\n" not in text.plain:
        return [head.append_text(text)]
    indent = " " * head.cell_len
    lines: list[Text] = []
    for line, under in _body_rows(parts, width, room, console):
        if not lines:
            lines.append(Text.assemble(head, line))
        else:
            lines.append(Text.assemble(indent, line) if under else line)
    return lines or [head]


def _body_rows(parts: MessageParts, width: int, room: int, console: Console) -> list[Row]:
    """The lines of a message's body: its text wrapped, then each attachment."""
    rows: list[Row] = []
    if parts.text:
        rows.extend((line, True) for line in parts.text.wrap(console, room, overflow="fold"))
    for attachment in parts.attachments:
        rows.extend(attachment_rows(attachment, width, room))
    if parts.more is not None:
        rows.extend((line, True) for line in parts.more.wrap(console, room, overflow="fold"))
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
