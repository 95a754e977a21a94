"""What the log and the list draw is what the terminal draws: wide characters,
links and dividers.

- Wide characters: every kind of emoji sequence, CJK and right-to-left text
  takes as many cells in tmux as Rich counts for what `visible` makes of it
  (the widths measured in tmux are written here; where tmux is installed, they
  are measured again), and through the real app on a pseudo-terminal every
  row's borders stay in their columns.
- Links: an attachment's URL is never broken across lines; one wider than the
  log is cut in its middle, its link keeping the whole target.
- Dividers: a gap marker says what happened in words, with no ids, and every
  divider wraps between words, centred, down to 30 columns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult

from bimpe_tui.api.errors import error_from_response
from bimpe_tui.api.models import Message
from bimpe_tui.api.outcomes import classify
from bimpe_tui.book import Marker
from bimpe_tui.render import (
    AttachmentLine,
    crop_middle,
    gap_words,
    marker_lines,
    marker_text,
    message_parts,
    visible,
)
from bimpe_tui.widgets.message_log import MessageLog, attachment_rows, marker_line
from tests.engine.test_engine_outcomes import BASE as OUTCOME_BASE
from tests.loopback import LoopbackServer, agent, conversation, message
from tests.terminal import Terminal

# -- wide characters ------------------------------------------------------------------


class Kind(NamedTuple):
    text: str
    #: Cells tmux draws for `text` as sent, and for `visible(text)`.
    tmux_sent: int
    tmux_shown: int
    #: What `visible` makes of it.
    shown: str


ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
NIQQUD = "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd"

# Measured in tmux 3.3a (Debian 12, glibc 2.36, built without utf8proc), pane 200
# columns wide, LANG=C.UTF-8: each text printed after "\r\x1b[2K", then the
# cursor's column read back with "\x1b[6n" (`tmux_widths` below does the same).
# Rich 15.0.0 counted the texts as sent differently wherever tmux_sent is
# marked "!": that disagreement moved the rest of the line.
KINDS: dict[str, Kind] = {
    "VS16 emoji": Kind("\U0001f336\ufe0f", 1, 1, "\U0001f336"),  # ! Rich 2
    "VS16 red heart": Kind("\u2764\ufe0f", 1, 1, "\u2764"),  # ! Rich 2
    "VS16 smiley": Kind("\u263a\ufe0f", 1, 1, "\u263a"),  # ! Rich 2
    "VS15 smiley": Kind("\u263a\ufe0e", 1, 1, "\u263a"),
    "VS15 wide emoji": Kind("\U0001f600\ufe0e", 2, 2, "\U0001f600"),
    "skin tone": Kind("\U0001f64f\U0001f3fe", 4, 2, "\U0001f64f"),  # ! Rich 2
    "skin tone alone": Kind("\U0001f3fe", 2, 0, ""),  # ! Rich 0
    "ZWJ sequence": Kind("\U0001f469\u200d\U0001f4bb", 2, 4, "\U0001f469\U0001f4bb"),
    "ZWJ family": Kind(
        "\U0001f468\u200d\U0001f469\u200d\U0001f467", 2, 6, "\U0001f468\U0001f469\U0001f467"
    ),
    "ZWJ and skin tone": Kind(  # ! Rich 2
        "\U0001f469\U0001f3fe\u200d\U0001f4bb", 4, 4, "\U0001f469\U0001f4bb"
    ),
    "ZWJ and VS16": Kind(  # ! Rich 2
        "\U0001f3f3\ufe0f\u200d\U0001f308", 1, 3, "\U0001f3f3\U0001f308"
    ),
    "ZWJ between letters": Kind("a\u200db", 2, 2, "ab"),  # ! Rich 1
    "flag": Kind("\U0001f1ec\U0001f1ed", 2, 4, "[GH]"),
    "two flags": Kind("\U0001f1ec\U0001f1ed\U0001f1f3\U0001f1ec", 4, 8, "[GH][NG]"),
    "half a flag": Kind("\U0001f1ec", 1, 3, "[G]"),
    "tag sequence": Kind(ENGLAND, 2, 2, "\U0001f3f4"),
    "keycap": Kind("1\ufe0f\u20e3", 1, 1, "1\u20e3"),  # ! Rich 2
    "emoji of Unicode 15": Kind("\U0001fae8", 0, 9, "<U+1FAE8>"),  # ! Rich 2
    "emoji of Unicode 15, pink heart": Kind("\U0001fa77", 0, 9, "<U+1FA77>"),  # ! Rich 2
    "trigram": Kind("\u2630", 1, 8, "<U+2630>"),  # ! Rich 2
    "tetragram": Kind("\U0001d306", 1, 9, "<U+1D306>"),  # ! Rich 2
    "circled number on black": Kind("\u3248", 2, 8, "<U+3248>"),  # ! Rich 1
    "Hangul filler": Kind("\u3164", 2, 8, "<U+3164>"),  # ! Rich 0
    "halfwidth Hangul filler": Kind("\uffa0", 1, 8, "<U+FFA0>"),  # ! Rich 0
    "CJK": Kind("世界", 4, 4, "世界"),
    "Hangul": Kind("한국", 4, 4, "한국"),
    "fullwidth": Kind("\uff21", 2, 2, "\uff21"),
    "combining accent": Kind("e\u0301", 1, 1, "e\u0301"),
    "combining accents": Kind("a\u0301\u0302\u0303", 1, 1, "a\u0301\u0302\u0303"),
    "Hebrew": Kind("שלום", 4, 4, "שלום"),
    "Hebrew with niqqud": Kind(NIQQUD, 4, 4, NIQQUD),
    "Arabic": Kind("مرحبا", 5, 5, "مرحبا"),
    "Arabic lam-alef": Kind("لا", 2, 2, "لا"),
    "wide emoji": Kind("\U0001f600", 2, 2, "\U0001f600"),
    "emoji of Unicode 14": Kind("\U0001fae0", 2, 2, "\U0001fae0"),
    "paperclip": Kind("\U0001f4ce", 2, 2, "\U0001f4ce"),
    "zero-width non-joiner": Kind("a\u200cb", 2, 2, "a\u200cb"),
    "zero-width space": Kind("a\u200bb", 2, 2, "a\u200bb"),
}
#: Measured the same way and left as they are: a spacing vowel sign (U+093F,
#: U+0940) takes a cell in tmux and none in Rich; changing it would change the word.
HINDI = Kind("हिंदी", 4, 4, "हिंदी")


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_rich_counts_what_tmux_draws(kind: Kind) -> None:
    assert visible(kind.text) == kind.shown
    assert cell_len(visible(kind.text)) == kind.tmux_shown


@pytest.mark.xfail(strict=True, reason="Indic spacing marks: Rich 0 cells, tmux 1 (not fixed)")
def test_indic_spacing_marks_still_disagree() -> None:
    assert cell_len(visible(HINDI.text)) == HINDI.tmux_shown


def test_sequences_lose_only_zero_width_characters_and_never_a_letter() -> None:
    text = "Thanks 🙏🏾 for the 🌶️ suya, 👩🏾‍💻 says hi from 🇬🇭 and 🏳️‍🌈 1️⃣"
    assert visible(text) == "Thanks 🙏 for the 🌶 suya, 👩💻 says hi from [GH] and 🏳🌈 1\u20e3"
    # Next to the controls it already spelled out, and after them.
    assert visible("\x1b🇬🇭\x07\U0001f1ec") == "␛[GH]␇[G]"
    assert visible("\u200d\U0001f1ec\U0001f1ed\U0001f1f3") == "[GH][N]"
    assert visible("\U0001f1ec" * 5) == "[GG][GG][G]"


def test_a_flood_of_regional_indicators_is_one_pass() -> None:
    started = time.perf_counter()
    shown = visible("\U0001f1ec" * 8_000 + "\ufe0f" * 8_000)
    assert time.perf_counter() - started < 0.5
    assert shown == "[GG]" * 4_000


# Run in a tmux pane: print each text, ask the terminal where its cursor is.
PROBE = """
import json, os, subprocess, sys, tty
texts = json.load(open(sys.argv[1], encoding="utf-8"))
tty.setraw(0)
widths = []
for text in texts:
    os.write(1, ("\\r\\x1b[2K" + text + "\\x1b[6n").encode())
    reply = b""
    while not reply.endswith(b"R"):
        reply += os.read(0, 1)
    widths.append(int(reply.rsplit(b";", 1)[1][:-1]) - 1)
