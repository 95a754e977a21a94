"""Text that matched a highlight rule is marked in the log, exactly where it matched."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from bimpe_tui.alerts import AlertRules
from bimpe_tui.api.models import Message
from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.config import AlertSettings
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.render import HIGHLIGHT_STYLE, message_row
from bimpe_tui.state import StateStore
from tests.apptools import FakeClock, ready, until


def message(text: str, mid: str = "m_1") -> Message:
    return Message.from_api(
        {"id": mid, "role": "customer", "message": text, "created_at": "2026-11-20T09:00:00Z"}
    )


def highlighted(body: Text) -> list[str]:
    return [body.plain[s.start : s.end] for s in body.spans if str(s.style) == HIGHLIGHT_STYLE]


def test_spans_mark_the_raw_text_even_after_characters_change_width() -> None:
    text = "\tTab\x1b[31m then order 12345, and ORDER 99999 again"
    rules = AlertRules(AlertSettings(regexes=(r"order \d{5}",)))
    match = rules.match_message(message(text), False)
    assert match is not None
    _, _, body = message_row(message(text), highlights=match.spans)
    # The tab became spaces and ESC a visible stand-in, yet the marks sit on the matches.
    assert highlighted(body) == ["order 12345", "ORDER 99999"]
    assert "␛" in body.plain


def test_no_spans_no_marks_and_spans_past_the_shown_text_are_dropped() -> None:
    _, _, body = message_row(message("plain words"))
    assert highlighted(body) == []
    _, _, body = message_row(message("short"), highlights=((2, 4), (50, 60)))
    assert highlighted(body) == ["or"]


async def test_the_log_marks_matches_of_new_messages(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = BimpeApp(
        AppConfig(
            state=StateStore(tmp_path / "state.toml", debounce=0.05),
            demo=server,
            stream_options={"base_delay": 0.05, "read_timeout": 10.0},
            clock=clock,
            alerts=AlertSettings(words=("order",), notify="none"),
        )
    )
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        current = app.monitor.current
        assert current is not None
        entry = app.monitor.book.entries[current]
        clock.advance(600, server)
        await until(pilot, lambda: bool(entry.highlights))
        matched = next(iter(entry.highlights))
        assert any(
            isinstance(m, Message) and m.id == matched and "order" in (m.message or "").lower()
            for m in entry.timeline.items
        )
        log = app.main.log_view.lines

        def marked() -> bool:
            return any(
                seg.text.lower() == "order" and seg.style is not None and seg.style.reverse
                for strip in log.lines
                for seg in strip
            )

        await until(pilot, marked)
