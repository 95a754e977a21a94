"""Untrusted text made safe to show, and the words and glyphs of the UI.

Everything a server sends is shown literally: it goes into `rich.text.Text`
as plain text (never markup), and the characters `safe_text` calls unsafe
are made visible, so an ANSI or OSC escape sequence prints as `␛[31m`
instead of colouring or retitling the terminal, and a bidi override as
`<U+202E>` instead of reversing the line. Emoji sequences whose width Rich and the terminal
disagree on are split into emoji both draw alike (see `cells`), so a line
Textual lays out is the line tmux draws.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple

from rich.cells import cell_len, chop_cells
from rich.style import Style
from rich.text import Text

from . import cells, safe_text
from .api.models import Message
from .api.stream import StreamStatus, is_timestamp, parse_timestamp

#: Longest message text shown in full; the rest is summarised, so 1 MB of
#: text costs one screenful of layout, not thousands.
MAX_SHOWN_CHARS = 8_000
#: Most lines of one message shown: 8,000 newlines would be 8,000 rows.
MAX_SHOWN_LINES = 200
#: Attachments listed per message, and the longest link shown.
MAX_SHOWN_ATTACHMENTS = 20
MAX_URL_CHARS = 500

# The characters unsafe on a terminal: the one policy, in `safe_text`.
_CONTROLS: cells.Ranges = safe_text.UNSAFE_RANGES
# With them, the characters whose width Rich and the terminal disagree on: one
# pass over the text finds both.
_UNSAFE = re.compile(cells.one_of(_CONTROLS + cells.RANGES) + cells.REGIONAL_RUN)


def _stand_in(char: str) -> str:
    if safe_text.UNSAFE.match(char):
        return safe_text.stand_in(char)
    return cells.stand_in(char)


#: What each character the pattern matches is shown as, looked up in one step
#: (an emoji-laden message has a match every few characters). Lone surrogates
#: and flags are spelled out by `_visible` itself.
_STAND_INS: dict[str, str] = {
    chr(code): _stand_in(chr(code))
    for first, last in _CONTROLS + cells.RANGES
    if first != 0xD800 and (first, last) != cells.REGIONAL
    for code in range(first, last + 1)
}


def _visible(match: re.Match[str]) -> str:
    found = match.group()
    shown = _STAND_INS.get(found)
    if shown is not None:
        return shown
    # A lone surrogate, or a run of regional indicators (alone or after
    # another character the pattern matched).
    if cells.is_regional(found[0]):
        return cells.flags(found)
    return _stand_in(found[0]) + cells.flags(found[1:])


def visible(text: str) -> str:
    """`text` with every unsafe character replaced by a visible stand-in
    (`safe_text.stand_in`), and a tab by four spaces.

    Also made to measure the same in Rich as in the terminal (`cells`):
    variation selectors, zero-width joiners, skin-tone modifiers and tag
    characters are dropped, a flag is shown as its letters (`[GH]`), and a
    character of no agreed width by its code (`<U+1FAE8>`).
    """
    return _UNSAFE.sub(_visible, text.replace("\t", "    "))


def one_line(text: str, limit: int = 200) -> str:
    """A single visible line (for previews): newlines folded, long text cut."""
    flat = visible(text[: limit * 2].replace("\r\n", " ").replace("\n", " "))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


#: Label and style per role; an unknown role is shown as it is.
ROLES: dict[str, tuple[str, str]] = {
    "customer": ("customer", "bold cyan"),
    "user": ("user", "bold cyan"),
    "assistant": ("agent", "bold green"),
    "restaurant_user": ("staff", "bold magenta"),
}
UNKNOWN_ROLE_STYLE = "bold yellow"


def role_label(role: str) -> tuple[str, str]:
    """(label, style) of a role."""
    return ROLES.get(role) or (one_line(role, 16), UNKNOWN_ROLE_STYLE)


def local_time(iso: str, tz: tzinfo | None, now: datetime | None = None) -> str:
    """`HH:MM:SS` in the user's zone; the date too when it is not today."""
    parsed = parse_timestamp(iso) if iso else None
    if parsed is None:
        return "--:--:--"
    try:
        local = parsed.astimezone(tz)
    except (OverflowError, ValueError, OSError):
        # A time at the very edge of the calendar (year 1 or 9999 with an
        # offset) has no local equivalent.
        return "--:--:--"
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M:%S")
    return local.strftime("%b %d %H:%M")


#: How text that matched a highlight rule is shown.
HIGHLIGHT_STYLE = "bold reverse"

#: A span of a message's raw text (start, end) and the style it is shown in.
Mark = tuple[int, int, "str | Style"]


class AttachmentLine(NamedTuple):
    """An attachment as shown: its label, then its link (never broken, see `url_text`)."""

    #: `📎 image ` (dim).
    label: Text
    #: The URL as shown: visible, at most MAX_URL_CHARS.
    url: str
    #: What a click opens: the URL itself, when it is http(s) and needed no cleaning.
    link: str | None


