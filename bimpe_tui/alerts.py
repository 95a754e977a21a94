"""Alerts: which messages and conversations call for the user, and how to ring.

Pure and headless (no I/O, no clock, no Textual), in four parts, one job each:

- `AlertRules` decides whether a message matches the user's words, regexes
  or roles (`match_message`), and `conversation_alerts` which conversations
  of a fresh listing started needing attention or are new; `waiting_alert`
  words a customer's wait for a person that passed its threshold (when is
  `waits.WaitAlarm`'s to say).
- `Alert` is one thing to tell the user, with a key for dedupe.
- `Alerter` decides when to ring: at most one bell or notification per
  `min_interval`, the rest folded into a summary; never the same key twice.
- `terminal_bytes` spells the bell or desktop notification for the terminal,
  with the server's text made unable to end the sequence early.

Restarts: the `Alerter` forgets everything when the process ends. Not
alerting again after a restart for what was already seen is the caller's
job, through the state file's seen cursor (messages up to it are history,
not news) and `conversation_alerts`' first-listing baseline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .config import NOTIFY_MODES, AlertSettings, NotifyMode
from .rules import word_pattern
from .safe_text import spaced
from .waits import duration_words

if TYPE_CHECKING:
    from .api.models import Conversation, Message

#: Characters of a message's text that are scanned for words and regexes.
#: The log shows the first 8,000 (render.MAX_SHOWN_CHARS), so this covers
#: what the user can see; and it bounds the cost of a 1 MB message: a user's
#: regex with quadratic backtracking (like `a.*b`) needs ~30 ms on 8 KiB but
#: seconds on 64 KiB. Exponential ones are refused when the config is read.
MAX_SCAN_CHARS = 8_192
#: Most highlighted spans kept per message (a word repeated 4,000 times
#: needs no 4,000 highlights to be noticed).
MAX_SPANS = 200
#: Longest title and body of an alert, in characters.
TITLE_CHARS = 80
BODY_CHARS = 200

AlertKind = Literal["attention", "new_conversation", "highlight", "waiting"]


# -- matching messages -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """What made a message alert: the words, regexes and role, and where.

    `spans` are (start, end) character offsets into `message.message` (the
    raw text, before any rendering), sorted and merged, all within the
    first MAX_SCAN_CHARS characters. A role match has no span.
    """

    words: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    role: str | None = None
    spans: tuple[tuple[int, int], ...] = ()

    def describe(self) -> str:
        """What matched, in a few words: `word 'refund', role customer`."""
        parts = [f"word {w!r}" for w in self.words]
        parts += [f"regex {r!r}" for r in self.regexes]
        if self.role is not None:
            parts.append(f"role {self.role}")
        return printable(", ".join(parts), BODY_CHARS)


class AlertRules:
    """The user's alert rules, compiled once, applied to messages and listings.

    Words match whole words ignoring case (`rules.word_pattern`); regexes are
    searched ignoring case; both only in the first MAX_SCAN_CHARS characters
    of a message, and a regex's empty matches do not count. Words and
    regexes apply to messages of every role. A role matches every message
    with that role: in conversations needing attention only, or always, as
    `roles_when` says.
    """

    def __init__(self, settings: AlertSettings) -> None:
        self.attention = settings.attention
        self.new_conversation = settings.new_conversation
        self._words = settings.words
        # One pass for all words: a group per word says which one matched;
        # longer words first, so "refund request" wins over "refund".
        order = sorted(range(len(self._words)), key=lambda i: -len(self._words[i]))
        self._word_groups = dict(enumerate(order, start=1))
        alternatives = "|".join(f"({word_pattern(self._words[i])})" for i in order)
        self._word_regex = re.compile(alternatives, re.IGNORECASE) if alternatives else None
        self._regexes = tuple((p, re.compile(p, re.IGNORECASE)) for p in settings.regexes)
        self._roles = frozenset(role.lower() for role in settings.roles)
        self._roles_always = settings.roles_when == "always"

    def match_message(self, message: Message, conversation_needs_attention: bool) -> Match | None:
        """What in `message` matches the rules, or None when nothing does."""
        text = (message.message or "")[:MAX_SCAN_CHARS]
        # Both loops are bounded by the scanned length: at most one
        # non-empty match per character.
        spans: list[tuple[int, int]] = []
        words: set[int] = set()
        if self._word_regex is not None:
            for found in self._word_regex.finditer(text):
                words.add(self._word_groups[found.lastindex or 0])
                spans.append(found.span())
        regexes: list[str] = []
        for source, regex in self._regexes:
            found_spans = [m.span() for m in regex.finditer(text) if m.end() > m.start()]
            if found_spans:
                regexes.append(source)
                spans += found_spans
        role = message.role.lower()
        role_hit = role in self._roles and (self._roles_always or conversation_needs_attention)
        if not words and not regexes and not role_hit:
            return None
        return Match(
            words=tuple(self._words[i] for i in sorted(words)),
            regexes=tuple(regexes),
            role=role if role_hit else None,
            spans=_merged(spans)[:MAX_SPANS],
        )


def _merged(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


# -- alerts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing to tell the user. `title` and `body` are printable, short lines.

    `key` identifies the event, so that the same one seen twice (in the
    history and on the stream, or in two listings) alerts once.
    """

    kind: AlertKind
    conversation_id: str
    title: str
    body: str
    key: str


