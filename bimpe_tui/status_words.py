"""What the status line says: the open stream and all streams, in words and a tone.

Pure functions of the monitor's state, so every wording is tested without a
terminal. The tone names a CSS class (`-live`, `-busy`, `-bad`, `-idle`) that
the theme colours with `$success`, `$warning`, `$error` and muted text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .api.stream import StreamStatus
from .book import Entry

Tone = Literal["live", "busy", "bad", "idle"]

#: Seconds without a byte after which a live stream is reported as quiet
#: (heartbeats come every 15 s; the watchdog acts at the read timeout).
QUIET_AFTER = 20.0

#: The tone of each stream state.
TONES: dict[str, Tone] = {
    "live": "live",
    "resumed": "live",
    "gap_possible": "live",
    "frame_skipped": "live",
    "connecting": "busy",
    "reconnecting": "busy",
    "stalled": "busy",
    "gave_up": "bad",
    "closed": "idle",
}


@dataclass(frozen=True, slots=True)
class StatusLine:
    """The status line's parts: the open stream's words and tone, its activity, the sums."""

    words: str
    tone: Tone
    activity: str = ""
    summary: str = ""


def tone_of(status: StreamStatus | None) -> Tone:
    """The tone of a stream's state; `idle` when not watched."""
    return "idle" if status is None else TONES.get(status.state, "busy")


def summary_words(entries: Iterable[Entry]) -> str:
    """Watched streams counted by what they do: `12 live · 1 reconnecting · 0 gave up`."""
    counts = {"live": 0, "reconnecting": 0, "gave up": 0}
    any_watched = False
    for entry in entries:
        if not entry.watched:
            continue
        any_watched = True
        state = entry.status.state if entry.status else "connecting"
        if state == "gave_up":
            counts["gave up"] += 1
        elif state in ("connecting", "reconnecting", "stalled"):
            counts["reconnecting"] += 1
        elif state != "closed":
            counts["live"] += 1
    return " · ".join(f"{n} {label}" for label, n in counts.items()) if any_watched else ""


#: Steps of the footer's "last data … ago": a finer clock would redraw the
#: footer every second on an idle screen, for a figure nobody reads that closely.
AGE_STEP = 5


def activity_words(age: float | None) -> str:
    """Time since the stream's last byte: `data just now`, `last data 10 s ago`, `… 2 min ago`."""
    if age is None:
        return ""
    if age < AGE_STEP:
        return "data just now"
    if age < 60:
        return f"last data {int(age // AGE_STEP) * AGE_STEP} s ago"
    return f"last data {int(age // 60)} min ago"


def stream_words(entry: Entry, age: float | None) -> tuple[str, Tone]:
    """The open conversation's stream in words, and its tone.

    `age` is the seconds since the stream's last byte (None before the first).
    """
    status = entry.status
    if status is None:
        if entry.watched:
            return "loading", "busy"
        return "not watched — press r to watch", "idle"
    tone = tone_of(status)
    words = status.describe()
    if status.state in ("resumed", "gap_possible", "frame_skipped"):
        words = "live"
    elif status.state == "gave_up":
        words = f"{words} — press r to retry"
    if words == "live" and entry.gap_possible:
        # Said until the user has looked at another conversation.
        return "live · gap possible: the server could not resume by id", "busy"
    if words.startswith("live") and age is not None and age >= QUIET_AFTER:
        # Heartbeats should have come by now: say so before the watchdog acts.
        return f"live, but no data for {age:.0f} s", "busy"
    return words, tone


def status_line(
    entry: Entry | None,
    entries: Iterable[Entry],
    age: float | None,
    phase: str,
    list_health: str = "",
) -> StatusLine:
    """The whole status line: the open stream (or the start-up phase) and the sums.

    `list_health` (say, "list 2 min old: rate limited, retrying in 30 s") leads
    the sums when refreshing the conversation list fails.
    """
    summary = " · ".join(part for part in (list_health, summary_words(entries)) if part)
    if entry is None:
        tone: Tone = "bad" if "press r" in phase else "busy" if phase != "ready" else "idle"
        return StatusLine(phase if phase != "ready" else "no conversation open", tone, "", summary)
    words, tone = stream_words(entry, age)
    activity = activity_words(age) if entry.status is not None else ""
    if entry.watched and entry.watched_by not in ("", "you"):
        activity = " · ".join(p for p in (activity, f"auto-watched: {entry.watched_by}") if p)
    return StatusLine(words, tone, activity, summary)
