"""The help screen's rows, read from the bindings the widgets declare (never typed by hand)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from textual.binding import Binding

Row = tuple[str, str]

#: Scrolling sideways, which Textual's scrolling widgets bind but which does
#: nothing here (rows are cut to the width, messages wrapped): not listed.
_IDLE = frozenset({"scroll_left", "scroll_right", "page_left", "page_right"})

#: Actions that differ only by their argument, shown as one row (alt+1 … alt+9).
_ARGUMENT = re.compile(r"\(.*\)$")


def _bindings(owner: type) -> list[tuple[str, Binding]]:
    """(key, binding) as they act on `owner`: a subclass's binding for a key replaces its base's."""
    by_key: dict[str, Binding] = {}
    for cls in reversed(owner.__mro__):
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding):
                for key in binding.key.split(","):
                    by_key[key.strip()] = binding
    return list(by_key.items())


def binding_rows(*owners: type, display: dict[str, str] | None = None) -> list[Row]:
    """(keys, what they do) for every binding the owners declare, one row per action.

    Keys bound to the same action share a row ("down, j"); actions that differ
    only by argument and have numbered keys collapse into a range; bindings with
    no description (Textual's internal ones) are left out.
    """
    display = display or {}
    rows: dict[str, tuple[list[str], str]] = {}
    for owner in owners:
        for raw_key, binding in _bindings(owner):
            if binding.system or not binding.description or binding.action in _IDLE:
                continue
            # A binding's own key_display names all its keys at once.
            key = binding.key_display or display.get(raw_key, raw_key)
            action = binding.action
            description = binding.description
            family = _ARGUMENT.sub("", action)
            if family != action and family in {"jump"}:
                action, description = family, "Open conversation number N (numbers stay)"
            known = rows.get(action)
            if known is None:
                rows[action] = ([key], description)
            elif key not in known[0]:
                known[0].append(key)
    return [(_keys_text(keys), description) for keys, description in rows.values()]


def _keys_text(keys: list[str]) -> str:
    if len(keys) > 3 and all(k[-1].isdigit() for k in keys):
        # Numbered keys as ranges, one per prefix: "1 … 9, alt+1 … alt+9".
        runs: dict[str, list[str]] = {}
        for key in keys:
            runs.setdefault(key.rstrip("0123456789"), []).append(key)
        return ", ".join(f"{run[0]} … {run[-1]}" for run in runs.values())
    return ", ".join(keys)


def sections(groups: Iterable[tuple[str, Iterable[type]]]) -> list[tuple[str, list[Row]]]:
    """Help sections: a title and the rows of the classes that own its bindings."""
    names = {
        "question_mark": "?",
        "slash": "/",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "pageup": "page up",
        "pagedown": "page down",
    }
    return [(title, binding_rows(*owners, display=names)) for title, owners in groups]
