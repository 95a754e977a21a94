"""The waits on screen: a row says how long its customer has waited, the list sums it up."""

from __future__ import annotations

from pathlib import Path

from bimpe_tui.api.outcomes import parse_timestamp
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.waits import wait_words
from tests.apptools import FakeClock, make_app, ready, until


async def test_a_waiting_customer_shows_in_the_row_and_under_the_list(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        book = app.monitor.book
        needing = [e for e in book.entries.values() if e.conversation.needs_attention]
        assert needing, "the demo world has a conversation that needs attention"
        entry = needing[0]
        app.monitor.open(entry.id)
        await until(pilot, lambda: entry.history_loaded)
        since = entry.wait_for_a_person()
        assert since is not None
        # The test's own reading of the wait: the first customer message after the
        # last staff one, among the messages the timeline holds.
        messages = entry.timeline.messages()
        staff = [i for i, m in enumerate(messages) if m.role == "restaurant_user"]
        after = messages[staff[-1] + 1 :] if staff else messages
        first = next(m for m in after if m.role in ("customer", "user"))
        start = parse_timestamp(first.created_at)
        assert start is not None
        assert start.timestamp() == since
        words = wait_words(since, clock())
        assert words.startswith("waiting ")
        picker = app.main.picker
        await until(pilot, lambda: words in str(picker.options.get_option(entry.id).prompt))
        await until(pilot, lambda: "longest wait" in str(picker.border_subtitle))
        assert "need" in str(picker.border_subtitle)
        assert str(picker.border_title).startswith("Conversations (")
