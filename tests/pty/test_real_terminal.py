"""Every key the help lists, through a real pseudo-terminal: the bytes a terminal sends.

The pilot hands Textual key names; here the app runs as a process on a pty,
gets the bytes xterm or tmux would send (ESC-prefixed alt keys, CSI and
kitty-protocol sequences, SGR mouse reports), and the screen is read back
through a terminal emulator. Sizes: 80x24 (one pane at a time) and 200x50
(list and log side by side). Which test covers which key is listed in
`COVERED`; `test_every_help_row_is_covered` fails when the help grows a key
that no test here presses.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pyte.screens import Char

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.state import StateStore
from tests.terminal import Terminal, alt, click, kitty, mouse

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((200, 50), id="200x50")]

#: An OSC 52 clipboard write: ESC ] 52 ; c ; base64, ended by BEL or ESC \\.
OSC52 = re.compile(rb"\x1b\]52;c;([A-Za-z0-9+/=]*)(?:\x07|\x1b\\\\)")

#: A message's first line in the log: a time (with the date if not today), a role.
MESSAGE_START = re.compile(r"^(\w{3} \d+ )?\d\d:\d\d(:\d\d)? +(customer|agent|staff) ")

#: A box's title in its top border: "╭─ who · channel · agent ─".
TITLE = re.compile(r"╭─ (.+?) ─")
LIST_TITLE = "Conversations ("

#: A numbered row of the list: "│ 2 ● ! ngozi.eze · whatsapp    3m" (numbers right-aligned).
ROW = re.compile(r"│ *(\d+) [^\w+]*?([\w+][^ ]*) ·")

#: The line above a conversation's first message, once the log paged back to it.
FIRST = "the first message of this conversation"

#: Every row of the help (its keys), and the test below that presses them.
COVERED = {
    "ctrl+q, q": "test_switching_keys (q), test_keys_after_a_failed_start (ctrl+q)",
    "?": "test_switching_keys",
    "tab, shift+tab": "test_panes",
    "ctrl+c, super+c": "test_copy_a_selection",
    "/": "test_switching_keys",
    "alt+a": "test_switching_keys",
    "]": "test_switching_keys",
    "[": "test_switching_keys",
    "r": "test_switching_keys, test_keys_after_a_failed_start",
    "h": "test_panes",
    "l": "test_panes",
    "1 … 9, alt+1 … alt+9": "test_switching_keys",
    "ctrl+p": "test_switching_keys",
    "up, k": "test_list_keys, test_log_keys_terminal (the log)",
    "down, j": "test_list_keys, test_log_keys_terminal (the log)",
    "home": "test_list_keys, test_log_keys",
    "end": "test_list_keys",
    "page up": "test_list_keys, test_log_keys",
    "page down": "test_list_keys, test_log_keys",
    "enter": "test_list_keys",
    "escape": "test_switching_keys (clears the filter), test_search_keys (clears the search)",
    "ctrl+f": "test_search_keys",
    "f": "test_filter_keys",
    "y": "test_copy_message_and_first_unread",
    "u": "test_copy_message_and_first_unread",
    "m": "test_copy_message_and_first_unread",
    "p": "test_peek_key",
    "n": "test_search_keys",
    "N": "test_search_keys",
    "up": "test_log_keys, test_go_to_keys (the finder's list)",
    "down": "test_log_keys, test_go_to_keys (the finder's list)",
    "end, G": "test_log_keys",
    "t": "test_acting_keys",
    "b": "test_acting_keys",
    "c": "test_acting_keys",
    "e": "test_acting_keys (the export question, closed with escape)",
    "i": "test_ids_key",
    "ctrl+g, :": "test_go_to_keys",
    "shift+enter, ctrl+j": "test_acting_keys (enter and escape in the reply box too)",
    "shift+enter": "test_search_keys",
    "ctrl+r": "test_search_keys",
    "ctrl+o": "test_search_keys",
    "tab, right, down": "test_acting_keys (the question before taking over)",
    "shift+tab, left, up": "test_acting_keys (the question before taking over)",
}


def titles(t: Terminal) -> list[str]:
    """The titles of the boxes on screen, left to right."""
    return [str(title) for title in TITLE.findall(t.text.splitlines()[1])]


def list_shown(t: Terminal) -> bool:
    return any(title.startswith(LIST_TITLE) for title in titles(t))


def log_title(t: Terminal) -> str:
    """The open conversation's title ("" while the log is not on screen)."""
    for title in titles(t):
        if not title.startswith(LIST_TITLE):
            return title
    return ""


