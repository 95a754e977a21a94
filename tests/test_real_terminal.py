"""Keys and alerts through a real pseudo-terminal: the bytes a terminal sends, the screen back.

The pilot hands Textual key names; here the app runs as a process on a pty,
gets the bytes xterm or tmux would send, and the screen is read back through
a terminal emulator. Sizes: 80x24 and 200x50.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.terminal import Terminal, alt, kitty

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((200, 50), id="200x50")]

#: The open conversation's title in the log's top border: "─ who · channel · agent ─".
TITLE = re.compile(r"╭─ ([^─]+?) ─")


def log_title(t: Terminal) -> str:
    """The title of the log's border (the second box on the second row)."""
    titles = TITLE.findall(t.text.splitlines()[1])
    assert len(titles) == 2, t.text
    return str(titles[1])


#: A numbered row of the list: "│2 ● ! ngozi.eze · whatsapp · 3m".
ROW = re.compile(r"│(\d) [^\w+]*?([\w+][^ ]*) ·")


def row_name(t: Terminal, number: int) -> str:
    """Who the list's row `number` is (as alt+number would open it)."""
    names = {int(n): name for n, name in ROW.findall(t.text)}
    assert number in names, t.text
    return str(names[number])


def list_count(t: Terminal) -> int:
    match = re.search(r"Conversations \((\d+)\)", t.text)
    assert match is not None, t.text
    return int(match.group(1))


async def open_app(t: Terminal) -> str:
    await t.shows("Conversations (")
    await t.wait_for(lambda: "● live" in t.text)
    return log_title(t)


async def retitled(t: Terminal, before: str) -> str:
    await t.wait_for(lambda: log_title(t) != before)
    return log_title(t)


@pytest.mark.parametrize("size", SIZES)
async def test_every_listed_key_through_a_real_terminal(
    size: tuple[int, int], tmp_path: Path
) -> None:
    cols, rows = size
    # A slow world, so the list's order holds still while keys are checked.
    args = ["--demo", "--rate", "0.05", "--state-file", str(tmp_path / "state.toml")]
    async with Terminal(args, cols=cols, rows=rows, home=tmp_path) as t:
        first = await open_app(t)
        # ? opens the help, escape closes it.
        t.send("?")
        await t.shows("Keys — escape to close")
        t.send("escape")
        await t.wait_for(lambda: "Keys — escape to close" not in t.text)
        # ] and [ move through the list.
        t.send("]")
        second = await retitled(t, first)
        t.send("[")
        assert await retitled(t, second) == first
        # alt+N as ESC N (xterm, tmux) and in kitty's protocol open row N.
        for key, number in ((alt("2"), 2), (alt("1"), 1), (kitty(ord("3"), modifiers=3), 3)):
            name = row_name(t, number)
            t.send(key)
            await t.wait_for(lambda name=name: log_title(t).startswith(name))  # type: ignore[misc]
        third = log_title(t)
        # alt+a goes to a conversation with unread or attention: somewhere else.
        t.send(alt("a"))
        await retitled(t, third)
        # r on a live stream says why nothing happens.
        t.send("r")
        await t.shows("nothing to")  # a toast; it may wrap before "retry" at 80 columns
        # / filters as you type; escape clears it.
        everything = list_count(t)
        t.send("/", "zzzzqq")
        await t.wait_for(lambda: list_count(t) == 0)
        t.send("escape")
        await t.wait_for(lambda: list_count(t) == everything)
        # q quits (it was typed into the filter above without quitting).
        t.send("q")
        assert await t.ended() == 0


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
    config.write_text(f'[alerts]\nnotify = "{notify}"\nnew_conversation = true\n')
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
        await t.shows("new conversation")
        written = bytes(t.output[start:])
        if notify != "bell":
            # The OSC is closed (ST) and followed by the bell, so tmux flags the window.
            tail = written[written.index(expected) :]
            assert b"\x1b\\\x07" in tail
        t.send("q")
        assert await t.ended() == 0