def _title(conversation: Conversation, agent: str) -> str:
    parts = (conversation.who, conversation.channel_type, agent)
    return printable(" · ".join(printable(p, 40) for p in parts if p), TITLE_CHARS)


def attention_alert(conversation: Conversation, *, agent: str) -> Alert:
    """`conversation` (of the agent named `agent`) has started needing attention.

    The key includes `updated_at`, so a conversation that needs attention
    again later, after being handled, alerts again.
    """
    preview = printable(conversation.last_message_preview or "", BODY_CHARS)
    return Alert(
        kind="attention",
        conversation_id=conversation.id,
        title=_title(conversation, agent),
        body=printable(f"needs attention: {preview}" if preview else "needs attention"),
        key=f"attention:{conversation.id}:{conversation.updated_at}",
    )


def new_conversation_alert(conversation: Conversation, *, agent: str) -> Alert:
    """`conversation` (of the agent named `agent`) has just appeared."""
    preview = printable(conversation.last_message_preview or "", BODY_CHARS)
    return Alert(
        kind="new_conversation",
        conversation_id=conversation.id,
        title=_title(conversation, agent),
        body=printable(f"new conversation: {preview}" if preview else "new conversation"),
        key=f"new:{conversation.id}",
    )


def highlight_alert(
    conversation: Conversation, message: Message, match: Match, *, agent: str
) -> Alert:
    """`message` of `conversation` matched the rules (`match` says how)."""
    text = message.message or ""
    # Start the excerpt a little before the first hit, so it shows the hit.
    first = match.spans[0][0] if match.spans else 0
    start = max(0, first - 40) if first > BODY_CHARS - 60 else 0
    excerpt = ("…" if start else "") + text[start : start + BODY_CHARS * 2]
    return Alert(
        kind="highlight",
        conversation_id=conversation.id,
        title=_title(conversation, agent),
        body=printable(f"{printable(message.role, 20)}: {excerpt}"),
        key=f"highlight:{conversation.id}:{message.id}",
    )


def waiting_alert(
    conversation: Conversation,
    since: float,
    *,
    agent: str,
    waited: float,
    said: str | None = None,
) -> Alert:
    """The customer of `conversation` has waited `waited` seconds for a person, since
    `since` (epoch seconds): past `[waits] alert_after`.

    `said`: the customer's message the wait counts from, shown rather than the
    conversation's last message (often the AI's answer to it). The key includes
    the wait's start (whole milliseconds), so the same wait alerts once and a
    later one, after a person answered, alerts again.
    """
    shown = said if said is not None else conversation.last_message_preview
    preview = printable(shown or "", BODY_CHARS)
    words = f"waiting {duration_words(waited)} for a person"
    return Alert(
        kind="waiting",
        conversation_id=conversation.id,
        title=_title(conversation, agent),
        body=printable(f"{words}: {preview}" if preview else words),
        key=f"waiting:{conversation.id}:{round(since * 1000)}",
    )