def rows(t: Terminal) -> dict[int, str]:
    """Who the numbered rows of the list are, by number."""
    return {int(n): str(name) for n, name in ROW.findall(t.text)}


def row(t: Terminal, number: int) -> str:
    """Who the list's row `number` is (as the digit would open it)."""
    names = rows(t)
    assert number in names, f"no row {number} on screen:\n{t.text}"
    return names[number]


def first_line(t: Terminal) -> str:
    """The first line inside the list's box."""
    line = t.text.splitlines()[2]
    return line[: line.index("│", 1) + 1]


def list_count(t: Terminal) -> int:
    match = re.search(r"Conversations \((\d+)\)", t.text)
    assert match is not None, t.text
    return int(match.group(1))


def log_lines(t: Terminal) -> list[str]:
    """The text inside the log's box, one entry per row."""
    top = t.text.splitlines()[1]  # the border row: no wide characters, columns = positions
    left = top.rfind("╭")
    right = top.rfind("╮")
    body = []
    for y in range(2, t.rows):
        if t.span(y, left, left + 1) == "╰":
            break
        # Not the last column: the scrollbar's, whose glyphs move with the view.
        body.append(t.span(y, left + 1, right - 1).rstrip())
    return body


def thumb(t: Terminal) -> tuple[bool, bool]:
    """Whether the log's scrollbar thumb touches its top, and its bottom.

    The thumb is the run of cells in the scrollbar's column whose background
    differs from the track's (the darker one: the thumb can be the longer run,
    so counting cannot tell them apart): where the view is, whatever the text.
    """
    lines = t.text.splitlines()
    x = lines[1].rfind("╮") - 1
    last = next(y for y in range(2, t.rows) if t.span(y, x + 1, x + 2) == "╯") - 1
    cells = [t.screen.buffer[y][x] for y in range(2, last + 1)]
    track = min({cell.bg for cell in cells}, key=brightness)

    def on_thumb(cell: Char) -> bool:
        # A partial block is a thumb's end inside the cell: short of the edge.
        return cell.bg != track and cell.data not in PARTIAL_BLOCKS

    return on_thumb(cells[0]), on_thumb(cells[-1])


PARTIAL_BLOCKS = "▁▂▃▄▅▆▇█▔"


def brightness(colour: str) -> int:
    """How light a pyte background is ("default" counts as the darkest)."""
    if not re.fullmatch(r"[0-9a-fA-F]{6}", colour):
        return -1
    return sum(int(colour[i : i + 2], 16) for i in (0, 2, 4))


async def to_list(t: Terminal) -> None:
    """Back to the list (in a narrow terminal it replaces the log)."""
    t.send("h")
    await t.wait_for(lambda: list_shown(t))


def footer_live(t: Terminal) -> bool:
    """The status footer says the open conversation is live."""
    return t.text.splitlines()[-2].strip().startswith("● live")


async def opened(t: Terminal, name: str) -> None:
    """Wait until the log shows the conversation of `name`, its history loaded and live.

    The title shows at once; the history comes after, and is drawn again
    then: keys sent before would act on a log about to be replaced.
    """
    try:
        await t.wait_for(lambda: log_title(t).startswith(name) and footer_live(t))
    except AssertionError as error:
        raise AssertionError(f"{name!r} never opened; {error}") from None


async def open_row(t: Terminal, number: int) -> str:
    """Open the list's row `number` with its digit key; who it is."""
    name = row(t, number)
    t.send(str(number))
    await opened(t, name)
    return name


