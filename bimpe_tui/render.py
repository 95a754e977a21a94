"""Untrusted text made safe to show, and the words and glyphs of the UI.

Everything a server sends is shown literally: it goes into `rich.text.Text`
as plain text (never markup), and control characters are made visible, so
an ANSI or OSC escape sequence prints as `␛[31m` instead of colouring or
retitling the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from rich.style import Style
from rich.text import Text

from .api.models import Message
from .api.stream import StreamStatus, parse_timestamp

#: Longest message text shown in full; the rest is summarised, so 1 MB of
#: text costs one screenful of layout, not thousands.
MAX_SHOWN_CHARS = 8_000
#: Most lines of one message shown: 8,000 newlines would be 8,000 rows.
MAX_SHOWN_LINES = 200
#: Attachments listed per message, and the longest link shown.
MAX_SHOWN_ATTACHMENTS = 20
MAX_URL_CHARS = 500

# C0 controls (but tab and newline), DEL, C1 controls, the bidi overrides and
# isolates that can make text display in another order, and lone surrogates
# (JSON can carry them; no terminal or file encoding can).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ … ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def visible(text: str) -> str:
    """`text` with every control character replaced by a visible stand-in."""
    return _CONTROL.sub(_visible, text.replace("\t", "    "))


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
    label, style = role_label(message.role)
    when = Text(local_time(message.created_at, tz, now), "dim")
    who = Text(label, style)
    body = Text()
    if message.message_type and message.message_type != "text":
        body.append(f" {one_line(message.message_type, 16)} ", "reverse")
        body.append(" ")
    text = message.message or ""
    shown = _shown_part(text)
    _append_highlighted(body, shown, highlights)
    if len(shown) < len(text):
        hidden = len(text) - len(shown)
        body.append(f" … ({hidden:,} more characters not shown)", "dim italic")
    attachments = message.attachments
    for attachment in attachments[:MAX_SHOWN_ATTACHMENTS]:
        url = one_line(attachment.url, MAX_URL_CHARS)
        if body:
            body.append("\n")
        body.append(f"📎 {one_line(attachment.type, 16)} ", "dim")
        # A link is a style attribute, never parsed markup; only http(s) links
        # that needed no cleaning are made clickable.
        clean = url == attachment.url
        link = url if clean and url.startswith(("https://", "http://")) else None
        body.append(url, Style(underline=True, link=link))
    if len(attachments) > MAX_SHOWN_ATTACHMENTS:
        more = len(attachments) - MAX_SHOWN_ATTACHMENTS
        body.append(f"\n… ({more:,} more attachments not shown)", "dim italic")
    return when, who, body


def _append_highlighted(body: Text, raw: str, spans: Sequence[tuple[int, int]]) -> None:
    # Split the raw text at the spans first, then make each piece visible:
    # visible() changes lengths (a tab, a control character), offsets do not survive it.
    at = 0
    for start, end in spans:
        start, end = max(start, at), min(end, len(raw))
        if start >= end:
            continue
        body.append(visible(raw[at:start]))
        body.append(visible(raw[start:end]), HIGHLIGHT_STYLE)
        at = end
    body.append(visible(raw[at:]))


def _shown_part(text: str) -> str:
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


def marker_text(label: str) -> Text:
    """An in-timeline divider such as `── new since you left ──`."""
    return Text(f"──── {one_line(label, 500)} ────", style="bold yellow", justify="center")


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
    """`now`, `5s`, `3m`, `2h`, `4d` since the time `iso`."""
    parsed = parse_timestamp(iso) if iso else None
    if parsed is None:
        return ""
    try:
        seconds = max(0.0, now - parsed.timestamp())
    except (OverflowError, ValueError, OSError):
        return ""
    if seconds < 5:
        return "now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
