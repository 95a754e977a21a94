"""Enters in one terminal read send once: on the server once, on the screen once.

The app as a process on a pseudo-terminal against a demo server in its own
process (so it is a server like the real one, and the first send of the run
asks "Send to a customer?"), fed the bytes a fast double press or a laggy link
delivers in one read; the server's own list of messages is the judge.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from bimpe_tui.demo import DEMO_API_KEY
from bimpe_tui.demo.server import API_PREFIX
from bimpe_tui.screens.ids import TITLE as IDS_TITLE
from tests.processes import demo_server_process
from tests.pty.test_real_terminal import LIST_TITLE, log_lines, open_row, rows
from tests.terminal import Terminal


def shown(t: Terminal, text: str) -> int:
    """How many times the log shows `text`."""
    return sum(line.count(text) for line in log_lines(t))


async def test_enters_in_one_read_send_once(tmp_path: Path) -> None:
    async with demo_server_process(tmp_path, "--rate", "0.05") as server:
        args = ["--base-url", server.base_url, "--state-file", str(tmp_path / "state.toml")]
        env = {"BIMPEAI_API_KEY": DEMO_API_KEY}
        async with Terminal(args, cols=200, rows=50, home=tmp_path, env=env) as t:
            await t.shows(LIST_TITLE)
            await t.shows("● live")
            await t.wait_for(lambda: len(rows(t)) >= 5)
            await open_row(t, 1)
            t.send("i")
            await t.shows(IDS_TITLE)
            found = re.search(r"bimpe-tui tail (\S+) (\S+)", t.text)
            assert found is not None, t.text
            agent_id, conversation_id = found.groups()
            t.send("escape")
            await t.wait_for(lambda: IDS_TITLE not in t.text)
            # Take over and reply, then two enters in one read under the question.
            t.send("c")
            await t.shows("The AI is answering")
            t.send("tab", "enter")
            await t.shows("╭─ reply")
            t.send("dup-check-1")
            await t.shows("dup-check-1")
            t.send(b"\r\r")
            await t.shows("Send to a customer?")
            t.send("tab", "enter")
            await t.wait_for(lambda: "Send to a customer?" not in t.text)
            await t.wait_for(lambda: shown(t, "dup-check-1") == 1 and "sending…" not in t.text)
            # Asked once per run: now three enters in one read, no question.
            t.send("dup-check-2", b"\r\r\r")
            await t.wait_for(lambda: shown(t, "dup-check-2") == 1 and "sending…" not in t.text)
            assert "Send to a customer?" not in t.text
            headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
            url = (
                f"{server.base_url}{API_PREFIX}/agents/{agent_id}"
                f"/conversations/{conversation_id}/messages"
            )
            async with httpx.AsyncClient(headers=headers) as client:
                answer = await client.get(url, params={"limit": 100})
            texts = [m.get("message") for m in answer.json()["data"]]
            assert texts.count("dup-check-1") == 1
            assert texts.count("dup-check-2") == 1
            assert shown(t, "dup-check-1") == 1
            assert shown(t, "dup-check-2") == 1
            t.send("escape")  # out of the reply box, where q is a letter
            await t.wait_for(lambda: "╭─ reply" not in t.text)
            t.send("q")
            assert await t.ended() == 0