def scrollable(t: Terminal) -> bool:
    """Whether the log has a scrollbar: its conversation is longer than the log is high."""
    lines = t.text.splitlines()
    x = lines[1].rfind("╮") - 1
    last = next(y for y in range(2, t.rows) if t.span(y, x + 1, x + 2) == "╯") - 1
    return len({t.screen.buffer[y][x].bg for y in range(2, last + 1)}) > 1


async def open_long_row(t: Terminal) -> str:
    """Open the first of rows 1-9 whose conversation does not fit in the log.

    Which conversations lead the list depends on the time of day (newcomers
    with a handful of messages come and go), so the row is found, not fixed.
    """
    for number in range(1, 10):
        if not list_shown(t):
            await to_list(t)  # a narrow terminal shows the log instead
        name = await open_row(t, number)
        try:
            await t.wait_for(lambda: scrollable(t), limit=3)
        except AssertionError:
            continue
        return name
    raise AssertionError(f"no conversation in rows 1-9 is longer than the log:\n{t.text}")


async def moved(t: Terminal, before: str) -> str:
    """Wait until the log shows another conversation than `before`; its title."""
    await t.wait_for(lambda: log_title(t) not in ("", before))
    return log_title(t)


@asynccontextmanager
async def demo(
    tmp_path: Path,
    size: tuple[int, int],
    *extra: str,
    still: bool = False,
    rate: str = "0.05",
) -> AsyncIterator[Terminal]:
    """The demo in a terminal of `size`, live; a slow world, so the list's order holds.

    `still`: no animations (a scroll then jumps, so a frame read is where it ends).
    `rate`: the world's pace; tests that read the log's lines use a slower one,
    since an arrival trims the oldest line of a full timeline.
    """
    cols, rows_ = size
    args = ["--demo", "--rate", rate, "--state-file", str(tmp_path / "state.toml"), *extra]
    env = {"TEXTUAL_ANIMATIONS": "none"} if still else None
    async with Terminal(args, cols=cols, rows=rows_, home=tmp_path, env=env) as t:
        await t.shows(LIST_TITLE)
        await t.shows("● live")
        await t.wait_for(lambda: len(rows(t)) >= 5)
        yield t


@pytest.mark.parametrize("size", SIZES)
async def test_switching_keys(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size) as t:
        # ? opens the help; escape, q and ? each close it (q does not quit there).
        for close in ("escape", "q", "?"):
            t.send("?")
            await t.shows("Keys — escape to close")
            t.send(close)
            await t.wait_for(lambda: "Keys — escape to close" not in t.text)
        # A digit, alt+digit as ESC digit (xterm, tmux) and in kitty's protocol
        # each open the row of that number.
        for key, number in (("2", 2), (alt("1"), 1), (kitty(ord("3"), modifiers=3), 3)):
            await to_list(t)
            name = row(t, number)
            t.send(key)
            await opened(t, name)
        # ] and [ walk the list.
        third = log_title(t)
        t.send("]")
        fourth = await moved(t, third)
        t.send("[")
        assert await moved(t, fourth) == third
        # alt+a goes to the most urgent conversation with news (or says there is none).
        t.send(alt("a"))
        await t.wait_for(lambda: log_title(t) != third or "nothing new" in t.text)
        # r on a live stream says why nothing happens.
        t.send("r")
        await t.shows("nothing to")  # a toast; it may wrap before "retry" at 80 columns
        # The palette runs a command by name.
        before = log_title(t)
        t.send("ctrl+p")
        await t.shows("Search for commands")
        t.send("Next conversation")
        await t.shows("Open the next conversation")
        t.send("enter")
        await moved(t, before)
        # / filters as you type (q lands in the box, it does not quit); escape clears it.
        await to_list(t)
        everything = list_count(t)
        t.send("/", "zzzzqq")
        await t.wait_for(lambda: list_count(t) == 0)
        await t.shows("no conversation matches")
        t.send("escape")
        await t.wait_for(lambda: list_count(t) == everything)
        t.send("q")
        assert await t.ended() == 0