def conversation_alerts(
    rules: AlertRules,
    before: Mapping[str, Conversation] | None,
    after: Iterable[Conversation],
    *,
    agent: str,
) -> list[Alert]:
    """The alerts a fresh listing of one agent's conversations calls for.

    `before` is the previous listing by id, or None for the first one: that
    one is the baseline and alerts nothing (otherwise every start would ring
    for everything already waiting). A conversation alerts when it needs
    attention and did not before (or was not listed), and when it is not in
    `before` at all (if new-conversation alerts are on). `before` must cover
    what `after` covers, or conversations from further pages look new.
    """
    if before is None:
        return []
    out: list[Alert] = []
    for conversation in after:
        previous = before.get(conversation.id)
        if previous is None and rules.new_conversation:
            out.append(new_conversation_alert(conversation, agent=agent))
        was_waiting = previous is not None and previous.needs_attention
        if rules.attention and conversation.needs_attention and not was_waiting:
            out.append(attention_alert(conversation, agent=agent))
    return out


# -- when to ring ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about an alert now.

    `action` is one of:
    - "notify": tell the user now: show `title` and `body` (a toast), and
      write `terminal` to the terminal as is (empty when notify is "none");
    - "fold": nothing now; the alert will be in a later summary (`flush`);
    - "duplicate": nothing at all, this alert was already raised.
    `alerts` are the alerts this decision is about (several for a summary).
    """

    action: Literal["notify", "fold", "duplicate"]
    alerts: tuple[Alert, ...]
    title: str = ""
    body: str = ""
    terminal: str = ""


class Alerter:
    """Rate-limits and dedupes alerts; the caller supplies the time (`now`, seconds).

    One bell or notification per `min_interval` seconds at most: an alert
    that comes sooner is folded, and `flush` (or the next `offer`) turns the
    folded ones into one summary once the interval has passed. Call `flush`
    at `next_flush_at()` or on any regular tick. Keys are remembered for the
    run (the newest `max_remembered` of them), so an alert is raised once.
    """

    def __init__(
        self,
        settings: AlertSettings,
        *,
        tmux_passthrough: bool = False,
        max_remembered: int = 100_000,
    ) -> None:
        self._mode: NotifyMode = settings.notify
        self._interval = settings.min_interval
        self._tmux = tmux_passthrough
        self._max_remembered = max_remembered
        self._seen: dict[str, None] = {}  # insertion-ordered, so the oldest go first
        self._pending: list[Alert] = []
        self._last: float | None = None

    @property
    def pending(self) -> int:
        """How many alerts are folded, waiting for the summary."""
        return len(self._pending)

    def next_flush_at(self) -> float | None:
        """When `flush` will have a summary to give, or None if nothing is folded."""
        if not self._pending or self._last is None:
            return None
        return self._last + self._interval

    def offer(self, alert: Alert, now: float) -> Decision:
        """Decide about a new alert: notify now, fold it for later, or drop a duplicate."""
        if alert.key in self._seen:
            return Decision("duplicate", (alert,))
        self._remember(alert.key)
        if not self._due(now):
            self._pending.append(alert)
            return Decision("fold", (alert,))
        if self._pending:
            # The folded ones were never flushed: give them with this one.
            self._pending.append(alert)
            return self._summary(now)
        return self._notify((alert,), alert.title, alert.body, now)

    def flush(self, now: float) -> Decision | None:
        """The summary of the folded alerts, once `min_interval` has passed; else None."""
        if not self._pending or not self._due(now):
            return None
        return self._summary(now)

    def _summary(self, now: float) -> Decision:
        alerts, self._pending = tuple(self._pending), []
        if len(alerts) == 1:
            return self._notify(alerts, alerts[0].title, alerts[0].body, now)
        body = f"{len(alerts)} more alerts: " + "; ".join(a.title for a in alerts)
        return self._notify(alerts, "bimpe-tui", printable(body, BODY_CHARS), now)

    def _due(self, now: float) -> bool:
        # A clock that went back (it should be monotonic) must not mute alerts forever.
        last = self._last
        return last is None or now - last >= self._interval or now < last

    def _notify(self, alerts: tuple[Alert, ...], title: str, body: str, now: float) -> Decision:
        self._last = now
        terminal = terminal_bytes(self._mode, title, body, tmux_passthrough=self._tmux)
        return Decision("notify", alerts, title, body, terminal)

    def _remember(self, key: str) -> None:
        self._seen[key] = None
        if len(self._seen) > self._max_remembered:
            del self._seen[next(iter(self._seen))]


# -- what to write to the terminal -------------------------------------------------------

_ST = "\x1b\\"


def printable(text: str, limit: int = BODY_CHARS) -> str:
    """`text` as one safe line: the characters `safe_text` calls unsafe, tabs
    and newlines become spaces, runs of spaces one (`safe_text.spaced`), and
    it is cut to `limit` characters (ending in `…`).

    Only the head of a huge text is looked at, so the cost is bounded.
    """
    head = text[: limit * 4 + 16]
    flat = spaced(head)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def terminal_bytes(
    mode: NotifyMode, title: str, body: str, *, tmux_passthrough: bool = False
) -> str:
    """The exact text to write to the terminal to ring or notify in `mode`.

    - "bell": BEL. "none": nothing.
    - "osc9": `ESC ] 9 ; title: body ST`, then BEL (iTerm2, kitty, WezTerm,
      foot, Windows Terminal).
    - "osc777": `ESC ] 777 ; notify ; title ; body ST`, then BEL (urxvt,
      foot, Ghostty, VTE terminals); `;` is removed from the title, the
      field separator.

    OSC sequences end with ST (`ESC \\`), the standard terminator, rather than
    BEL, which is an xterm extension and would ring twice where it is not
    understood. The OSC modes add a BEL of their own so that terminals
    without notifications, and tmux (which flags the window), still signal.
    With `tmux_passthrough` (set it when $TMUX is set) the OSC is wrapped in
    tmux's DCS passthrough, every ESC inside doubled, so it reaches the
    outer terminal; tmux needs `set -g allow-passthrough on` (3.3+).

    `title` and `body` come from the server: they go through `printable`
    here (whatever the caller did), so no ESC, BEL, C1 or bidi character can
    end the sequence early or start another, and the length is capped.
    """
    if mode == "none":
        return ""
    if mode == "bell":
        return "\a"
    clean_title = printable(title, TITLE_CHARS)
    clean_body = printable(body, BODY_CHARS)
    if mode == "osc9":
        text = f"{clean_title}: {clean_body}" if clean_title else clean_body
        # ConEmu and Windows Terminal read `OSC 9 ; <digits> ;` as their own
        # commands (9;4 is a progress bar): a name like "4;3;50" must not be one.
        if text[:1].isdigit():
            text = "bimpe-tui: " + text
        osc = f"\x1b]9;{text}{_ST}"
    elif mode == "osc777":
        safe_title = " ".join(clean_title.replace(";", " ").split()) or "bimpe-tui"
        osc = f"\x1b]777;notify;{safe_title};{clean_body}{_ST}"
    else:
        raise ValueError(f"unknown notify mode {mode!r} (one of {', '.join(NOTIFY_MODES)})")
    if tmux_passthrough:
        osc = "\x1bPtmux;" + osc.replace("\x1b", "\x1b\x1b") + _ST
    return osc + "\a"
