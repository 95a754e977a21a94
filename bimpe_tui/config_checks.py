"""Checking `config.toml`'s values: each problem becomes a warning, never a crash.

A table of checks per TOML table (`_TOP_LEVEL`, `[alerts]`, `[waits]`) names
each known key's check; a check returns the value cleaned (lists without their
bad items, numbers clamped to their range) or None to drop it, and every
problem is a warning naming the file and the setting (`alerts.notify`,
`auto_watch`, ...). An unknown key is a warning too, not an error: a file
written for a newer version still works. The settings themselves (`Settings`,
flags and environment first) are in `config`.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Callable, Mapping
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

from .redact import redact
from .rules import RULE_FORMS, parse_watch_rule, pattern_problem

#: Below this a refresh per agent would spend the API's rate limit for little news.
MIN_REFRESH_INTERVAL = 2.0
#: A day: longer would mean "never"; huge values also overflow event-loop timers.
MAX_REFRESH_INTERVAL = 86_400.0
MAX_MIN_INTERVAL = 3_600.0
#: Most highlight words, regexes, roles or auto-watch rules used (the rest are
#: warned about): every one is tried on every message.
MAX_LIST_ITEMS = 100

NotifyMode = Literal["bell", "osc9", "osc777", "none"]
NOTIFY_MODES: tuple[NotifyMode, ...] = ("bell", "osc9", "osc777", "none")
RolesWhen = Literal["needs_attention", "always"]
ROLES_WHEN: tuple[RolesWhen, ...] = ("needs_attention", "always")


#: A check takes the checker, the setting's dotted name and its value, and
#: returns the cleaned value, or None to ignore it (TOML has no null, so None
#: is never a real value).
_Check = Callable[["_Checker", str, Any], Any]


class _Checker:
    """Checks one file's values against the tables below, collecting warnings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(f"{self.path}: {text}")

    def wrong_type(self, setting: str, expected: str, value: Any) -> None:
        # Only the type is named, never the value: it may be a misplaced key.
        self.warn(f"{setting} should be {expected}; got {_type_name(value)} (ignored)")

    def bad_value(self, setting: str, expected: str, value: str) -> None:
        self.warn(f"{setting} should be {expected}; got {shown(value)} (ignored)")

    def table(
        self, prefix: str, data: Mapping[str, Any], checks: Mapping[str, _Check]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            setting = prefix + key
            check = checks.get(key)
            if check is None:
                self.warn(f"unknown key {setting!r} ignored")
                continue
            cleaned = check(self, setting, value)
            if cleaned is not None:
                out[key] = cleaned
        return out


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "table"
    if isinstance(value, date | time):  # datetime is a date
        return "date/time"
    return type(value).__name__


def shown(text: str, limit: int = 60) -> str:
    """A value quoted for a warning: escaped (repr), short, and never a key."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return redact(repr(cut))


def _string(checker: _Checker, setting: str, value: Any) -> str | None:
    if isinstance(value, str):
        return value
    checker.wrong_type(setting, "a str", value)
    return None


def _boolean(checker: _Checker, setting: str, value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    checker.wrong_type(setting, "true or false", value)
    return None


def _seconds(
    checker: _Checker, setting: str, value: Any, *, low: float, high: float, zero_ok: bool
) -> float | None:
    """A number of seconds, clamped to [low, high] with a warning when it was outside."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        checker.wrong_type(setting, "a number of seconds", value)
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float: "very long"
        seconds = math.inf if value > 0 else -math.inf
    if math.isnan(seconds) or seconds < 0 or (seconds == 0 and not zero_ok):
        floor = "0 or more" if zero_ok else "above 0"
        checker.bad_value(setting, f"a number of seconds {floor}", str(value))
        return None
    if seconds < low:
        checker.warn(f"{setting} = {seconds:g} is below the minimum {low:g}; using {low:g}")
        return low
    if seconds > high:
        checker.warn(f"{setting} = {seconds:g} is above the maximum {high:g}; using {high:g}")
        return high
    return seconds


def _refresh_interval(checker: _Checker, setting: str, value: Any) -> float | None:
    return _seconds(
        checker,
        setting,
        value,
        low=MIN_REFRESH_INTERVAL,
        high=MAX_REFRESH_INTERVAL,
        zero_ok=False,
    )


def _min_interval(checker: _Checker, setting: str, value: Any) -> float | None:
    return _seconds(checker, setting, value, low=0.0, high=MAX_MIN_INTERVAL, zero_ok=True)


def _wait_seconds(checker: _Checker, setting: str, value: Any) -> float | None:
    return _seconds(checker, setting, value, low=0.0, high=MAX_REFRESH_INTERVAL * 7, zero_ok=True)


def _choice(choices: tuple[str, ...]) -> _Check:
    def check(checker: _Checker, setting: str, value: Any) -> str | None:
        if not isinstance(value, str):
            checker.wrong_type(setting, "a str", value)
            return None
        if value.strip().lower() in choices:
            return value.strip().lower()
        checker.bad_value(setting, "one of " + ", ".join(choices), value)
        return None

    return check


def _string_list(item: Callable[[_Checker, str, str], str | None]) -> _Check:
    """A list of strings, each cleaned by `item` (None drops it); duplicates dropped."""

    def check(checker: _Checker, setting: str, value: Any) -> list[str] | None:
        if not isinstance(value, list):
            checker.wrong_type(setting, "a list of str", value)
            return None
        out: list[str] = []
        for entry in value:
            if not isinstance(entry, str):
                checker.wrong_type(f"{setting} item", "a str", entry)
                continue
            cleaned = item(checker, setting, entry)
            if cleaned is not None and cleaned not in out:
                out.append(cleaned)
        if len(out) > MAX_LIST_ITEMS:
            checker.warn(
                f"{setting} has {len(out)} items; only the first {MAX_LIST_ITEMS} are used"
            )
            del out[MAX_LIST_ITEMS:]
        return out

    return check


def _watch_rule(checker: _Checker, setting: str, text: str) -> str | None:
    rule = parse_watch_rule(text)
    if rule is None:
        checker.bad_value(setting, f"a list of rules ({RULE_FORMS})", text)
        return None
    return str(rule)


def _word(checker: _Checker, setting: str, text: str) -> str | None:
    word = " ".join(text.split())
    if not word or not word.isprintable() or len(word) > 100:
        checker.bad_value(setting, "a list of words (printable, 1 to 100 characters)", text)
        return None
    return word


def _regex(checker: _Checker, setting: str, text: str) -> str | None:
    problem = pattern_problem(text)
    if problem is not None:
        checker.warn(f"{setting}: pattern {shown(text)} {problem} (ignored)")
        return None
    return text


def _role(checker: _Checker, setting: str, text: str) -> str | None:
    role = text.strip().lower()
    if not role or not role.isprintable():
        checker.bad_value(setting, "a list of message roles (like customer)", text)
        return None
    return role


def _alerts(checker: _Checker, setting: str, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        checker.wrong_type(setting, "a table", value)
        return None
    return checker.table(setting + ".", value, _ALERTS)


_ALERTS: dict[str, _Check] = {
    "notify": _choice(NOTIFY_MODES),
    "attention": _boolean,
    "new_conversation": _boolean,
    "words": _string_list(_word),
    "regexes": _string_list(_regex),
    "roles": _string_list(_role),
    "roles_when": _choice(ROLES_WHEN),
    "min_interval": _min_interval,
}


def _waits(checker: _Checker, setting: str, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        checker.wrong_type(setting, "a table", value)
        return None
    return checker.table(setting + ".", value, _WAITS)


_WAITS: dict[str, _Check] = {
    "show_after": _wait_seconds,
    "colour_after": _wait_seconds,
    "alert_after": _wait_seconds,
}

_TOP_LEVEL: dict[str, _Check] = {
    "api_key": _string,
    "base_url": _string,
    "refresh_interval": _refresh_interval,
    "auto_watch": _string_list(_watch_rule),
    "read_only": _boolean,
    "alerts": _alerts,
    "waits": _waits,
}


def permission_warning(path: Path) -> list[str]:
    """A warning if `path` can be read by others than its owner (it may hold the key)."""
    # As ssh does for private keys: a key file others can read is a leak.
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [f"{path} is readable by others; run: chmod 600 {path}"]
    return []


def check_config(path: Path, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The settings in `path`'s parsed `data` that passed their checks, and the warnings.

    The first warning, if any, is about the file's permissions (see
    `permission_warning`); then one per bad or unknown setting, in the file's order.
    """
    checker = _Checker(path)
    checker.warnings.extend(permission_warning(path))
    config = checker.table("", data, _TOP_LEVEL)
    return config, checker.warnings