with open(sys.argv[2], "w") as out:
    json.dump(widths, out)
# Tell the test the answer is written (tmux keeps the signal if nobody waits yet).
subprocess.run(["tmux", "-S", sys.argv[3], "wait-for", "-S", "probe-done"], check=True)
"""


def tmux_widths(texts: list[str], tmp_path: Path) -> list[int]:
    """The cells tmux draws for each text, measured in a pane of a tmux of our own."""
    probe, asked, answer = tmp_path / "probe.py", tmp_path / "in.json", tmp_path / "out.json"
    probe.write_text(PROBE)
    asked.write_text(json.dumps(texts))
    env = {k: v for k, v in os.environ.items() if k != "TMUX"} | {"LANG": "C.UTF-8"}
    # A server of its own, its socket in the test's directory: nothing shared, nothing left.
    socket = str(tmp_path / "tmux.sock")
    tmux = ["tmux", "-S", socket, "-f", "/dev/null"]
    pane = [sys.executable, str(probe), str(asked), str(answer), socket]
    subprocess.run([*tmux, "new-session", "-d", "-x", "200", "-y", "5", *pane], env=env, check=True)
    try:
        # Wait for the probe's signal, not for time to pass.
        subprocess.run([*tmux, "wait-for", "probe-done"], env=env, check=True, timeout=10)
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True, check=False)
    widths: list[int] = json.loads(answer.read_text())
    return widths


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_tmux_here_draws_what_rich_counts(tmp_path: Path) -> None:
    shown = [visible(kind.text) for kind in KINDS.values()]
    measured = tmux_widths(shown, tmp_path)
    counted = [cell_len(text) for text in shown]
    assert dict(zip(KINDS, measured, strict=True)) == dict(zip(KINDS, counted, strict=True))


#: Every kind the pty test shows but the few that pyte, its terminal, stops
#: drawing at: U+20E3 of the keycap, U+200C and U+200B (zero-width characters
#: it does not treat as combining marks). tmux draws them as Rich counts them.
PYTE_STOPS = ("keycap", "zero-width non-joiner", "zero-width space")
ON_SCREEN = " ".join(
    f"{name.split()[0]} {kind.text}" for name, kind in KINDS.items() if name not in PYTE_STOPS
)


async def test_the_borders_stay_in_their_columns_on_a_real_terminal(tmp_path: Path) -> None:
    text = f"{ON_SCREEN} end-of-text"
    async with LoopbackServer() as server:
        who = "ama \U0001f1ec\U0001f1ed \U0001f64f\U0001f3fe \U0001f469\u200d\U0001f4bb"
        server.add(
            agent("ag_1", "Support \u2764\ufe0f"),
            conversation(
                "c_1",
                needs_attention=True,
                channel_user_username=who,
                last_message_preview=text,
            ),
            [message("m_1", text), message("m_2", text[::-1] + " reversed-text")],
        )
        config = tmp_path / "config.toml"
        config.write_text(f'api_key = "{server.api_key}"\n')
        config.chmod(0o600)
        args = [
            "--base-url",
            server.base_url,
            "--config",
            str(config),
            "--state-file",
            str(tmp_path / "state.toml"),
        ]
        async with Terminal(args, cols=110, rows=40, home=tmp_path) as t:
            await t.shows("end-of-text")
            await t.shows("reversed-text")
            try:
                await t.wait_for(lambda: borders_in_line(t), limit=10)
            except AssertionError as error:
                raise AssertionError(f"borders out of line; {error}") from None
            assert "[GH]" in t.text


def borders_in_line(t: Terminal) -> bool:
    """Every row between the boxes' top and bottom has its vertical borders (and
    no other) in the columns of the boxes' corners."""
    buffer = t.screen.buffer
    top = next((y for y in range(t.rows) if buffer[y][0].data == "╭"), None)
    bottom = next((y for y in range(t.rows) if buffer[y][0].data == "╰"), None)
    if top is None or bottom is None:
        return False
    corners = {x for x in range(t.cols) if buffer[top][x].data in ("╭", "╮")}
    return all(
        {x for x in range(t.cols) if buffer[y][x].data == "│"} == corners
        for y in range(top + 1, bottom)
    )


