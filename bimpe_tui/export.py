"""A conversation written out as Markdown (to read, paste into a ticket) or JSON Lines.

No Textual here: the command line (`bimpe-tui export`) and the app both call it, the
app for what it has loaded (:func:`export_messages`) or for everything
(:func:`export_conversation`), each with a progress callback.

What is written, and what is not:

- JSON Lines: one message per line, its payload exactly as the server sent it (a
  stream frame's data, or the history item re-encoded without changing a value); only
  what a terminal would act on if the file were printed is written as a ``\\uXXXX``
  escape, which leaves every line's JSON equal to what was received.
- Markdown: every message's text inside a code fence longer than any run of backticks
  in it, so no message can open a heading, a link, a table or HTML, or close the fence
  early: what is read is the text as sent. Controls (ANSI escapes, bidi overrides, C0
  and C1 characters) are shown as the app shows them (``␛``, ``<U+202E>``): a
  Markdown file cannot carry them safely. Roles, times and ids outside the fences are
  escaped, links are code, never clickable.
- Nothing secret: no API key, no stream ticket, no base URL; of the customer only what
  the list shows (username or id, channel), not their email or phone number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TextIO

from . import __version__
from .api.client import ConsoleClient
from .api.models import Message
from .atomic import atomic_text_file
from .history import DEFAULT_PAGE_SIZE, iter_all_messages
from .safe_text import spelled_out
from .tail import json_line, safe_json

if TYPE_CHECKING:
    from .book import Entry

__all__ = [
    "FORMATS",
    "ExportFormat",
    "ExportHeader",
    "Progress",
    "atomic_text_file",
    "export_conversation",
    "export_file_name",
    "export_from_app",
    "export_messages",
    "export_path",
    "format_for_path",
    "jsonl_message",
    "markdown_message",
]

ExportFormat = Literal["md", "jsonl"]
FORMATS: tuple[ExportFormat, ...] = ("md", "jsonl")

Progress = Callable[[int, int | None], None]
"""Called as ``progress(written, total)`` after each batch; ``total`` None if unknown."""

# The ASCII punctuation that can start structure inside a line of CommonMark or GFM
# (emphasis, code, links, images, HTML, entities, tables, strikethrough, a heading's
# closing hashes, autolinks after a colon). Backslash-escaped, each renders as itself;
# the rest stays as typed, so the file reads well before rendering too.
_PUNCTUATION = re.compile(r"([\\`*_\[\]<>&|~!#:])")
_BACKTICKS = re.compile("`+")


def _shown(text: str) -> str:
    """``text`` with the characters a file cannot carry safely spelled out visibly."""
    return spelled_out(text)


def _inline(text: str) -> str:
    """Plain Markdown text that renders as ``text`` and on one line, starting nothing."""
    return _PUNCTUATION.sub(r"\\\1", _shown(text.replace("\n", " ").replace("\t", " ")))


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def _code(text: str) -> str:
    """An inline code span holding ``text`` exactly (ids, links: shown, not followed)."""
    shown = _shown(text.replace("\n", " ").replace("\t", " "))
    ticks = "`" * (_longest_backticks(shown) + 1)
    # A span whose text starts or ends with a backtick needs a space inside each end,
    # which CommonMark strips again when rendering.
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{ticks}{pad}{shown}{pad}{ticks}"


def _fenced(text: str) -> str:
    """``text`` in a code block no line of it can close or leave."""
    shown = _shown(text.replace("\r\n", "\n"))
    fence = "`" * max(3, _longest_backticks(shown) + 1)
    body = shown if shown.endswith("\n") else shown + "\n"
    return f"{fence}\n{body}{fence}\n"


@dataclass(frozen=True, slots=True)
class ExportHeader:
    """What the Markdown file says about the conversation above its messages."""

    agent_id: str
    conversation_id: str
    #: The customer as the list shows them (username, else user id).
    who: str | None = None
    channel: str | None = None
    #: "all messages" or "messages loaded in the app": what the file holds.
    scope: str = "all messages"

    def markdown(self, now: datetime | None = None) -> str:
        """The file's title and facts, each value escaped."""
        when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        title = _inline(self.who) if self.who else _code(self.conversation_id)
        lines = [f"# Conversation with {title}", ""]
        lines.append(f"- agent: {_code(self.agent_id)}")
        lines.append(f"- conversation: {_code(self.conversation_id)}")
        if self.channel:
            lines.append(f"- channel: {_inline(self.channel)}")
        lines.append(f"- holds: {_inline(self.scope)}")
        lines.append(f"- exported: {_code(when)} by bimpe-tui {__version__}")
        return "\n".join(lines) + "\n"


def markdown_message(message: Message) -> str:
    """One message as a Markdown section: a heading of facts, the text fenced, links."""
    facts = [_inline(message.role), _code(message.created_at or "unknown time")]
    if message.message_type and message.message_type != "text":
        facts.append(_inline(message.message_type))
    parts = [f"### {' · '.join(facts)} · {_code(message.id)}", ""]
    if message.message:
        parts.append(_fenced(message.message))
    else:
        parts.append("*(no text)*\n")
    if message.attachments:
        parts.append("")
        parts.extend(f"- {_inline(a.type)}: {_code(a.url)}" for a in message.attachments)
        parts.append("")
    return "\n".join(parts) + "\n"