@pytest.mark.parametrize("size", SIZES)
async def test_list_keys(size: tuple[int, int], tmp_path: Path) -> None:
    # The slowest world: a customer asking for a person moves their row up mid-test.
    async with demo(tmp_path, size, still=True, rate="0.001") as t:
        named = rows(t)
        top = first_line(t)  # the list at its top: its first agent's heading
        # A click on a row opens it.
        x, y = t.find(named[4])
        t.send(click(x, y))
        await opened(t, named[4])
        # What each opened: titles, not names (the demo's newcomers may share a name
        # with a numbered row).
        titles = [log_title(t)]
        # Each case opens another conversation than the one before it: the row at
        # that position from the top, read just before the keys (numbers stay with
        # their conversations when the list re-sorts; positions are what keys move by).
        cases: list[tuple[list[str | bytes], int]] = [
            (["home", "down", "enter"], 2),
            (["home", "enter"], 1),
            (["home", "down", "down", "enter"], 3),
            (["home", "j", "j", "j", "j", "j", "k", "enter"], 5),
            (["home", "down", "down", "up", "enter"], 2),
            (["home", "pagedown", "pageup", "enter"], 1),
        ]
        for keys, position in cases:
            await to_list(t)
            expected = list(rows(t).values())[position - 1]
            t.send(*keys)
            await opened(t, expected)
            titles.append(log_title(t))
        # A page down goes past the first rows.
        await to_list(t)
        before = log_title(t)
        t.send("home", "pagedown", "enter")
        paged = await moved(t, before)
        assert paged not in titles[1:3]  # the rows at the top: positions 2 and 1
        # end reaches the last conversation, below the numbered ones.
        await to_list(t)
        t.send("end", "enter")
        last = await moved(t, paged)
        assert last not in titles, (last, titles)
        # home goes back to the top, its agent's heading in sight.
        await to_list(t)
        t.send("home")
        await t.wait_for(lambda: first_line(t) == top)


@pytest.mark.parametrize("size", SIZES)
async def test_acting_keys(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size) as t:
        await open_row(t, 1)
        # t takes over: the title says so once the server confirmed it.
        # t asks first (naming the customer); nothing is chosen until a person moves
        # to a choice: a stray enter does nothing, tab then enter takes over.
        t.send("t")
        await t.shows("Take over?")
        t.send("enter")
        # tab to the first choice, again to Cancel, shift+tab back to "Take over".
        t.send("tab", "tab", "shift+tab", "enter")
        await t.wait_for(lambda: log_title(t).endswith("· you have it"))
        # c opens the reply box; ctrl+j (LF) and shift+enter (kitty) make new lines.
        t.send("c")
        await t.shows("╭─ reply")
        # An empty enter says so in a toast that stands above the box, never over
        # its border, its hint or its count.
        t.send("enter")
        await t.shows("nothing to send")
        assert t.find("nothing to send")[1] < t.find("╭─ reply")[1]
        assert "esc cancel" in t.text
        t.send("hello from a pty", b"\n", "second line", kitty(13, modifiers=2), "third")
        await t.shows("third")
        t.send("enter")
        # Sent: the stream's message replaces "sending…", drawn as "you".
        await t.wait_for(
            lambda: (
                "sending…" not in t.text
                and any("you hello from a pty" in " ".join(line.split()) for line in log_lines(t))
            )
        )
        # escape closes the box (the draft is kept), b hands back to the AI.
        t.send("escape")
        await t.wait_for(lambda: "╭─ reply" not in t.text)
        t.send("b")
        await t.shows("Hand back?")
        t.send("tab", "enter")
        await t.wait_for(lambda: log_title(t).endswith("· AI"))
        # e asks what to export (loaded or all, which format); escape asks nothing more.
        assert "Export" not in t.text
        t.send("e")
        await t.shows("Export")
        t.send("escape")
        await t.wait_for(lambda: "Export" not in t.text)
        t.send("q")
        assert await t.ended() == 0


