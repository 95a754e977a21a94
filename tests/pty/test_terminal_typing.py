"""Typed text comes out as typed: keys that arrive in one read are applied in order.

A terminal read can hold backspaces and letters together (a fast typist, a
laggy SSH link, a busy app). Textual applies a box's printable keys where they
arrive but its editing keys (backspace...) only once the key has gone up to
the app's bindings, so `7f 7f k 7` after `zq9` used to leave `zq9`. Every text
box the app has is typed into here through a real pseudo-terminal.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.pty.test_real_terminal import SIZES, demo, log_title, open_row
from tests.terminal import Terminal

#: Typed first, then one write: two backspaces and two characters.
TYPED = "zq9"
CHUNK = b"\x7f\x7fk7"
WANTED = "zk7"


async def typed_in_order(t: Terminal) -> None:
    t.send(TYPED)
    await t.shows(TYPED)
    t.send(CHUNK)
    # As typed: `zk7`. Letters before the backspaces that came first: `zq9`.
    await t.wait_for(lambda: WANTED in t.text and TYPED not in t.text, limit=10)


@pytest.mark.parametrize("size", SIZES)
async def test_backspaces_and_letters_in_one_read(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size) as t:
        await open_row(t, 1)
        # The list's filter.
        t.send("/")
        await typed_in_order(t)
        t.send(b"\x7f" * len(WANTED), "enter")
        await t.wait_for(lambda: WANTED not in t.text)
        # The go-to box (ctrl+g).
        t.send(b"\x07")
        await t.shows("Go to a conversation")
        await typed_in_order(t)
        t.send("escape")
        await t.wait_for(lambda: "Go to a conversation" not in t.text)
        # The log's filter.
        t.send("l", "f")
        await t.shows("showing every message")
        await typed_in_order(t)
        t.send("escape")
        await t.wait_for(lambda: WANTED not in t.text)
        # The log's search.
        t.send("ctrl+f")
        await t.shows("esc Back to the log")
        await typed_in_order(t)
        t.send("escape", "escape")  # back to the log, then the log clears the search
        await t.wait_for(lambda: WANTED not in t.text)
        # The reply box.
        t.send("t")
        await t.shows("Take over?")
        t.send("tab", "enter")
        await t.wait_for(lambda: log_title(t).endswith("· you have it"))
        t.send("c")
        await t.shows("╭─ reply")
        await typed_in_order(t)
        t.send("escape")
        await t.wait_for(lambda: "╭─ reply" not in t.text)
        t.send("q")
        assert await t.ended() == 0


async def test_a_long_paste_lands_in_the_reply_box_at_once(tmp_path: Path) -> None:
    # 5,000 characters pasted as terminals and tmux send them (bracketed): in the
    # box, its end on screen and counted, well under a second (it once took over 10 s).
    text = "word " * 999 + "END42"
    assert len(text) == 5000
    async with demo(tmp_path, (80, 24)) as t:
        await open_row(t, 1)
        # Replying alongside the AI: no toast over the box (taking over says so in one).
        t.send("c")
        await t.shows("The AI is answering")
        t.send("tab", "tab", "enter")
        await t.shows("╭─ reply")
        start = time.monotonic()
        t.send(b"\x1b[200~" + text.encode() + b"\x1b[201~")
        await t.wait_for(lambda: "END42" in t.text and "5,000/4,096" in t.text, limit=10)
        took = time.monotonic() - start
        assert took < 1.0, f"the paste took {took:.2f} s to show"
        t.send("escape")
        await t.wait_for(lambda: "╭─ reply" not in t.text)
