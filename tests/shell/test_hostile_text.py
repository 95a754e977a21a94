"""Hostile text: shown literally and safely, never interpreted, never breaking the layout.

First at the render level (`render.message_row` and friends, drawn by Rich at a
fixed width), then in the real app (`App.run_test`) against a loopback server
whose agents, conversations and messages are hostile, checking the Strips the
widgets render and an exported screenshot. Last, `bimpe-tui tail`'s output.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.markup import MarkupError
from textual.widgets._toast import Toast

from bimpe_tui.api.models import Agent, Conversation, Message
from bimpe_tui.book import Entry
from bimpe_tui.config import read_config
from bimpe_tui.render import (
    MAX_SHOWN_CHARS,
    MAX_SHOWN_LINES,
    local_time,
    marker_text,
    message_row,
    message_text,
    one_line,
    relative_time,
    visible,
)
from bimpe_tui.screens.help import HelpScreen
from bimpe_tui.state import StateStore
from bimpe_tui.widgets.picker import row
from tests.apptools import hostile_app, ready, strip_texts, until, widget_lines
from tests.loopback import (
    API_KEY,
    Canned,
    Reply,
    agent,
    conversation,
    envelope,
    error_body,
    message,
    sse_frame,
)
from tests.loopback import LoopbackServer as HostileServer
from tests.loopback import LoopbackServer as ScriptedServer

#: What must never reach a terminal from the content: C0 but newline, DEL, C1,
#: and lone surrogates.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: In a rendered line (a Strip), not even a newline.
UNSAFE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: In an SVG screenshot: newlines are the file's own.
UNSAFE_IN_SVG = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

HOSTILE = {
    "rich markup": "[bold]x[/] [link=https://evil]y[/] [/] [red",
    "ansi csi": "\x1b[31mred\x1b[0m \x1b[2J\x1b[H\x1b[?1049h",
    "osc title": "\x1b]0;pwned\x07 and \x1b]2;again\x1b\\",
    "osc 8 link": "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",
    "c0 controls": "bel\x07 bs\x08 cr\r vt\x0b ff\x0c nul\x00 esc\x1b so\x0e",
    "del and c1": "del\x7f csi\x9b31m osc\x9d0;t\x9c nel\x85 ss3\x8f",
    "bidi overrides": "abc\u202edcba\u202c \u2066x\u2069 \u202dy\u202c",
    "right to left": "שלום עולם — مرحبا بالعالم",
    "combining": "a\u0301\u0302\u0303 e" + "\u0300" * 60,
    "emoji": "👨‍👩‍👧 ❤️ 🏳️‍🌈 🇳🇬 👍🏽 👩🏾‍💻",
    "wide": "世界" * 60,
    "tabs": "\tindented\ttab",
    "lone surrogates": "\ud800 lone \udfff",
    "separators": "a\u2028b\u2029c\x1c\x1d\x1e",
    "long word": "w" * 3000,
}
#: Shown exactly as sent: nothing in them needs a stand-in.
LITERAL = ("rich markup", "right to left", "combining", "wide")


def plain_lines(renderable: RenderableType, width: int) -> list[list[Segment]]:
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    return console.render_lines(renderable, console.options.update_width(width), pad=False)


def as_grid(msg: Message) -> Table:
    # The same grid the message log draws each message in.
    grid = Table.grid(padding=(0, 1))
    grid.add_column("time", no_wrap=True)
    grid.add_column("role", no_wrap=True, justify="right", min_width=8)
    grid.add_column("text", ratio=1, overflow="fold")
    grid.add_row(*message_row(msg, tz=UTC, now=datetime(2026, 11, 20, tzinfo=UTC)))
    return grid


def assert_lines_safe(renderable: RenderableType, width: int) -> list[str]:
    texts = []
    for line in plain_lines(renderable, width):
        assert Segment.get_line_length(line) <= width
        text = "".join(segment.text for segment in line)
        assert not UNSAFE_IN_LINE.search(text), repr(text)
        texts.append(text)
    return texts


def links(text: Text) -> list[str]:
    out = []
    for span in text.spans:
        style = span.style
        if isinstance(style, Style) and style.link:
            out.append(style.link)
    return out


async def until_up(pilot: Any, predicate: Any, limit: float = 15.0) -> None:
    """Wait until `predicate()` holds or the app died: an expected crash fails fast.

    (Pilot.pause() waits seconds for a screen that crashed, so this waits on
    the app's own update event instead.)
    """
    app = pilot.app
    async with asyncio.timeout(limit):
        while app._exception is None and app.is_running and not predicate():
            app.updated.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(app.updated.wait(), 0.05)


def hostile_message(text: str, **fields: Any) -> Message:
    return Message.from_api(
        {"id": "m_1", "role": "customer", "created_at": "", **fields, "message": text}
    )


# -- render level -------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_message_text_is_shown_safely_and_literally(text: str) -> None:
    msg = hostile_message(text)
    when, who, body = message_row(msg, tz=UTC)
    for cell in (when, who, body):
        assert not UNSAFE.search(cell.plain), repr(cell.plain)
    assert links(body) == []
    for width in (20, 60, 120):
        assert_lines_safe(as_grid(msg), width)
        assert_lines_safe(message_text(msg, tz=UTC), width)


@pytest.mark.parametrize("name", LITERAL)
def test_harmless_unicode_and_markup_are_shown_exactly_as_sent(name: str) -> None:
    text = HOSTILE[name]
    assert visible(text) == text
    assert message_row(hostile_message(text), tz=UTC)[2].plain == text


def test_control_characters_become_visible_symbols() -> None:
    assert visible("a\x1b[31mb\x07\x00\x7f") == "a␛[31mb␇␀␡"
    assert visible("\x9b\u202e\u2066\ud800") == "<U+009B><U+202E><U+2066><U+D800>"
    assert visible("line\nnext\tcol") == "line\nnext    col"
    visible("\ud800\udfff").encode("utf-8")  # strict


def test_one_megabyte_of_text_is_cut_with_a_note() -> None:
    text = "é" * 1_000_000
    body = message_row(hostile_message(text))[2]
    assert len(body.plain) < MAX_SHOWN_CHARS + 100
    assert f"({1_000_000 - MAX_SHOWN_CHARS:,} more characters not shown)" in body.plain
    assert len(assert_lines_safe(as_grid(hostile_message(text)), 60)) < 200


def test_a_megabyte_of_newlines_costs_a_bounded_number_of_rows() -> None:
    text = "\n" * 1_000_000
    msg = hostile_message(text)
    body = message_row(msg)[2]
    assert "more characters not shown" in body.plain
    rows = assert_lines_safe(as_grid(msg), 60)
    assert len(rows) <= MAX_SHOWN_LINES + 2


def test_a_megabyte_of_combining_marks_and_escapes_stays_bounded() -> None:
    for text in ("a" + "\u0301" * 1_000_000, "\x1b[31m" * 200_000, "\u202e" * 1_000_000):
        body = message_row(hostile_message(text))[2]
        assert "more characters not shown" in body.plain
        assert len(body.plain) < 10 * MAX_SHOWN_CHARS
        assert not UNSAFE.search(body.plain)


def test_role_and_type_badge_are_one_short_visible_line() -> None:
    msg = hostile_message("hi", role="\x1b[31m[bold]ad\nmin" + "x" * 100, message_type="\x07img\n")
    _, who, body = message_row(msg)
    assert len(who.plain) <= 16
    assert "[bold]" in who.plain
    assert not UNSAFE_IN_LINE.search(who.plain)
    assert "␇img" in body.plain
    assert not UNSAFE_IN_LINE.search(body.plain.split(" hi")[0])


def test_attachments_link_only_clean_http_urls() -> None:
    msg = Message.from_api(
        {
            "id": "m_1",
            "role": "customer",
            "created_at": "",
            "attachments": [
                {"type": "image", "url": "https://cdn.example/a.png"},
                {"type": "file", "url": "javascript:alert(1)"},
                {"type": "\x1b[31mfile", "url": "https://evil/\x1b]8;;http://x\x1b\\"},
                {"type": "file", "url": "https://long/" + "u" * 1_000_000},
            ],
        }
    )
    body = message_row(msg)[2]
    assert links(body) == ["https://cdn.example/a.png"]
    assert "javascript:alert(1)" in body.plain  # shown, not clickable
    assert "https://evil/␛]8;;http://x␛\\" in body.plain
    assert len(body.plain) < 2000
    assert not UNSAFE.search(body.plain)


def test_a_thousand_attachments_are_summed_up() -> None:
    attachments = [{"type": "image", "url": f"https://x/{i}.png"} for i in range(1000)]
    msg = Message.from_api(
        {"id": "m", "role": "user", "created_at": "", "attachments": attachments}
    )
    body = message_row(msg)[2]
    assert "more attachments not shown" in body.plain
    assert body.plain.count("\n") < 30


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59+00:00",
        "2026-13-45T99:99:99Z",
        "yesterday",
        "\x1b[31m",
        "",
    ],
)
def test_hostile_times_never_crash(when: str) -> None:
    msg = hostile_message("hi", created_at=when)
    assert not UNSAFE.search(local_time(msg.created_at, UTC))
    assert not UNSAFE.search(local_time(msg.created_at, None))
    message_row(msg, tz=None)
    assert not UNSAFE.search(relative_time(msg.created_at, 1_795_165_200.0))


def test_markers_are_one_visible_line() -> None:
    label = "gap possible — \x1b]0;x\x07\n" + "[bold]z[/]" * 1000
    text = marker_text(label)
    assert "\n" not in text.plain
    assert not UNSAFE.search(text.plain)
    assert "[bold]z[/]" in text.plain
    assert len(text.plain) < 600


def test_previews_are_one_bounded_visible_line() -> None:
    for text in HOSTILE.values():
        line = one_line(text, 40)
        assert len(line) <= 40
        assert not UNSAFE_IN_LINE.search(line)


def hostile_entry(name: str, who: str, preview: str, channel: str = "webchat") -> Entry:
    return Entry(
        agent=Agent.from_api({"id": "ag", "name": name}),
        conversation=Conversation.from_api(
            {
                "id": "c\x1b[31m",
                "channel_type": channel,
                "channel_user_username": who,
                "last_message_preview": preview,
                "last_message_at": "9999-12-31T23:59:59-23:59",
                "needs_attention": True,
            }
        ),
    )


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_picker_rows_of_hostile_conversations_fit_and_are_safe(text: str) -> None:
    entry = hostile_entry(text, text, text, channel=text)
    for width in (20, 40):
        rendered = row(entry, 1_795_165_200.0, 1, width)
        assert rendered.plain.count("\n") == 1
        for line in rendered.plain.split("\n"):
            assert not UNSAFE_IN_LINE.search(line), repr(line)
        assert_lines_safe(rendered, width)
        assert len(plain_lines(rendered, width)) == 2


# -- the real app against a hostile server -----------------------------------------------

SAFE_AGENT = agent("ag_safe", "Support desk")


def safe_conversation(**extra: Any) -> dict[str, Any]:
    # Needs attention, so the app opens it first.
    return conversation("c_safe", needs_attention=True, **extra)


def history() -> list[dict[str, Any]]:
    items = [message(f"m_{i}", text) for i, text in enumerate(HOSTILE.values())]
    items.append(message("m_big", "🙂 " + "x" * 1_000_000))
    items.append(message("m_lines", "\n" * 100_000 + "end"))
    items.append(message("m_edge_time", "when?", created_at="9999-12-31T23:59:59-23:59"))
    items.append(
        message(
            "m_att",
            "",
            message_type="\x1b[7mimage",
            attachments=[{"type": "image", "url": "https://x/\x1b[31m.png"}] * 50,
        )
    )
    return items


def live_frames() -> list[bytes]:
    return [
        sse_frame(message("m_live_1", "\x1b[2J\x1b[H live \x1b]0;pwned\x07 [blink]b[/]")),
        sse_frame(b'{"id": "m_live_2", "message": "\\ud800 \\u009b6n \\u0000"}'),
    ]


def assert_app_screen_safe(app: Any) -> str:
    svg: str = app.export_screenshot()
    assert not UNSAFE_IN_SVG.search(svg)
    return svg


@pytest.fixture
async def hostile() -> Any:
    async with HostileServer() as server:
        yield server


async def test_hostile_messages_in_the_app_are_literal_safe_and_fit(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.add(SAFE_AGENT, safe_conversation(), history(), live_frames())
    app = hostile_app(hostile, tmp_path / "state.toml")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        entry = app.monitor.book.entries["c_safe"]
        await until(
            pilot, lambda: "m_live_2" in [getattr(i, "id", None) for i in entry.timeline.items]
        )
        await pilot.pause()
        log = app.main.log_view.lines
        texts = strip_texts(log.lines)
        for strip, text in zip(log.lines, texts, strict=True):
            assert not UNSAFE_IN_LINE.search(text), repr(text)
            assert strip.cell_length <= log.scrollable_content_region.width
        joined = "\n".join(texts)
        assert "[bold]x[/] [link=https://evil]y[/]" in joined
        assert "␛[2J␛[H live ␛]0;pwned␇ [blink]b[/]" in joined
        assert "\\ud800 <U+009B>6n ␀" in joined
        assert "more characters not shown" in joined
        assert "--:--:--" in joined
        assert len(texts) < 2000
        assert_app_screen_safe(app)
        # Still responsive: keys work after all that.
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)


async def test_hostile_names_and_previews_in_the_picker(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.add(SAFE_AGENT, safe_conversation())
    for number, text in enumerate(HOSTILE.values()):
        hostile.add(
            agent("ag_evil", "[bold]Evil[/] \x1b]0;agent\x07 \u202eagent", status="\x1b[5mlive"),
            conversation(
                f"c_{number}",
                channel_user_username=text,
                channel_type=text[:20],
                last_message_preview=text,
                last_message_at="0001-01-01T00:00:00+23:59",
            ),
        )
    app = hostile_app(hostile, tmp_path / "state.toml")
    async with app.run_test(size=(140, 60)) as pilot:
        await until(pilot, ready(app))
        assert len(app.order) == len(HOSTILE) + 1
        options = app.main.picker.options
        strips = widget_lines(options)
        texts = strip_texts(strips)
        for strip, text in zip(strips, texts, strict=True):
            assert not UNSAFE_IN_LINE.search(text), repr(text)
            assert strip.cell_length <= options.size.width
        joined = "\n".join(texts)
        assert "[bold]Evil[/] ␛]0;agent␇ <U+202E>agent" in joined
        assert "[bold]x[/]" in joined
        assert_app_screen_safe(app)
        # Every hostile conversation can be opened (by the key a user presses),
        # its title and log stay safe, and the app stays up.
        opened: list[str] = []
        for _ in range(len(app.order)):
            await pilot.press("right_square_bracket")
            current = app.monitor.current
            assert current is not None
            opened.append(current)
            await until(pilot, lambda c=current: app.monitor.book.entries[c].history_loaded)  # type: ignore[misc]
            await pilot.pause()
            title = app.main.log_view.border_title or ""
            assert not UNSAFE_IN_LINE.search(str(title))
            for text in strip_texts(app.main.log_view.lines.lines):
                assert not UNSAFE_IN_LINE.search(text)
            assert_app_screen_safe(app)
        assert set(opened) == set(app.monitor.book.entries)
        assert app.is_running


async def test_hostile_errors_in_the_footer_and_timeline_are_spelled_out(
    hostile: HostileServer, tmp_path: Path
) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J [link=https://evil]x[/] \u202eoops\n" + "e" * 5000
    hostile.add(SAFE_AGENT, safe_conversation())
    hostile.canned["messages"].append(Canned(409, error_body(evil, "conflict")))
    app = hostile_app(hostile, tmp_path / "state.toml")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        texts = strip_texts(app.main.log_view.lines.lines)
        assert any("history unavailable: HTTP 409 conflict: \\x1b]0;pwned" in t for t in texts)
        for text in texts:
            assert not UNSAFE_IN_LINE.search(text)
        assert_app_screen_safe(app)

    hostile.canned["agents"].append(Canned(409, error_body(evil, "conflict")))
    app = hostile_app(hostile, tmp_path / "state2.toml")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: "cannot list" in app.main.status_footer.state_words)
        await pilot.pause()
        footer = strip_texts(widget_lines(app.main.status_footer))
        assert "[link=https://evil]x[/]" in footer[0]
        assert not UNSAFE_IN_LINE.search(footer[0])
        assert_app_screen_safe(app)


async def test_a_hostile_id_from_the_stream_is_saved_in_the_state_file(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.add(
        SAFE_AGENT,
        safe_conversation(),
        [message("m_0")],
        [sse_frame(b'{"id": "m_\\ud800\\u0000\\"x\\"\\n", "message": "hi"}')],
    )
    path = tmp_path / "state.toml"
    app = hostile_app(hostile, path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        await until(
            pilot,
            lambda: app.monitor.saved.cursors["c_safe"].received == 'm_\\ud800\x00"x"\n',
        )
        assert await app.monitor.state.flush()
    again = StateStore(path)
    assert again.load() == []
    assert again.server(hostile.base_url).cursors["c_safe"].received == 'm_\\ud800\x00"x"\n'


async def test_log_lines_never_overflow_a_narrow_log(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.add(
        SAFE_AGENT, safe_conversation(), [message("m_1", "short"), message("m_2", "w" * 500)]
    )
    app = hostile_app(hostile, tmp_path / "state.toml")
    async with app.run_test(size=(110, 30)) as pilot:
        await until(pilot, ready(app))
        log = app.main.log_view.lines
        assert log.scrollable_content_region.width < 78
        for strip in log.lines:
            assert strip.cell_length <= log.scrollable_content_region.width


TITLES = {
    "markup": ("[link=https://evil]who[/]", MarkupError),
    "escape": ("\x1b]0;pwned\x07 who \x1b[31m", AssertionError),
}


@pytest.mark.parametrize(("who", "error"), TITLES.values(), ids=TITLES.keys())
async def test_a_hostile_username_in_the_log_title(
    hostile: HostileServer, tmp_path: Path, who: str, error: type[Exception], request: Any
) -> None:
    hostile.add(SAFE_AGENT, safe_conversation())
    hostile.add(agent("ag_2", "[bold]agent"), conversation("c_evil", channel_user_username=who))
    app = hostile_app(hostile, tmp_path / "state.toml")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        await pilot.press("right_square_bracket")
        await until_up(pilot, lambda: app.monitor.current == "c_evil" and ready(app)())
        title = app.main.log_view._border_title
        assert title is not None
        assert visible(who)[:9] in title.plain
        assert "[bold]agent" in title.plain
        assert not UNSAFE_IN_LINE.search(title.plain)
        assert_app_screen_safe(app)


async def test_a_hostile_error_in_a_notification_is_shown_literally(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.add(SAFE_AGENT, safe_conversation())
    # A first page that promises more, then an error for the next one.
    first_page = envelope([safe_conversation()], has_next_page=True)
    hostile.canned["conversations"].extend(
        [
            Canned(200, first_page),
            Canned(409, error_body("[link=https://evil]gone[/] [bold]", "conflict")),
        ]
    )
    app = hostile_app(hostile, tmp_path / "state.toml")
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await until(pilot, ready(app))
        assert "ag_safe" in app.monitor.book.more_pages
        # What choosing "… load more conversations" does:
        app.run_worker(app.monitor.load_more("ag_safe"))
        await until_up(pilot, lambda: bool(app.screen.query(Toast)))
        assert app.is_running
        assert any("cannot load more" in n.message for n in app._notifications)
        await pilot.pause()  # the toast is mounted; let it be painted
        svg = assert_app_screen_safe(app)
        assert "[link=https://evil]gone[/]" in svg.replace("&#160;", " ")


async def test_a_config_warning_with_brackets_does_not_crash_the_app(
    hostile: HostileServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('"[link=https://evil]x" = 1\n')
    config.chmod(0o600)
    _, warnings = read_config(config)
    assert any("[link=https://evil]x" in w for w in warnings)
    hostile.add(SAFE_AGENT, safe_conversation())
    app = hostile_app(hostile, tmp_path / "state.toml")
    app.config.warnings.extend(warnings)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await until_up(pilot, lambda: ready(app)() and bool(app.screen.query(Toast)))
        assert app.is_running
        assert_app_screen_safe(app)


# -- bimpe-tui tail ------------------------------------------------------------------------


async def run_tail(
    scripted: ScriptedServer, tmp_path: Path, *chunks: bytes
) -> tuple[int, bytes, str]:
    scripted.add_streams([Reply(chunks=list(chunks), then="end")])
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "BIMPEAI_API_KEY": API_KEY,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bimpe_tui",
        "tail",
        "--base-url",
        scripted.base_url,
        "--no-reconnect",
        "ag_1",
        "c_1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out, err.decode("utf-8", "replace")


async def test_tail_escapes_c0_controls_in_its_json_lines(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    payload = {"id": "m_1", "message": "\x1b]0;pwned\x07\x1b[2J\x00 [bold]x[/]"}
    code, out, err = await run_tail(scripted, tmp_path, sse_frame(payload))
    assert code == 0, err
    assert not re.search(rb"[\x00-\x09\x0b-\x1f]", out)
    assert json.loads(out.decode().splitlines()[0]) == payload


async def test_tail_never_writes_raw_c1_controls(scripted: ScriptedServer, tmp_path: Path) -> None:
    payload = {"id": "m_1", "message": "\u009b31mred \u009d0;pwned\u009c \u007f"}
    code, out, err = await run_tail(scripted, tmp_path, sse_frame(payload))
    assert code == 0, err
    text = out.decode("utf-8")
    assert not re.search("[\x7f-\x9f]", text)
    assert json.loads(text.splitlines()[0]) == payload


async def test_tail_survives_a_lone_surrogate(scripted: ScriptedServer, tmp_path: Path) -> None:
    hostile_frame = sse_frame(b'{"id": "m_1", "message": "\\ud800"}')
    code, out, err = await run_tail(scripted, tmp_path, hostile_frame, sse_frame(message("m_2")))
    assert "Traceback" not in err
    assert code == 0
    assert [json.loads(line)["id"] for line in out.decode().splitlines()] == ["m_1", "m_2"]