async def to_first_message(t: Terminal) -> None:
    """In the log: home until the conversation's first message is at the top.

    home at the top loads the older page, which lands above (the view keeps its
    place), so it is pressed again until the first message is there.
    """
    for _ in range(200):
        if FIRST in log_lines(t)[0] and thumb(t) == (True, False):
            return
        before = t.text
        t.send("home")
        await t.wait_for(lambda: t.text != before)  # noqa: B023 (waited on at once)
    raise AssertionError(f"never reached the first message:\n{t.text}")


@pytest.mark.parametrize("size", SIZES)
async def test_log_keys(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size, still=True, rate="0.001") as t:
        await open_long_row(t)
        t.send("l")  # the log has the keys now
        await t.wait_for(lambda: thumb(t) == (False, True))  # following: at the end
        await to_first_message(t)
        top = log_lines(t)
        # Down, then up to the top again. (The whole conversation is loaded now: a line
        # or a page down can leave the scrollbar's thumb touching the top.)
        t.send("down")
        await t.wait_for(lambda: log_lines(t)[0] == top[1])
        t.send("up")
        await t.wait_for(lambda: thumb(t) == (True, False) and log_lines(t)[0] == top[0])
        # A page down and back.
        t.send("pagedown")
        await t.wait_for(lambda: log_lines(t)[0] not in top[:2])
        t.send("pageup")
        await t.wait_for(lambda: thumb(t) == (True, False) and log_lines(t)[0] == top[0])
        # G and end go back to the newest message.
        for newest in ("G", "end"):
            t.send(newest)
            await t.wait_for(lambda: thumb(t) == (False, True))
            assert "new ↓" not in t.text  # following again, nothing waiting below
            t.send("home")
            await t.wait_for(lambda: thumb(t) == (True, False))
        # The mouse wheel scrolls the log.
        x, y = t.find(top[4].strip()[:12])
        t.send(mouse(65, x, y))
        await t.wait_for(lambda: log_lines(t)[0] != top[0])


#: The search's count under the log: "3 of 17", "no matches".
SEARCH_COUNT = re.compile(r"(\d+) of (\d+)|no matches")


def search_count(t: Terminal) -> tuple[int, int] | None:
    """The search's "N of M" on screen, if any."""
    match = SEARCH_COUNT.search(t.text)
    if match is None or match.group(1) is None:
        return None
    return int(match.group(1)), int(match.group(2))


@pytest.mark.parametrize("size", SIZES)
async def test_search_keys(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size, still=True, rate="0.001") as t:
        await open_long_row(t)
        t.send("l", "ctrl+f")
        await t.shows("type to search")
        # Literal text at first: "ord.r" is in no message.
        t.send("ORD.R")
        await t.shows("no matches")
        # ctrl+r reads it as a regex, in any case: every demo conversation
        # talks of orders. Following the end: the newest match.
        t.send("ctrl+r")
        await t.wait_for(lambda: search_count(t) is not None and "regex" in t.text)
        # ctrl+o: the server searches the whole conversation, as plain text (no
        # message has "ORD.R"); escape closes the list, back in the box.
        t.send("ctrl+o")
        await t.shows("no message of the conversation has it")
        t.send("escape")
        await t.wait_for(
            lambda: "no message of the conversation" not in t.text and search_count(t) is not None
        )
        count = search_count(t)
        assert count is not None
        last, total = count
        assert last == total
        # enter: the next match, round the end to the first.
        t.send("enter")
        await t.wait_for(lambda: search_count(t) == (1, total))
        # shift+enter (kitty's protocol): the previous one, round the start to the last.
        t.send(kitty(13, modifiers=2))
        await t.wait_for(lambda: search_count(t) == (total, total))
        t.send("enter")
        await t.wait_for(lambda: search_count(t) == (1, total))
        # Back in the log, n and N walk the matches (round the ends).
        # (Escape alone: ESC and a key in one read is how alt+key arrives.)
        t.send("escape")
        await t.wait_for(lambda: "Back to the log" not in t.text)
        t.send("n")
        await t.wait_for(lambda: search_count(t) == (min(2, total), total))
        t.send("N", "N")
        await t.wait_for(lambda: search_count(t) == (total, total))
        # Escape in the log clears the search; the next one goes to the list.
        t.send("escape")
        await t.wait_for(lambda: search_count(t) is None and "regex" not in t.text)
        assert log_title(t)


