"""The rules a user writes in `config.toml`: auto-watch rules and highlight patterns.

Pure and headless (no I/O, no Textual): `config` checks rules with these
functions when it reads the file, and the monitor and `alerts` apply them.

Auto-watch rules (`auto_watch = [...]`), each a string:

- `needs_attention`: a conversation that needs attention.
- `new`: a conversation that appeared since the monitor started (the caller
  knows what "new" is: the first listing of an agent is the baseline).
- `agent:<agent id>`: every conversation of that agent (the id as the API
  spells it, case-sensitive).
- `channel:<channel>`: every conversation on that channel, one of
  `whatsapp, webchat, telephony` or their `test_` variants. The match is
  exact: `channel:whatsapp` does *not* match `test_whatsapp`, because test
  channels are where an agent's builders try it out, not where customers
  are; write `channel:test_whatsapp` too to watch both.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    # Only for annotations: importing the api package at run time would load
    # httpx into every `config` reader.
    from .api.models import Conversation

#: The channel types the Console API knows (the demo server checks its filter by them).
CHANNELS = (
    "whatsapp",
    "webchat",
    "telephony",
    "test_whatsapp",
    "test_webchat",
    "test_telephony",
)

WatchKind = Literal["needs_attention", "new", "agent", "channel"]

#: How the accepted forms are described in warnings.
RULE_FORMS = "needs_attention, new, agent:<agent id> or channel:<" + "|".join(CHANNELS) + ">"

#: Longest highlight word or pattern accepted: a config value, not a document.
MAX_PATTERN_CHARS = 500


@dataclass(frozen=True, slots=True)
class WatchRule:
    """One auto-watch rule; `str(rule)` is its canonical spelling."""

    kind: WatchKind
    value: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}" if self.value else self.kind

    def matches(self, conversation: Conversation, *, agent_id: str, is_new: bool) -> bool:
        """Whether this rule asks to watch `conversation` (of agent `agent_id`)."""
        if self.kind == "needs_attention":
            return conversation.needs_attention
        if self.kind == "new":
            return is_new
        if self.kind == "agent":
            return agent_id == self.value
        return conversation.channel_type.lower() == self.value


def parse_watch_rule(text: str) -> WatchRule | None:
    """The rule `text` spells, or None if it is not one (see the module docstring)."""
    kind, colon, value = text.strip().partition(":")
    kind = kind.strip().lower()
    value = value.strip()
    if not colon:
        if kind == "needs_attention":
            return WatchRule("needs_attention")
        return WatchRule("new") if kind == "new" else None
    if kind == "agent" and value and value.isprintable() and not any(c.isspace() for c in value):
        return WatchRule("agent", value)
    if kind == "channel" and value.lower() in CHANNELS:
        return WatchRule("channel", value.lower())
    return None


@dataclass(frozen=True, slots=True)
class WatchRules:
    """The auto-watch rules of a run, applied to each conversation a listing shows."""

    rules: tuple[WatchRule, ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str]) -> WatchRules:
        """Rules from their spellings; ones that are not rules are skipped.

        `config` has already warned about those, so they are dropped quietly here.
        """
        parsed = (parse_watch_rule(text) for text in texts)
        return cls(tuple(rule for rule in parsed if rule is not None))

    def matching(
        self, conversation: Conversation, *, agent_id: str, is_new: bool
    ) -> WatchRule | None:
        """The first rule that asks to watch `conversation`, or None (say why it is watched)."""
        for rule in self.rules:
            if rule.matches(conversation, agent_id=agent_id, is_new=is_new):
                return rule
        return None


# -- highlight words and patterns --------------------------------------------------------


def word_pattern(word: str) -> str:
    """The regex source of a highlight word: a whole word, any run of spaces inside.

    "Whole word" means not glued to a letter, digit or underscore on either
    side (lookarounds rather than `\\b`, so `#urgent` or `c++` work too): as
    IRC clients highlight a nick, "refund" matches "Refund!" but not "refunds".
    Case is ignored by the caller's `re.IGNORECASE`.
    """
    body = r"\s+".join(re.escape(part) for part in word.split())
    return rf"(?<!\w){body}(?!\w)"


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be a highlight regex, or None if it can.

    Refused: invalid syntax; a pattern that matches empty text (it would
    match every message); a pattern longer than MAX_PATTERN_CHARS; and nested
    unbounded repeats such as `(a+)+` or `(\\w+\\s?)+$`, the classic shape
    that takes exponential time on hostile text. That check is a guard, not a
    proof: overlapping alternatives under a repeat, e.g. `(a|a)*b`, still
    pass, and the message text scanned is capped (see `alerts.MAX_SCAN_CHARS`).
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"longer than {MAX_PATTERN_CHARS} characters"
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"not a valid regex ({exc})"
    if compiled.search("") is not None:
        return "matches empty text, so it would match every message"
    if _has_nested_repeat(pattern):
        return "has a repeat inside a repeat (like (a+)+), which can take exponential time"
    return None


def _has_nested_repeat(pattern: str) -> bool:
    # The standard library's own regex parser gives the pattern's tree; it is
    # private (re._parser), so any surprise there means "no verdict", and the
    # scan cap still bounds the damage.
    try:
        parser: Any = importlib.import_module("re._parser")
        tree = parser.parse(pattern, re.IGNORECASE)
        return _nested(tree, parser.MAXREPEAT, inside=False)
    except Exception:
        return False


def _nested(items: Any, unbounded: int, *, inside: bool) -> bool:
    for op, av in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            _low, high, sub = av
            if high == unbounded and inside:
                return True
            if _nested(sub, unbounded, inside=inside or high == unbounded):
                return True
        elif name == "SUBPATTERN":
            if _nested(av[3], unbounded, inside=inside):
                return True
        elif name == "BRANCH":
            if any(_nested(branch, unbounded, inside=inside) for branch in av[1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT"):
            if _nested(av[1], unbounded, inside=inside):
                return True
        elif name == "GROUPREF_EXISTS" and any(
            b is not None and _nested(b, unbounded, inside=inside) for b in av[1:]
        ):
            return True
        # POSSESSIVE_REPEAT and ATOMIC_GROUP never backtrack, so nothing
        # inside them can blow up; other ops have no sub-pattern.
    return False