# -- links ----------------------------------------------------------------------------

#: 120 characters: twice the log's width in these tests.
URL = "https://cdn.example.com/uploads/2026/11/20/" + "r" * 50 + "/receipt-of-order-22412.png"


def attachment(url: str, kind: str = "image") -> AttachmentLine:
    """An attachment as `render` makes it of what a server sent."""
    msg = Message.from_api(
        {
            "id": "m",
            "role": "customer",
            "created_at": "",
            "attachments": [{"type": kind, "url": url}],
        }
    )
    (line,) = message_parts(msg).attachments
    return line


def row_links(rows: list[Text]) -> list[str]:
    """The link targets on the rows, whether a row's own style or a span's."""
    styles = [style for line in rows for style in (line.style, *(s.style for s in line.spans))]
    return [style.link for style in styles if not isinstance(style, str) and style.link]


def test_a_url_wider_than_the_column_is_cut_in_its_middle_on_one_line_of_its_own() -> None:
    assert len(URL) == 120
    rows = attachment_rows(attachment(URL), room=42)
    assert [line.plain for line in rows] == [
        "📎 image ",
        "https://cdn.example.c…t-of-order-22412.png",
    ]
    # The whole width of the text column (never the log's left edge); the link
    # to the whole URL.
    assert rows[1].cell_len == 42
    assert row_links(rows) == [URL]