@pytest.mark.parametrize("size", SIZES)
async def test_a_server_match_is_read_in_place(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size, still=True, rate="0.001") as t:
        await open_long_row(t)
        t.send("l", "ctrl+f", *"order")
        await t.wait_for(lambda: search_count(t) is not None)
        # The server's matches; end: the oldest listed, enter: read it in place.
        t.send("ctrl+o")
        await t.shows("in the whole conversation")
        t.send("end", "enter")
        await t.shows("reading history")
        # The match is the search's current one.
        await t.wait_for(lambda: search_count(t) is not None)
        # Out of the box, end: the newest again, live.
        t.send("escape")
        await t.wait_for(lambda: "Back to the log" not in t.text)
        t.send("end")
        await t.wait_for(lambda: "reading history" not in t.text)
        assert log_title(t)


#: The filter's status under the log: "showing 12 of 340 · filter: @customer".
FILTER_STATUS = re.compile(r"showing ([\d,]+) of ([\d,]+) · filter: @customer")


@pytest.mark.parametrize("size", SIZES)
async def test_filter_keys(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size, still=True, rate="0.001") as t:
        await open_long_row(t)
        t.send("l", "f")
        await t.shows("showing every message")
        t.send("@customer")
        await t.wait_for(lambda: FILTER_STATUS.search(t.text) is not None)
        match = FILTER_STATUS.search(t.text)
        assert match is not None
        assert int(match.group(1).replace(",", "")) < int(match.group(2).replace(",", ""))
        # Only the customer's messages: no agent's first line on screen (the
        # log may be drawn a frame after the status).
        await t.wait_for(
            lambda: not any(re.match(r"^\S.*\d +agent ", line) for line in log_lines(t))
        )
        t.send("enter")
        await t.wait_for(lambda: "Back to the log" not in t.text)
        # escape in the log clears the filter.
        t.send("escape")
        await t.wait_for(lambda: "showing" not in t.text)
        assert log_title(t)


@pytest.mark.parametrize("size", SIZES)
async def test_ids_key(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size) as t:
        await open_row(t, 1)
        # i: the ids and the command lines; enter copies the highlighted row (OSC 52).
        t.send("i")
        await t.shows("Ids and commands")
        await t.shows("bimpe-tui tail ")
        start = len(t.output)
        t.send("down", "down", "enter")
        await t.wait_for(lambda: re.search(OSC52, t.output[start:]) is not None)
        match = re.search(OSC52, t.output[start:])
        assert match is not None
        copied = base64.b64decode(match.group(1)).decode()
        assert copied.startswith("bimpe-tui tail ag_")
        t.send("escape")
        await t.wait_for(lambda: "Ids and commands" not in t.text)


@pytest.mark.parametrize("size", SIZES)
async def test_go_to_keys(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size, still=True) as t:
        await to_list(t)
        named = rows(t)
        # ":4 enter" in one terminal read: the finder opens, takes the number, opens it.
        t.send(b":4\r")
        await opened(t, named[4])
        await t.wait_for(lambda: "Go to a conversation" not in t.text)
        # A two-digit number, typed after the finder shows it.
        await to_list(t)
        t.send(":")
        await t.shows("Go to a conversation")
        t.send("12")
        await t.wait_for(lambda: re.search(r"│ *12 +(?:! )?([\w+][^ ]*) ·", t.text) is not None)
        found = re.search(r"│ *12 +(?:! )?([\w+][^ ]*) ·", t.text)
        assert found is not None
        t.send("enter")
        await opened(t, found.group(1))
        # ctrl+g and part of a name; escape closes without opening anything.
        await to_list(t)
        t.send("ctrl+g")
        await t.shows("Go to a conversation")
        t.send("escape")
        await t.wait_for(lambda: "Go to a conversation" not in t.text)
        assert log_title(t).startswith(found.group(1)) or list_shown(t)
        # The best match is highlighted; down then up comes back to it.
        t.send(b"\x07" + named[2].encode())
        await t.shows("Go to a conversation")
        t.send("down", "up", "enter")
        await opened(t, named[2])