class MessageParts(NamedTuple):
    """One message cut into what the log lays out each in its own way."""

    when: Text
    who: Text
    #: The type badge, the text and the "more characters" note: wrapped like prose.
    text: Text
    #: One line each, the URL kept whole.
    attachments: list[AttachmentLine]
    #: `… (N more attachments not shown)`, if there are more.
    more: Text | None


def message_parts(
    message: Message,
    *,
    tz: tzinfo | None = None,
    now: datetime | None = None,
    highlights: Sequence[tuple[int, int]] = (),
    marks: Sequence[Mark] = (),
) -> MessageParts:
    """One message in parts: time, role, text, attachments (see `message_row`).

    `marks` are more spans of the raw text, each with its own style (search
    matches), sorted by start like `highlights`.
    """
    label, style = role_label(message.role)
    when = Text(local_time(message.created_at, tz, now), "dim")
    who = Text(label, style)
    body = Text()
    if message.message_type and message.message_type != "text":
        body.append(f" {one_line(message.message_type, 16)} ", "reverse")
        body.append(" ")
    text = message.message or ""
    shown = shown_part(text)
    spans: list[Mark] = [(start, end, HIGHLIGHT_STYLE) for start, end in highlights]
    if marks:
        spans = sorted([*spans, *marks], key=lambda mark: mark[0])
    _append_highlighted(body, shown, spans)
    if len(shown) < len(text):
        hidden = len(text) - len(shown)
        body.append(f" … ({hidden:,} more characters not shown)", "dim italic")
    attachments = [
        _attachment_line(attachment.type, attachment.url)
        for attachment in message.attachments[:MAX_SHOWN_ATTACHMENTS]
    ]
    more = None
    if len(message.attachments) > MAX_SHOWN_ATTACHMENTS:
        hidden = len(message.attachments) - MAX_SHOWN_ATTACHMENTS
        more = Text(f"… ({hidden:,} more attachments not shown)", "dim italic")
    return MessageParts(when, who, body, attachments, more)


def _attachment_line(kind: str, raw_url: str) -> AttachmentLine:
    url = one_line(raw_url, MAX_URL_CHARS)
    # A link is a style attribute, never parsed markup; only http(s) links
    # that needed no cleaning are made clickable.
    clean = url == raw_url
    link = url if clean and url.startswith(("https://", "http://")) else None
    return AttachmentLine(Text(f"📎 {one_line(kind, 16)} ", "dim"), url, link)


def url_text(attachment: AttachmentLine, width: int | None = None) -> Text:
    """An attachment's URL as one unbroken run, cut to `width` cells in its middle if longer.

    A URL is never wrapped: the terminal's own URL detection would find only
    its first line, and open that. One longer than the line keeps its head
    (scheme and host: where it leads) and its tail (the file name: what it
    is) around an ellipsis, while the link, a style attribute the terminal
    gets as an OSC 8 hyperlink, keeps the whole target.
    """
    shown = attachment.url if width is None else crop_middle(attachment.url, width)
    return Text(shown, Style(underline=True, link=attachment.link))