def test_a_url_that_fits_the_log_but_not_the_column_is_cut_to_the_column() -> None:
    url = "https://cdn.example.com/files/menu-of-the-week-22.pdf"
    rows = attachment_rows(attachment(url, "file"), room=42)
    assert [line.plain for line in rows] == [
        "📎 file ",
        "https://cdn.example.c…u-of-the-week-22.pdf",
    ]
    assert row_links(rows) == [url]


def test_a_short_url_stays_on_the_label_line_or_under_the_text() -> None:
    short = "https://x.co/menu.pdf"
    assert [line.plain for line in attachment_rows(attachment(short), 42)] == [f"📎 image {short}"]
    middle = "https://cdn.example.com/m/menu-22412.pdf"
    rows = attachment_rows(attachment(middle), 42)
    assert [line.plain for line in rows] == ["📎 image ", middle]


def test_crop_middle_counts_cells() -> None:
    assert crop_middle("abcdefghij", 10) == "abcdefghij"
    assert crop_middle("abcdefghij", 5) == "ab…ij"
    assert crop_middle("abcdefghij", 1) == "…"
    assert crop_middle("abcdefghij", 0) == ""
    cut = crop_middle("世界世界世界世界", 9)
    assert cell_len(cut) <= 9
    assert cut.startswith("世界")
    assert cut.endswith("世界")
    # A combining mark stays with its letter, or goes with it.
    assert crop_middle("abcdefghe\u0301j", 5) == "ab…e\u0301j"
    assert crop_middle("abcdefgh世\u0301j", 5) == "ab…j"


class LogApp(App[None]):
    # As in the app (app.tcss): the log's scrollbar always there, the text's width fixed.
    CSS = "TimelineView { overflow-y: scroll; overflow-x: hidden; }"

    def compose(self) -> ComposeResult:
        yield MessageLog(tz=UTC)


async def test_in_the_log_a_url_is_never_broken_across_lines() -> None:
    msg = Message.from_api(
        {
            "id": "m_1",
            "role": "customer",
            "created_at": "2026-11-20T09:00:00Z",
            "message": "Here is the receipt and the menu, thank you so much for the help",
            "attachments": [
                {"type": "image", "url": URL},
                {"type": "file", "url": "https://x.co/menu.pdf"},
            ],
        }
    )
    app = LogApp()
    async with app.run_test(size=(62, 30)) as pilot:
        log = app.query_one(MessageLog)
        assert log.lines.scrollable_content_region.width == 60
        log.show("title", [msg])
        await pilot.pause()
        strips = list(log.lines.lines)
        texts = ["".join(segment.text for segment in strip) for strip in strips]
        assert all(strip.cell_length <= 60 for strip in strips)
        (at,) = [i for i, text in enumerate(texts) if "https://cdn.example" in text]
        # Under the message's text, not from the log's left edge; cut in its middle.
        column = texts[0].index("Here is the receipt")
        assert texts[at][column:].startswith("https://cdn.example")
        assert texts[at].endswith("-22412.png")
        # The whole line is the one link, to the whole URL.
        linked = {segment.style.link for segment in strips[at] if segment.style}
        assert linked == {URL}
        assert any(text.endswith("📎 file https://x.co/menu.pdf") for text in texts)