@pytest.mark.parametrize("size", SIZES)
async def test_copy_message_and_first_unread(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size, still=True, rate="0.001") as t:
        await open_long_row(t)
        # y: the newest message on screen, as received, to the clipboard (OSC 52).
        start = len(t.output)
        t.send("l", "y")
        await t.wait_for(lambda: re.search(OSC52, t.output[start:]) is not None)
        match = re.search(OSC52, t.output[start:])
        assert match is not None
        copied = base64.b64decode(match.group(1)).decode()
        await t.shows("copied")
        words = copied.split()
        assert words
        assert any(words[0] in line for line in log_lines(t))
        # u: a first start has nothing "new since you left"; it says so.
        t.send("u")
        await t.shows("nothing unread")
        # m: from the top of the log on, unread again (the count is said). (home at
        # the top loads older pages: all the way back to the first message.)
        await to_first_message(t)
        t.send("m")
        await t.wait_for(lambda: re.search(r"marked unread: \d+ messages", t.text) is not None)


@pytest.mark.parametrize("size", SIZES)
async def test_peek_key(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size) as t:
        name = row(t, 3)
        if not list_shown(t):
            await to_list(t)
        # Home (row 1, wherever the highlight was), down to row 3, then p.
        t.send("home", "down", "down", "p")
        await t.shows("peeking")
        await t.wait_for(lambda: log_title(t).startswith(name))


@pytest.mark.parametrize("size", SIZES)
async def test_panes(size: tuple[int, int], tmp_path: Path) -> None:
    cols, _ = size
    narrow = cols < 90
    async with demo(tmp_path, size) as t:
        name = await open_row(t, 2)
        await to_list(t)
        list_colour = t.colour(0, 1)

        def log_focused() -> bool:
            if narrow:
                return not list_shown(t) and log_title(t).startswith(name)
            # Side by side, the focused box has the accent border.
            return t.colour(0, 1) != list_colour

        for there, back in (("tab", "shift+tab"), ("l", "h"), ("l", "tab")):
            t.send(there)
            await t.wait_for(log_focused)
            t.send(back)
            await t.wait_for(lambda: list_shown(t) and not log_focused())
        # escape with nothing to close leaves the focus where it is: not on the
        # list, where letters act on a customer. `?` after it shows it was read.
        t.send("l")
        await t.wait_for(log_focused)
        t.send("escape", "?")
        await t.shows("Keys — escape to close")
        t.send("escape")
        await t.wait_for(lambda: "Keys — escape to close" not in t.text)
        assert log_focused()
        t.send("h")
        await t.wait_for(lambda: list_shown(t) and not log_focused())
        if not narrow:
            # A click on the log gives it the keys.
            x, y = t.find(name)
            t.send(click(x + 2, y + 3))
            await t.wait_for(log_focused)


@pytest.mark.parametrize("size", SIZES)
async def test_copy_a_selection(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size, still=True, rate="0.001") as t:
        await open_long_row(t)
        # Drag across the start of a message in the log, then ctrl+c: the text
        # goes to the terminal's clipboard as OSC 52.
        # At the top of the log, which then holds still while messages arrive (and,
        # at the first message, no older page comes to move it).
        t.send("l")
        await to_first_message(t)
        # A message's first line: its time, its role, its text.
        line = next(line for line in log_lines(t) if MESSAGE_START.match(line))
        x, y = t.find(line[:20])
        start = len(t.output)
        t.send(mouse(0, x, y), mouse(32, x + 8, y), mouse(0, x + 8, y, release=True))
        t.send("ctrl+c")
        await t.wait_for(lambda: re.search(OSC52, t.output[start:]) is not None)
        match = re.search(OSC52, t.output[start:])
        assert match is not None
        copied = base64.b64decode(match.group(1)).decode()
        assert copied.strip()
        # The text under the drag: that line, or what the log shows there now
        # (history placed meanwhile can move the lines under a pointer).
        assert copied in line or any(copied in shown for shown in log_lines(t)), (copied, line)


