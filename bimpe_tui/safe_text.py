"""The one policy for characters of untrusted text that are unsafe on a terminal.

A message's text, a name, an error a server wrote: all of it is someone else's. It
can hold an escape sequence that ends a bracketed paste (``ESC [201~``, so the next
line of a paste runs in a shell), moves a terminal's cursor, retitles the window, or
reverses the order text displays in. The set is the same wherever the text goes out
(`UNSAFE_RANGES`):

- the C0 controls but tab and newline, DEL, and the C1 controls (``0x9b`` is CSI,
  ``0x9d`` OSC on an 8-bit terminal);
- every bidi format character: the marks (U+061C ALM, U+200E LRM, U+200F RLM), the
  embeddings and overrides (U+202A to U+202E) and the isolates (U+2066 to U+2069);
- the line and paragraph separators (U+2028, U+2029) and the byte order mark
  (U+FEFF): invisible, of no agreed width, and a separator breaks a line in some
  programs and not in others;
- lone surrogates (JSON can carry them; no file or terminal encoding can).

Each output shows them its own way, defined here:

============  ==============================================  ======================
output        an unsafe character becomes                     tab / newline
============  ==============================================  ======================
screen        ``␛`` (C0 as Control Pictures), ``␡``, else     4 spaces / a new line
              ``<U+202E>`` (`stand_in`; `render.visible`)
export        the same stand-ins (`spelled_out`)              kept
clipboard     the same stand-ins (`spelled_out`)              kept
notification  a space; runs of spaces become one (`spaced`)   a space
tail, JSONL   its JSON escape ``\\u202e`` (`json_escape`):      a space (whitespace
              the line parses to the same value               between JSON tokens)
error text    ``\\x1b`` or ``\\u202e`` (`escaped`)              a space
============  ==============================================  ======================

Rich markup (``[bold]``) is no concern of this module: every output writes text
literally (the screen builds `rich.text.Text` from plain strings, never markup).

The bidi marks are spelled out on the screen too, although Arabic or Hebrew text can
carry an LRM or RLM for good reason (to keep punctuation on the right side of a
mixed-direction phrase). A terminal cannot honour them: Textual lays every line out
in logical order, and a terminal that reorders by itself (VTE, Konsole) does so by
its own rules, cell by cell, whatever the app measured. A mark then only moves
neutral characters around unpredictably, and it is invisible; shown, the user sees
that the text holds one, and the screen, the export and the clipboard agree on what
a message says. The letters of right-to-left scripts themselves are never touched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

__all__ = [
    "UNSAFE",
    "UNSAFE_RANGES",
    "char_class",
    "escaped",
    "json_escape",
    "json_line",
    "spaced",
    "spelled_out",
    "stand_in",
    "unsafe_count",
]

#: The unsafe characters, as inclusive ranges of code points (see the module's docstring).
UNSAFE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x08),
    (0x0B, 0x1F),
    (0x7F, 0x9F),
    (0x061C, 0x061C),
    (0x200E, 0x200F),
    (0x2028, 0x2029),
    (0x202A, 0x202E),
    (0x2066, 0x2069),
    (0xD800, 0xDFFF),
    (0xFEFF, 0xFEFF),
)


def _code(point: int) -> str:
    # Written as an escape so the pattern's source holds no raw control or surrogate.
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def char_class(ranges: Iterable[tuple[int, int]], extra: str = "") -> str:
    """Regular-expression source of one class: the characters in ``ranges``, plus ``extra``.

    ``extra`` is inserted as is (already escaped for a class), for an output that must
    also change characters the policy leaves alone (a one-line output: tab, newline).
    """
    parts = [
        _code(first) if first == last else f"{_code(first)}-{_code(last)}" for first, last in ranges
    ]
    return "[" + "".join(parts) + extra + "]"


#: Matches one unsafe character.
UNSAFE = re.compile(char_class(UNSAFE_RANGES))
# One-line outputs change tab and newline (and CR, already unsafe) as well.
_UNSAFE_OR_BREAK = re.compile(char_class(UNSAFE_RANGES, r"\t\n"))


def stand_in(char: str) -> str:
    """What the screen, an export and the clipboard show for one unsafe character."""
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ … ␟ (␛ for ESC)
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def _stand_in(match: re.Match[str]) -> str:
    return stand_in(match.group())


def spelled_out(text: str) -> str:
    """``text`` with every unsafe character replaced by its visible stand-in.

    For what leaves the app for another program (an export, the clipboard): tab and
    newline are kept.
    """
    return UNSAFE.sub(_stand_in, text)


def unsafe_count(text: str) -> int:
    """How many unsafe characters ``text`` holds."""
    return len(UNSAFE.findall(text))


def spaced(text: str) -> str:
    """``text`` as one line for a notification: unsafe characters, tabs and newlines become
    spaces, and runs of whitespace one space (leading and trailing ones dropped).

    A desktop notification shows no stand-in well, and its text sits inside an escape
    sequence: nothing in it may end that sequence or start another.
    """
    return " ".join(_UNSAFE_OR_BREAK.sub(" ", text).split())


def json_escape(char: str) -> str:
    """The JSON escape of one character (``\\u202e``): the string it sits in keeps its value."""
    return f"\\u{ord(char):04x}"


def _json_escaped(match: re.Match[str]) -> str:
    return json_escape(match.group())


def json_line(obj: object) -> str:
    """``obj`` as one line of JSON, the one style every command prints: compact (as the
    server sends it), UTF-8 (not ``\\u``-escaped), and each unsafe character escaped so
    a terminal shows it and the JSON stays equal. No newline at the end."""
    return UNSAFE.sub(_json_escaped, json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in "\t\n\r":
        return " "
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escaped(text: str) -> str:
    """``text`` as one line of an error message or log: tab, newline and CR become spaces,
    every other unsafe character its escape as Python writes it (``\\x1b``, ``\\u202e``).
    """
    return _UNSAFE_OR_BREAK.sub(_escape, text)