# -- dividers -------------------------------------------------------------------------

WHEN = "2026-11-23T10:00:00.000Z"
LOST = "m_01HZX3K9Q7RZ8V2T4W6Y8A0C2E"
#: A stream attempt that lost its resume point (the outcome table's own test attempt).
BASE = replace(OUTCOME_BASE, cursor=LOST)


def gap_status(**changes: Any) -> tuple[str, str | None]:
    """The cause and the rejected resume point of a gap, as the stream engine says them."""
    gone = error_from_response(410, b'{"message": "after is too old", "code": "gone"}', {})
    outcome = classify(gone, replace(BASE, **changes))
    assert outcome.kind in ("fall_back", "continue_live")
    return outcome.cause, outcome.rejected


GAPS = {
    "resumed from the message's time": gap_status(cursor_time=WHEN),
    "went on live after an id": gap_status(looked_up=True),
    "went on live after a time": gap_status(cursor=WHEN),
}


@pytest.mark.parametrize(("cause", "after"), GAPS.values(), ids=GAPS.keys())
def test_gap_words_say_what_happened_without_ids(cause: str, after: str | None) -> None:
    words = gap_words(cause, after)
    assert words.startswith("Some messages may be missing here.")
    assert "the last message you received" in words
    assert words.endswith("Restart bimpe-tui to reload the history.")
    for raw in (LOST, "m_", WHEN, "2026"):
        assert raw not in words


def test_gap_words_tell_the_two_ways_apart() -> None:
    timed = gap_words(*GAPS["resumed from the message's time"])
    assert "resumed from that message's time" in timed
    live = gap_words(*GAPS["went on live after an id"])
    assert "new messages only" in live
    assert "the time of" not in live
    assert "after the time of the last message" in gap_words(*GAPS["went on live after a time"])
    # A cause this version does not know still reads as a sentence.
    assert gap_words("something new", None) == (
        "Some messages may be missing here. After a reconnect the stream could not pick up "
        "exactly where it left off. Restart bimpe-tui to reload the history."
    )


def words_of(lines: list[Text]) -> list[str]:
    return " ".join(line.plain for line in lines).split()


@pytest.mark.parametrize("width", [30, 31, 40, 57, 80, 120])
@pytest.mark.parametrize("gap", GAPS.values(), ids=GAPS.keys())
def test_a_gap_marker_wraps_between_words_centred(width: int, gap: tuple[str, str]) -> None:
    label = gap_words(*gap)
    lines = marker_lines(label, width)
    assert len(lines) > 1
    # Never cut mid-word: the lines hold the divider's words, whole, in order.
    assert words_of(lines) == marker_text(label).plain.split()
    for line in lines:
        assert line.cell_len <= width
        words = line.plain.strip()
        assert line.plain.startswith(" " * ((width - cell_len(words)) // 2) + words)
    assert lines[0].plain.strip().startswith("──── Some messages")
    assert lines[-1].plain.endswith("history. ────")
    # In the log, the same lines, one per row.
    assert marker_line(label, width).plain.split("\n") == [line.plain for line in lines]


def test_a_short_marker_stays_one_centred_line() -> None:
    (line,) = marker_lines("new since you left", 60)
    text = "──── new since you left ────"
    assert line.plain == " " * ((60 - len(text)) // 2) + text


def test_only_a_word_longer_than_a_line_is_cut() -> None:
    lines = marker_lines("history unavailable: " + "e" * 100, 30)
    assert all(line.cell_len <= 30 for line in lines)
    assert "".join(line.plain.strip() for line in lines[1:]).startswith("e" * 100)


async def test_a_gap_marker_in_a_narrow_log() -> None:
    label = gap_words(*GAPS["went on live after an id"])
    app = LogApp()
    async with app.run_test(size=(32, 30)) as pilot:
        log = app.query_one(MessageLog)
        width = log.lines.scrollable_content_region.width
        assert width == 30
        log.show("title", [Marker("gap", label)])
        await pilot.pause()
        texts = ["".join(segment.text for segment in strip) for strip in log.lines.lines]
        assert " ".join(texts).split() == marker_text(label).plain.split()
        assert all(cell_len(text) <= width for text in texts)