@pytest.mark.parametrize("size", SIZES)
async def test_keys_after_a_failed_start(size: tuple[int, int], tmp_path: Path) -> None:
    cols, rows_ = size
    args = ["--base-url", "http://127.0.0.1:9", "--state-file", str(tmp_path / "s.toml")]
    env = {"BIMPEAI_API_KEY": "sk_test_not_a_real_key"}
    async with Terminal(args, cols=cols, rows=rows_, home=tmp_path, env=env) as t:
        await t.shows("press r to retry")
        # The keys the footer names work: none of them lands in a hidden box.
        t.send("?")
        await t.shows("Keys — escape to close")
        t.send("escape")
        await t.wait_for(lambda: "Keys — escape to close" not in t.text)
        start = len(t.output)
        t.send("r")
        # Retrying draws the status again ("connecting", then the failure).
        await t.wait_for(lambda: len(t.output) > start and "press r to retry" in t.text)
        assert "sk_test" not in t.text
        t.send("q")
        assert await t.ended() == 0
    async with Terminal(args, cols=cols, rows=rows_, home=tmp_path, env=env) as t:
        await t.shows("press r to retry")
        t.send("ctrl+q")
        assert await t.ended() == 0


async def test_a_bad_config_file_is_named_in_the_app_too(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('api_key = 12345\n[alerts]\nnotify = "loud"\n')
    config.chmod(0o600)
    async with demo(tmp_path, (200, 50), "--config", str(config)) as t:
        await t.shows("api_key should be a str")
        await t.shows("alerts.notify should be")
        assert "config.toml" in t.text


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        pytest.param("bell", b"\x07", id="bell"),
        pytest.param("osc9", b"\x1b]9;", id="osc9"),
        pytest.param("osc777", b"\x1b]777;notify;", id="osc777"),
    ],
)
async def test_an_alert_reaches_the_terminal_as_its_own_bytes(
    notify: str, expected: bytes, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    # Only new conversations alert: an attention alert a moment before would take the
    # bell and leave the new conversation to a "2 more alerts" summary toast.
    config.write_text(
        f'[alerts]\nnotify = "{notify}"\nnew_conversation = true\nattention = false\n'
    )
    config.chmod(0o600)
    args = [
        "--demo",
        "--rate",
        "40",
        "--refresh",
        "2",
        "--config",
        str(config),
        "--state-file",
        str(tmp_path / "state.toml"),
    ]
    async with Terminal(args, cols=120, rows=40, home=tmp_path) as t:
        await t.shows("Conversations (")
        start = len(t.output)
        # At rate 40 a conversation starts every ~9 s; a refresh every 2 s sees it.
        await t.wait_for(lambda: expected in t.output[start:], limit=90)
        # The toast was drawn (read from the bytes: a busy machine may read the
        # screen after the toast's few seconds are over).
        await t.wait_for(lambda: b"new conversation" in t.output[start:])
        written = bytes(t.output[start:])
        if notify != "bell":
            # The OSC is closed (ST) and followed by the bell, so tmux flags the window.
            tail = written[written.index(expected) :]
            assert b"\x1b\\\x07" in tail
        t.send("q")
        assert await t.ended() == 0


def test_every_help_row_is_covered(tmp_path: Path) -> None:
    """The help's rows, read from the bindings: each one is pressed by a test here."""
    app = BimpeApp(AppConfig(state=StateStore(tmp_path / "s.toml")))
    listed = {keys for _, rows_ in app.binding_sections() for keys, _ in rows_}
    assert listed - COVERED.keys() == set(), "keys in the help that no test here presses"
