"""j and k in the log, through a real pseudo-terminal (the harness of test_real_terminal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pty.test_real_terminal import SIZES, demo, log_lines, open_long_row, to_first_message


@pytest.mark.parametrize("size", SIZES)
async def test_j_and_k_scroll_the_log(size: tuple[int, int], tmp_path: Path) -> None:
    async with demo(tmp_path, size, still=True, rate="0.001") as t:
        await open_long_row(t)
        t.send("l")  # the log has the keys now
        await to_first_message(t)
        top = log_lines(t)
        # A line down, and back up: as down and up do.
        t.send("j")
        await t.wait_for(lambda: log_lines(t)[0] == top[1])
        t.send("j")
        await t.wait_for(lambda: log_lines(t)[0] == top[2])
        t.send("k")
        await t.wait_for(lambda: log_lines(t)[0] == top[1])
