"""The layout at every size, in a real pseudo-terminal: what a person sees.

At 90 columns and more the list and the log stand side by side, the list
taking 36 % of the width between 34 and 64 columns; below that one pane shows
at a time (h and l switch); below 40x10 the app says the terminal is too
small. Rows are cut on the left, never on the right, where the age and the
unread count are.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bimpe_tui.api.models import Agent, Conversation
from bimpe_tui.book import Entry
from bimpe_tui.widgets.picker import row
from tests.pty.test_real_terminal import LIST_TITLE, demo, list_shown, log_title, open_row, titles
from tests.terminal import Terminal

#: What ends a conversation's row: its age or the customer's wait, then its unread count.
ROW_END = re.compile(r"(now|\d+[smhd]|waiting \d+[smhd]( \d+m)?)( \((\d+|999\+)\))?$")

SIZES = [
    pytest.param((60, 20), id="60x20"),
    pytest.param((80, 24), id="80x24"),
    pytest.param((120, 40), id="120x40"),
    pytest.param((220, 60), id="220x60"),
]


def list_width(t: Terminal) -> int:
    """The list's box, in columns, from its top border."""
    return t.text.splitlines()[1].index("╮") + 1


def expected_width(cols: int) -> int:
    return min(64, max(34, int(cols * 0.36)))


def row_ends(t: Terminal) -> list[str]:
    """The numbered rows of the list as shown, less borders and scrollbar."""
    right = list_width(t) - 1
    found = []
    for line in t.text.splitlines()[2:]:
        if re.match(r"│ *\d+ ", line):
            found.append(line[1 : right - 1].rstrip())
    return found


def layout_problem(t: Terminal) -> str | None:
    """What is wrong with the layout on screen for the terminal's size (None: nothing)."""
    cols = t.cols
    if not list_shown(t):
        return "no list"
    if cols >= 90:
        if len(titles(t)) != 2:
            return "not side by side"
        if abs(list_width(t) - expected_width(cols)) > 1:
            return f"list {list_width(t)} columns wide, not {expected_width(cols)}"
    else:
        if len(titles(t)) != 1:
            return "two panes in a narrow terminal"
        if list_width(t) != cols:
            return f"list {list_width(t)} columns wide, not the terminal's {cols}"
        footer = t.text.splitlines()[-1]
        if "h List" not in footer or "l Log" not in footer:
            return f"the footer does not name h and l: {footer!r}"
    keys = t.text.splitlines()[-1]
    if "? Help" not in keys:
        return f"the footer does not show ? Help: {keys!r}"
    ends = row_ends(t)
    if len(ends) < 3:
        return "fewer than 3 rows"
    for line in ends:
        if not ROW_END.search(line):
            return f"a row's end is cut: {line!r}"
    return None


async def laid_out(t: Terminal) -> None:
    """Wait until the layout fits the terminal's size (a resize redraws the rows)."""
    try:
        await t.wait_for(lambda: layout_problem(t) is None)
    except AssertionError as error:
        raise AssertionError(f"{layout_problem(t)}; {error}") from None


@pytest.mark.parametrize("size", SIZES)
async def test_the_layout_at_each_size(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size) as t:
        await laid_out(t)
        await open_row(t, 1)
        if t.cols < 90:
            # The log replaced the list; h brings the list back.
            assert not list_shown(t)
            t.send("h")
            await t.wait_for(lambda: list_shown(t))
            assert log_title(t) == ""
        else:
            assert list_shown(t)


async def test_a_live_resize(tmp_path: Path) -> None:
    async with demo(tmp_path, (220, 60)) as t:
        await laid_out(t)
        t.resize(80, 24)
        await laid_out(t)
        t.resize(30, 8)
        await t.shows("Terminal too small")
        assert LIST_TITLE not in t.text
        t.resize(120, 40)
        await laid_out(t)
        assert "Terminal too small" not in t.text


@pytest.mark.parametrize("width", range(24, 90, 7))
@pytest.mark.parametrize("unread", [0, 7, 47, 1234])
def test_a_row_keeps_its_age_and_unread_count_at_any_width(width: int, unread: int) -> None:
    agent = Agent.from_api({"id": "ag_1", "name": "A", "created_at": "", "updated_at": ""})
    at = "2026-11-20T08:00:00Z"
    conversation = Conversation.from_api(
        {
            "id": "c_1",
            "channel_type": "telephony",
            "is_test_channel": True,
            "is_ai_chat_paused": True,
            "needs_attention": True,
            "created_at": at,
            "updated_at": at,
            "last_message_at": at,
            "channel_user_username": "a name long enough to be cut somewhere in a row",
        }
    )
    entry = Entry(agent, conversation)
    entry.unread = unread
    now = time.time()
    first, preview = row(entry, now, 3, width).plain.split("\n")
    assert len(first) == width
    assert len(preview) <= width
    match = ROW_END.search(first.rstrip())
    assert match is not None, first
    if unread:
        assert match.group(4) == (str(unread) if unread < 1000 else "999+")
