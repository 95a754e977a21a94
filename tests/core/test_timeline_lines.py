"""The timeline's line builders on their own: plain Rich, no Textual app."""

from __future__ import annotations

from datetime import UTC

from rich.console import Console
from rich.text import Text

from bimpe_tui.api.models import Message
from bimpe_tui.widgets.timeline_lines import INDENT, message_lines

#: 120 characters: twice the log's width below.
LONG = "https://cdn.example.com/uploads/2026/11/20/" + "r" * 50 + "/receipt-of-order-22412.png"
#: 52 characters: fits the log (60), not the text column after the time and role.
MIDDLE = "https://cdn.example.com/files/menu-of-the-week-22.pdf"


def with_links(*urls: str) -> Message:
    return Message.from_api(
        {
            "id": "m_1",
            "role": "customer",
            "created_at": "2026-11-20T09:00:00Z",
            "message": "Here is the receipt and the menu",
            "attachments": [{"type": "file", "url": url} for url in urls],
        }
    )


def links(line: Text) -> set[str]:
    styles = [line.style, *(span.style for span in line.spans)]
    return {s.link for s in styles if not isinstance(s, str) and s.link is not None}


def test_a_link_too_long_for_the_text_column_keeps_its_indent() -> None:
    console = Console(width=60)
    lines = message_lines(with_links(LONG, MIDDLE), 60, console, tz=UTC, now=None)
    # Every line after the first starts under the text (after the time and
    # role): none at the log's left edge.
    indent = lines[0].plain.index("Here")
    assert indent >= INDENT
    assert all(line.plain.startswith(" " * indent) for line in lines[1:])
    assert all(line.cell_len <= 60 for line in lines)
    # Each link on one line of its own, cut in its middle to fit the column (the
    # host and the file name shown), a link to its whole target.
    long_line, middle_line = (line for line in lines if links(line))
    for line, url in ((long_line, LONG), (middle_line, MIDDLE)):
        shown = line.plain[indent:]
        head, tail = shown.split("…")
        assert url.startswith(head)
        assert url.endswith(tail)
        assert head.startswith("https://cdn.example")
        assert links(line) == {url}
