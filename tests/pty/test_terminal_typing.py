"""Typed text comes out as typed: keys that arrive in one read are applied in order.

A terminal read can hold backspaces and letters together (a fast typist, a
laggy SSH link, a busy app). Textual applies a box's printable keys where they
arrive but its editing keys (backspace...) only once the key has gone up to
the app's bindings, so `7f 7f k 7` after `zq9` used to leave `zq9`. Every text
box the app has is typed into here through a real pseudo-terminal.
"""

from __future__ import annotations

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