def jsonl_message(message: Message) -> str:
    """One message as a JSON line: its payload as received, escaped only where unsafe."""
    # Every unsafe character (a lone surrogate from the history's JSON escape too) is
    # escaped: the line is valid UTF-8 and its JSON equal to the payload's.
    if message.payload is None:
        # From the history: the item as decoded, in the compact form servers send.
        payload = json.dumps(dict(message.raw), ensure_ascii=False, separators=(",", ":"))
        return safe_json(payload) + "\n"
    return json_line(message)


def format_for_path(path: str | None) -> ExportFormat:
    """The format a file name asks for: ``.jsonl`` / ``.ndjson`` JSON Lines, else Markdown."""
    if path and path.lower().endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return "md"


class _Writer:
    def __init__(self, out: TextIO, fmt: ExportFormat, header: ExportHeader | None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
        self._out = out
        self._fmt = fmt
        self.written = 0
        if fmt == "md" and header is not None:
            out.write(header.markdown() + "\n")

    def write(self, messages: Iterable[Message]) -> None:
        encode = markdown_message if self._fmt == "md" else jsonl_message
        # One write per batch: a hundred-thousand-message export is a thousand writes.
        chunk = [encode(message) for message in messages]
        self._out.write("".join(chunk))
        self.written += len(chunk)


def export_messages(
    out: TextIO,
    fmt: ExportFormat,
    messages: Iterable[Message],
    *,
    header: ExportHeader | None = None,
    total: int | None = None,
    progress: Progress | None = None,
    batch: int = 1000,
) -> int:
    """Write ``messages`` (oldest first, as loaded) to ``out``; returns how many.

    For the app's loaded range: ``progress(written, total)`` after every ``batch``.
    """
    writer = _Writer(out, fmt, header)
    pending: list[Message] = []
    for message in messages:
        pending.append(message)
        if len(pending) >= batch:
            writer.write(pending)
            pending.clear()
            if progress is not None:
                progress(writer.written, total)
    if pending or writer.written == 0:
        writer.write(pending)
        if progress is not None:
            progress(writer.written, total)
    return writer.written


async def export_conversation(
    client: ConsoleClient,
    agent_id: str,
    conversation_id: str,
    out: TextIO,
    fmt: ExportFormat,
    *,
    progress: Progress | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> int:
    """Write a whole conversation, first message to newest, fetching every page.

    Messages that arrive meanwhile are included up to the last page read, none twice.
    ``progress(written, total)`` after each page. Returns how many were written.
    """
    header: ExportHeader | None = None
    if fmt == "md":
        detail = await client.get_conversation(agent_id, conversation_id)
        header = ExportHeader(
            agent_id, conversation_id, who=detail.who, channel=detail.channel_type
        )
    writer = _Writer(out, fmt, header)
    async for batch, total in iter_all_messages(
        client, agent_id, conversation_id, page_size=page_size
    ):
        # In a thread: encoding and writing a page must not stall the caller's loop.
        await asyncio.to_thread(writer.write, batch)
        if progress is not None:
            progress(writer.written, total)
    return writer.written


# -- from the app --------------------------------------------------------------------


def export_path(directory: str | None, conversation_id: str, fmt: ExportFormat, now: float) -> str:
    """Where the app writes an export (`directory`, else the user's downloads directory,
    created if need be), named for the conversation and the wall-clock time `now`."""
    if directory is None:
        import platformdirs

        directory = platformdirs.user_downloads_dir()
    os.makedirs(directory, exist_ok=True)
    when = datetime.fromtimestamp(now, UTC)
    return os.path.join(directory, export_file_name(conversation_id, fmt, when))


async def export_from_app(
    client: ConsoleClient,
    entry: Entry,
    fmt: ExportFormat,
    *,
    directory: str | None,
    now: float,
    everything: bool,
    progress: Progress | None = None,
) -> tuple[str, int]:
    """Write a conversation from the app: what its timeline holds, or all of it
    (fetching pages). Returns the path written and how many messages.

    Raises BimpeError or OSError; a failed export leaves no file. The disk is used
    from threads only: a slow disk must not stall the app's loop.
    """
    conversation_id = entry.id
    path = await asyncio.to_thread(export_path, directory, conversation_id, fmt, now)
    if everything:
        # The file's opening, writes (in export_conversation) and commit (fsync,
        # rename) run in threads.
        stack = contextlib.ExitStack()
        out = await asyncio.to_thread(stack.enter_context, atomic_text_file(path, suffix=".part"))
        try:
            written = await export_conversation(
                client, entry.agent.id, conversation_id, out, fmt, progress=progress
            )
        except BaseException as exc:
            await asyncio.to_thread(stack.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await asyncio.to_thread(stack.close)
        return path, written
    messages = entry.timeline.messages()
    header = ExportHeader(
        entry.agent.id,
        conversation_id,
        who=entry.conversation.who,
        channel=entry.conversation.channel_type,
        scope="messages loaded in the app",
    )
    loop = asyncio.get_running_loop()

    def report(written: int, total: int | None) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, written, total)

    def write() -> int:
        with atomic_text_file(path, suffix=".part") as out:
            return export_messages(
                out, fmt, messages, header=header, total=len(messages), progress=report
            )

    written = await asyncio.to_thread(write)
    return path, written


def export_file_name(conversation_id: str, fmt: ExportFormat, now: datetime | None = None) -> str:
    """A file name for an export: the conversation and the time, e.g. for the app to offer."""
    when = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    # Ids come from the server: only what is safe in a file name on any system is kept.
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", conversation_id)[:80] or "conversation"
    return f"bimpe-{safe}-{when}.{fmt}"
