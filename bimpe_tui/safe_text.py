"""Which characters of a customer's text are unsafe outside the app, and how they go out.

A message's text is the customer's: it can hold an escape sequence that ends
a bracketed paste (`ESC [201~`, so the next line of a paste runs in a shell),
moves a terminal's cursor, or reverses the order text displays in. Whatever
leaves the app for another program (a file, the clipboard) spells those out
as visible stand-ins instead: the C0 controls but tab and newline, DEL, the
C1 controls, the bidi marks, embeddings, overrides and isolates, the line and
paragraph separators, the byte order mark, and lone surrogates (JSON can
carry them; no file encoding can).
"""

from __future__ import annotations

import re

#: The characters spelled out (see the module's docstring).
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block, as the app shows them: ␛
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def spelled_out(text: str) -> str:
    """`text` with every unsafe character replaced by a visible stand-in."""
    return UNSAFE.sub(_stand_in, text)


def unsafe_count(text: str) -> int:
    """How many unsafe characters `text` holds."""
    return len(UNSAFE.findall(text))