def crop_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells: whole if it fits, else its head and tail around `…`."""
    if cell_len(text) <= width:
        return text
    if width < 1:
        return ""
    room = width - 1
    head = chop_cells(text, room - room // 2)[0] if room > 1 else ""
    return f"{head}…{_tail(text, room - cell_len(head))}"


def _tail(text: str, width: int) -> str:
    """The longest end of `text` in at most `width` cells, starting at a base character."""
    start, used = len(text), 0
    while start > 0:
        size = cell_len(text[start - 1])
        if used + size > width:
            break
        used += size
        start -= 1
    # A combining mark whose letter did not fit is left out with it.
    while start < len(text) and cell_len(text[start]) == 0:
        start += 1
    return text[start:]


def message_row(
    message: Message,
    *,
    tz: tzinfo | None = None,
    now: datetime | None = None,
    highlights: Sequence[tuple[int, int]] = (),
) -> tuple[Text, Text, Text]:
    """One message as three cells: time, role, and body (type badge, text, attachments).

    `highlights` are (start, end) offsets into the message's raw text, sorted
    and apart (as `alerts.Match.spans` gives them); they are shown in
    HIGHLIGHT_STYLE.
    """
    when, who, body, attachments, more = message_parts(
        message, tz=tz, now=now, highlights=highlights
    )
    for attachment in attachments:
        if body:
            body.append("\n")
        body.append_text(attachment.label)
        body.append_text(url_text(attachment))
    if more is not None:
        body.append("\n")
        body.append_text(more)
    return when, who, body


def _append_highlighted(body: Text, raw: str, spans: Sequence[Mark]) -> None:
    # Split the raw text at the spans first, then make each piece visible:
    # visible() changes lengths (a tab, a control character), offsets do not survive it.
    at = 0
    for start, end, style in spans:
        start, end = max(start, at), min(end, len(raw))
        if start >= end:
            continue
        body.append(visible(raw[at:start]))
        body.append(visible(raw[start:end]), style)
        at = end
    body.append(visible(raw[at:]))


def shown_part(text: str) -> str:
    """The head of a message text that is shown: capped in characters and in lines."""
    shown = text[:MAX_SHOWN_CHARS]
    end = -1
    for _ in range(MAX_SHOWN_LINES):
        end = shown.find("\n", end + 1)
        if end == -1:
            return shown
    return shown[:end]


def message_text(
    message: Message, *, tz: tzinfo | None = None, now: datetime | None = None
) -> Text:
    """One message on one logical line: `time role body` (for plain output and tests)."""
    when, who, body = message_row(message, tz=tz, now=now)
    return Text.assemble(when, " ", who, " ", body)


#: How a divider in the timeline looks.
MARKER_STYLE = "bold yellow"


def marker_text(label: str) -> Text:
    """An in-timeline divider such as `── new since you left ──`."""
    return Text(f"──── {one_line(label, 500)} ────", style=MARKER_STYLE, justify="center")


def marker_lines(label: str, width: int) -> list[Text]:
    """A divider (`marker_text`) as lines of at most `width` cells, each centred.

    Lines break between words, and each rule stays with the word next to it;
    only a word longer than a whole line (a long id or URL in a server's
    error) is cut, across lines.
    """
    width = max(1, width)
    plain = marker_text(label).plain
    if cell_len(plain) <= width:
        rows = [plain]
    else:
        words = plain.split()
        # "──── Some" and "history. ────": never a rule alone on a line.
        words[:2] = [" ".join(words[:2])]
        words[-2:] = [" ".join(words[-2:])]
        rows = _word_wrap(words, width)
    lines = []
    for row in rows:
        line = Text(row, style=MARKER_STYLE)
        line.pad_left((width - line.cell_len) // 2)
        lines.append(line)
    return lines


def _word_wrap(words: list[str], width: int) -> list[str]:
    rows: list[str] = []
    row = ""
    for word in words:
        for piece in chop_cells(word, width) if cell_len(word) > width else [word]:
            joined = f"{row} {piece}" if row else piece
            if cell_len(joined) <= width:
                row = joined
            else:
                rows.append(row)
                row = piece
    if row:
        rows.append(row)
    return [row.rstrip() for row in rows]


def gap_words(cause: str, after: str | None) -> str:
    """What a gap marker says: what happened, from where, and what to do about it.

    `cause` and `after` are a `gap_possible` status's: after a reconnect the
    server refused to resume after `after` (the last message received, or
    its time), and the stream went on either from that message's time or
    with new messages only, as `api.outcomes` words the cause. Ids are left
    out: they mean nothing to a reader, and the marker stands right after
    that message anyway.
    """
    if "history could not be read" in cause or "not in the newest" in cause:
        # The stream could not resume and the history could not fill the hole.
        what = (
            "After a reconnect the server could not resume after the last message you "
            "received, and its history could not be read to fill in what came between: "
            "any sent while the connection was down are not shown yet."
        )
        if "trying the history again" in cause:
            return f"Some messages may be missing here. {what} Trying the history again."
    elif "resuming from its time" in cause:
        what = (
            "After a reconnect the server could not resume right after the last message "
            "you received, so it resumed from that message's time: one sent in the same "
            "instant may have been skipped."
        )
    elif "continuing live" in cause:
        point = "the time of " if after is not None and is_timestamp(after) else ""
        what = (
            f"After a reconnect the server could not resume after {point}the last message "
            "you received, so it went on with new messages only: any sent while the "
            "connection was down are not shown."
        )
    else:
        what = "After a reconnect the stream could not pick up exactly where it left off."
    return f"Some messages may be missing here. {what} Restart bimpe-tui to reload the history."


#: The picker's glyph for each stream state; its colour is the state's tone
#: (`status_words.TONES`), which the theme colours.
GLYPHS: dict[str, str] = {
    "live": "●",
    "resumed": "●",
    "gap_possible": "●",
    "frame_skipped": "●",
    "connecting": "◌",
    "reconnecting": "↻",
    "stalled": "⚠",
    "gave_up": "✖",
    "closed": "○",
}


def status_glyph(status: StreamStatus | None) -> str:
    """The picker's glyph for a stream's state (a blank if not watched)."""
    if status is None:
        return " "
    return GLYPHS.get(status.state, "?")


def relative_time(iso: str | None, now: float) -> str:
    """`now` (under a minute), `3m`, `2h`, `4d` since the time `iso`.

    No seconds: a row's age that moved every second would redraw the whole
    list every second on an idle screen (see the README's idle figure).
    """
    parsed = parse_timestamp(iso) if iso else None
    if parsed is None:
        return ""
    try:
        seconds = max(0.0, now - parsed.timestamp())
    except (OverflowError, ValueError, OSError):
        return ""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "now"
