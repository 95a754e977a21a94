"""The restart soak's state check (soak/restarts.py), on state files written by hand."""

from __future__ import annotations

from pathlib import Path

import tomli_w

from bimpe_tui.demo.world import DemoWorld
from soak.restarts import RATE, SEED, Report, check_state

KEY = "http://127.0.0.1:1"


def write_state(path: Path, conversation_id: str, agent_id: str, received: str) -> None:
    conversations = {conversation_id: {"agent_id": agent_id, "received": received}}
    path.write_text(
        tomli_w.dumps({"version": 1, "servers": {KEY: {"conversations": conversations}}})
    )


def test_a_first_cursor_with_nothing_delivered_sets_where_delivery_must_start(
    tmp_path: Path,
) -> None:
    # A first open saves the message before its page, then records the page:
    # killed in between, the cursor stands alone. Not a problem in itself, but
    # everything after it must come.
    world = DemoWorld(seed=SEED, rate=RATE)
    agent_id, conversation_id = world.conversation_ids()[0]
    before_page = world.message(conversation_id, 10).id
    path = tmp_path / "state.toml"
    write_state(path, conversation_id, agent_id, before_page)
    report = Report()
    check_state(path, KEY, world, report)
    assert report.problems == []
    assert report.starts == {conversation_id: 11}


def test_a_cursor_past_what_was_delivered_is_a_problem(tmp_path: Path) -> None:
    world = DemoWorld(seed=SEED, rate=RATE)
    agent_id, conversation_id = world.conversation_ids()[0]
    path = tmp_path / "state.toml"
    write_state(path, conversation_id, agent_id, world.message(conversation_id, 10).id)
    report = Report()
    report.delivered[conversation_id] = {8, 9}
    check_state(path, KEY, world, report)
    assert len(report.problems) == 1
    assert "past every delivered message" in report.problems[0]
