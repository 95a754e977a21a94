"""One policy for unsafe characters: every output over the same hostile strings.

`bimpe_tui.safe_text` owns the set and says how each output shows it (its module
docstring has the table). Each row below is one hostile string and what each output
makes of it; the tail's JSON line is checked by what it must hold (the same value,
every unsafe character as its JSON escape), since its exact text is the payload's.
"""

from __future__ import annotations

import json
import re

import pytest

from bimpe_tui.alerts import printable as notification_text
from bimpe_tui.alerts import terminal_bytes
from bimpe_tui.api.errors import printable as error_text
from bimpe_tui.api.models import decode_message
from bimpe_tui.render import visible
from bimpe_tui.safe_text import UNSAFE, UNSAFE_RANGES, spelled_out, unsafe_count
from bimpe_tui.tail import json_line

# The set as the policy states it, written out independently of safe_text's ranges.
POLICY = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufeff]"
)


class Row:
    """One hostile string and its rendering on each output."""

    def __init__(
        self, name: str, text: str, *, screen: str, export: str, notification: str, error: str
    ) -> None:
        self.name = name
        self.text = text
        self.screen = screen
        self.export = export
        self.notification = notification
        self.error = error


ROWS = [
    Row(
        "ansi escapes",
        "\x1b[31mred\x1b[0m \x1b]0;title\x07",
        screen="␛[31mred␛[0m ␛]0;title␇",
        export="␛[31mred␛[0m ␛]0;title␇",
        notification="[31mred [0m ]0;title",
        error="\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07",
    ),
    Row(
        "c0 controls",
        "a\x00b\x08c\x0bd\x0ce\rf",
        screen="a␀b␈c␋d␌e␍f",
        export="a␀b␈c␋d␌e␍f",
        notification="a b c d e f",
        error="a\\x00b\\x08c\\x0bd\\x0ce f",
    ),
    Row(
        "del and c1 controls",
        "a\x7fb\x9bc\x9dd\x85e",
        screen="a␡b<U+009B>c<U+009D>d<U+0085>e",
        export="a␡b<U+009B>c<U+009D>d<U+0085>e",
        notification="a b c d e",
        error="a\\x7fb\\x9bc\\x9dd\\x85e",
    ),
    Row(
        "bidi embeddings and overrides",
        "x\u202ay\u202bz\u202cw\u202dv\u202eu",
        screen="x<U+202A>y<U+202B>z<U+202C>w<U+202D>v<U+202E>u",
        export="x<U+202A>y<U+202B>z<U+202C>w<U+202D>v<U+202E>u",
        notification="x y z w v u",
        error="x\\u202ay\\u202bz\\u202cw\\u202dv\\u202eu",
    ),
    Row(
        "bidi isolates",
        "\u2066a\u2069\u2067b\u2069\u2068c\u2069",
        screen="<U+2066>a<U+2069><U+2067>b<U+2069><U+2068>c<U+2069>",
        export="<U+2066>a<U+2069><U+2067>b<U+2069><U+2068>c<U+2069>",
        notification="a b c",
        error="\\u2066a\\u2069\\u2067b\\u2069\\u2068c\\u2069",
    ),
    Row(
        "arabic letter mark",
        "\u061cمرحبا",  # noqa: RUF001 (the letters are the point)
        screen="<U+061C>مرحبا",
        export="<U+061C>مرحبا",
        notification="مرحبا",
        error="\\u061cمرحبا",  # noqa: RUF001
    ),
    Row(
        "left-to-right and right-to-left marks",
        "שלום\u200f! ok\u200e.",
        screen="שלום<U+200F>! ok<U+200E>.",
        export="שלום<U+200F>! ok<U+200E>.",
        notification="שלום ! ok .",
        error="שלום\\u200f! ok\\u200e.",
    ),
    Row(
        "line and paragraph separators",
        "a\u2028b\u2029c",
        screen="a<U+2028>b<U+2029>c",
        export="a<U+2028>b<U+2029>c",
        notification="a b c",
        error="a\\u2028b\\u2029c",
    ),
    Row(
        "byte order mark",
        "\ufeffhello",
        screen="<U+FEFF>hello",
        export="<U+FEFF>hello",
        notification="hello",
        error="\\ufeffhello",
    ),
    Row(
        "rich markup",
        "[bold]x[/] [link=https://evil]y[/] [red",
        screen="[bold]x[/] [link=https://evil]y[/] [red",
        export="[bold]x[/] [link=https://evil]y[/] [red",
        notification="[bold]x[/] [link=https://evil]y[/] [red",
        error="[bold]x[/] [link=https://evil]y[/] [red",
    ),
    Row(
        "tab and newline",
        "a\tb\nc",
        screen="a    b\nc",
        export="a\tb\nc",
        notification="a b c",
        error="a b c",
    ),
    Row(
        "right-to-left letters stay",
        "مرحبا بالعالم — שלום עולם",
        screen="مرحبا بالعالم — שלום עולם",
        export="مرحبا بالعالم — שלום עולם",
        notification="مرحبا بالعالم — שלום עולם",
        error="مرحبا بالعالم — שלום עולם",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_every_output_renders_the_policy(row: Row) -> None:
    assert visible(row.text) == row.screen
    # The export and the clipboard go through the same function (export.py's _shown,
    # the message log's copy).
    assert spelled_out(row.text) == row.export
    assert notification_text(row.text, 500) == row.notification
    assert error_text(row.text) == row.error


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_the_tail_line_escapes_every_unsafe_character_and_keeps_the_value(row: Row) -> None:
    payload = json.dumps({"id": "m_1", "message": row.text}, ensure_ascii=False)
    line = json_line(decode_message(payload.encode()))
    assert line.endswith("\n")
    assert POLICY.search(line[:-1]) is None
    assert json.loads(line) == {"id": "m_1", "message": row.text}
    # C0 controls arrive escaped already (raw, they are not JSON); the rest the
    # server may send raw, and the tail writes each as its escape.
    for char in {c for c in POLICY.findall(row.text) if ord(c) >= 0x7F}:
        assert f"\\u{ord(char):04x}" in line


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_a_notification_sequence_cannot_be_ended_early(row: Row) -> None:
    # The OSC starts once and ends once, whatever the server's text holds.
    sequence = terminal_bytes("osc9", "title", row.text)
    assert sequence == f"\x1b]9;title: {row.notification}\x1b\\\a"


def test_the_policy_set_is_the_documented_one() -> None:
    every = "".join(chr(c) for c in range(0x30000) if not 0xD800 <= c <= 0xDFFF)
    documented = set(POLICY.findall(every)) | {chr(c) for c in range(0xD800, 0xE000)}
    owned = {chr(c) for first, last in UNSAFE_RANGES for c in range(first, last + 1)}
    assert owned == documented
    assert set(UNSAFE.findall(every)) == documented - {chr(c) for c in range(0xD800, 0xE000)}
    assert unsafe_count("\x1b\u200e\ufeff ok \ud800") == 4


def test_lone_surrogates_are_spelled_out_where_text_is() -> None:
    # JSON can carry them; no terminal or file encoding can.
    text = "a\ud800b\udfffc"
    assert visible(text) == "a<U+D800>b<U+DFFF>c"
    assert spelled_out(text) == "a<U+D800>b<U+DFFF>c"
    assert notification_text(text) == "a b c"
    assert error_text(text) == "a\\ud800b\\udfffc"
