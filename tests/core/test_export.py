"""Export to Markdown and JSON Lines: text as sent, no forged structure, every page, no key."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bimpe_tui.api.client import ConsoleClient
from bimpe_tui.api.models import Message, decode_message
from bimpe_tui.demo.server import DEMO_API_KEY, DemoServer
from bimpe_tui.demo.world import DemoWorld
from bimpe_tui.export import (
    ExportHeader,
    atomic_text_file,
    export_conversation,
    export_file_name,
    export_messages,
    format_for_path,
    jsonl_message,
    markdown_message,
)
from bimpe_tui.export_cli import ProgressReport
from tests.processes import CLI, child_env, demo_server_process

#: Texts a customer could send to forge structure, hide text or act on a terminal.
HOSTILE_TEXTS = [
    "# I am a heading\n## and so am I\n---\nSetext heading\n===",
    "```\nclosing your fence\n```\n# free at last",
    "````` five backticks ````` and `one`",
    '<script>alert(1)</script> <img src=x onerror="alert(2)"> <!-- comment',
    "[click me](javascript:alert(1)) ![img](http://evil.example/x.png) <http://evil.example>",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "*bold* _it_ ~~gone~~ \\escaped &amp; &lt;b&gt; https://auto.link www.example.com",
    "    indented code?\n> a quote\n- a list\n1. numbered",
    "red \x1b[31mALERT\x1b[0m, bell \x07, right-to-left \u202eevil\u202c, CR\rLF",
    "Olá 你好 مرحبا 😍 👩🏽‍💻 🇬🇭",
]
CONTROLS = {
    "\x1b": "\u241b",
    "\x07": "\u2407",
    "\r": "\u240d",
    "\u202e": "<U+202E>",
    "\u202c": "<U+202C>",
}


def msg(text: str | None, role: str = "customer", **extra: Any) -> Message:
    raw: dict[str, Any] = {
        "id": "m_1",
        "role": role,
        "message": text,
        "message_type": "text",
        "created_at": "2026-11-23T10:00:00.000Z",
        **extra,
    }
    return Message.from_api(raw)


def tokens(markdown: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(markdown)


def shown(text: str) -> str:
    for char, stand_in in CONTROLS.items():
        text = text.replace(char, stand_in)
    return text


def inline_text(token: Token) -> str:
    assert token.children is not None
    return "".join(child.content for child in token.children)


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_markdown_keeps_the_text_and_lets_it_forge_nothing(text: str) -> None:
    found = tokens(markdown_message(msg(text)))
    kinds = [t.type for t in found]
    # One heading (the message's own), one fence holding the text, nothing else.
    assert kinds == ["heading_open", "inline", "heading_close", "fence"]
    assert found[3].content == shown(text) + "\n"
    assert all(ch not in found[3].content for ch in CONTROLS)


@pytest.mark.parametrize(
    "role",
    [
        "customer\n# forged heading",
        "<b>staff</b>",
        "[agent](https://evil.example) `code` *x*",
        "support: https://evil.example #",
    ],
)
def test_a_hostile_role_stays_inside_its_heading_as_plain_text(role: str) -> None:
    found = tokens(markdown_message(msg("hello", role=role)))
    assert [t.type for t in found] == ["heading_open", "inline", "heading_close", "fence"]
    heading = found[1]
    assert heading.children is not None
    # Plain text and the id's code span, no link, no HTML, no emphasis.
    assert {c.type for c in heading.children} <= {"text", "code_inline", "softbreak"}
    assert inline_text(heading).startswith(role.replace("\n", " ") + " · ")


def test_attachments_are_listed_as_code_never_as_links() -> None:
    message = msg(
        None,
        message_type="image",
        attachments=[{"type": "image", "url": "javascript:alert(1)`x`"}],
    )
    markdown = markdown_message(message)
    found = tokens(markdown)
    assert "link_open" not in [t.type for t in found]
    assert "*(no text)*" in markdown
    codes = [
        child.content
        for t in found
        if t.type == "inline" and t.children
        for child in t.children
        if child.type == "code_inline"
    ]
    assert "javascript:alert(1)`x`" in codes
    assert "m_1" in codes


def test_the_header_escapes_what_the_server_names() -> None:
    header = ExportHeader("ag_1", "c_1", who="# <who> [x](y)", channel="whatsapp")
    found = tokens(header.markdown())
    headings = [t for t in found if t.type == "heading_open"]
    assert len(headings) == 1
    title = found[1]
    assert inline_text(title) == "Conversation with # <who> [x](y)"
    assert "link_open" not in [t.type for t in found]
    assert "html_inline" not in [c.type for t in found if t.children for c in t.children]


def test_jsonl_is_the_payload_as_received_escaping_only_what_a_terminal_acts_on() -> None:
    payload = (
        '{"id":"m_1","conversation_id":"c_1","role":"customer",'
        '"message":"Olá 😍 \u0085 \u202e","created_at":"2026-11-23T10:00:00.000Z"}'
    )
    line = jsonl_message(decode_message(payload.encode()))
    assert line.endswith("\n")
    assert line.count("\n") == 1
    assert "Olá 😍" in line
    assert "\u0085" not in line
    assert "\u202e" not in line
    assert json.loads(line) == json.loads(payload)
    # Compact history items keep their order and values; a lone surrogate (JSON can
    # carry one, UTF-8 cannot) is written as an escape, equal once decoded.
    history = {"id": "m_2", "role": "assistant", "message": "a\ud800b", "extra": [1, None]}
    line = jsonl_message(Message.from_api(history))
    line.encode("utf-8")
    assert json.loads(line) == history
    assert list(json.loads(line)) == list(history)
    assert jsonl_message(Message.from_api({"id": "m_3", "role": "x"})) == (
        '{"id":"m_3","role":"x"}\n'
    )


def test_the_format_follows_the_file_name() -> None:
    assert format_for_path("out.JSONL") == "jsonl"
    assert format_for_path("out.ndjson") == "jsonl"
    assert format_for_path("out.md") == "md"
    assert format_for_path(None) == "md"


def test_export_messages_writes_the_loaded_range_with_progress() -> None:
    world = DemoWorld(seed=7, clock=lambda: 1_795_000_000.0)
    _, conv = world.conversation_ids()[0]
    loaded = [Message.from_api(world.message(conv, i).to_api()) for i in range(40, 90)]
    out = io.StringIO()
    calls: list[tuple[int, int | None]] = []
    header = ExportHeader("ag", conv, scope="messages loaded in the app")
    written = export_messages(
        out, "md", loaded, header=header, total=50, progress=lambda *a: calls.append(a), batch=20
    )
    assert written == 50
    assert calls == [(20, 50), (40, 50), (50, 50)]
    found = tokens(out.getvalue())
    fences = [t.content for t in found if t.type == "fence"]
    assert fences == [str(m.message) + "\n" for m in loaded]
    with pytest.raises(ValueError, match="unknown export format"):
        export_messages(out, "html", loaded)  # type: ignore[arg-type]


@pytest.fixture
async def api(server: DemoServer) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server.api_key, server.base_url) as client:
        yield client


async def test_a_whole_conversation_from_its_first_message(
    server: DemoServer, api: ConsoleClient
) -> None:
    world = server.world
    agent, conv = max(
        world.conversation_ids()[:15],
        key=lambda p: world.latest_index(p[1]) if p != world.long_conversation() else -1,
    )
    latest = world.latest_index(conv)
    assert latest > 250
    calls: list[tuple[int, int | None]] = []
    out = io.StringIO()
    written = await export_conversation(
        api, agent, conv, out, "jsonl", progress=lambda *a: calls.append(a), page_size=100
    )
    assert written == latest + 1
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [
        world.message(conv, i).to_api() for i in range(latest + 1)
    ]
    assert [c[0] for c in calls] == sorted(
        {min(n, latest + 1) for n in range(100, latest + 100, 100)}
    )
    assert all(total == latest + 1 for _, total in calls)
    markdown = io.StringIO()
    assert await export_conversation(api, agent, conv, markdown, "md") == latest + 1
    found = tokens(markdown.getvalue())
    assert [t.content for t in found if t.type == "fence"] == [
        world.message(conv, i).message + "\n" for i in range(latest + 1)
    ]
    title = inline_text(found[1])
    detail = world.conversation_detail(agent, conv)
    assert detail is not None
    assert title == f"Conversation with {detail['channel_user_username']}"
    # Of the customer, only what the list shows (a phone number is the username of a
    # telephony channel).
    for private in ("email", "phone_number", "full_name"):
        if detail[private] and detail[private] != detail["channel_user_username"]:
            assert str(detail[private]) not in markdown.getvalue()


def test_progress_on_a_terminal_is_one_bar_redrawn_in_place() -> None:
    stream = io.StringIO()
    now = [0.0]
    report = ProgressReport(stream, terminal=True, clock=lambda: now[0])
    report(100, 500)  # short conversations show nothing
    assert stream.getvalue() == ""
    for written in range(1000, 10_001, 1000):
        now[0] += 0.06
        report(written, 10_000)
    report.finish()
    text = stream.getvalue()
    assert "\n" not in text
    draws = text.split("\r")[1:]
    # Ten times a second at most (every other call here), the last one always, then
    # the line cleared.
    assert len(draws) == 5 + 1 + 1
    assert draws[-2].endswith("100% 10,000/10,000 messages")
    assert draws[0].startswith("bimpe-tui: exporting ███")
    assert draws[-1] == "\x1b[2K"


def test_progress_elsewhere_is_plain_lines_every_tenth() -> None:
    stream = io.StringIO()
    report = ProgressReport(stream, terminal=False)
    for written in range(100, 5001, 100):
        report(written, 5000)
    report.finish()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert "\x1b" not in stream.getvalue()
    assert len(lines) == 10
    assert lines[0] == "bimpe-tui: exported 500 of 5,000 messages (10 %)"
    assert lines[-1] == "bimpe-tui: exported 5,000 of 5,000 messages (100 %)"


async def run_export(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "export",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(tmp_path, BIMPEAI_API_KEY=DEMO_API_KEY),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.long(10)
async def test_the_command_exports_the_long_conversation_to_a_private_file(
    tmp_path: Path,
) -> None:
    async with demo_server_process(tmp_path, "--rate", "40") as demo:
        world = DemoWorld(seed=7, rate=40.0)
        long = world.long_conversation()
        assert long is not None
        agent, conv = long
        target = tmp_path / "out" / "long.jsonl"
        target.parent.mkdir()
        code, out, err = await run_export(
            tmp_path, agent, conv, "-o", str(target), "--base-url", demo.base_url
        )
    assert code == 0, err
    assert out == ""
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 99_000
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == [world.message_id(conv, i) for i in range(len(ids))]
    # Progress in plain lines (stderr is a pipe here), then where it went.
    err_lines = err.splitlines()
    assert err_lines[-1] == f"bimpe-tui: wrote {len(lines):,} messages to {target}"
    assert err_lines[0].startswith("bimpe-tui: exported ")
    assert "(10 %)" in err_lines[0]
    assert "\r" not in err
    assert DEMO_API_KEY not in err
    assert DEMO_API_KEY not in target.read_text(encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(target.parent) == ["long.jsonl"]


async def test_the_command_to_stdout_and_its_failures(tmp_path: Path) -> None:
    async with demo_server_process(tmp_path) as demo:
        world = DemoWorld(seed=7)
        agent, conv = world.conversation_ids()[1]
        code, out, err = await run_export(
            tmp_path, agent, conv, "--format", "md", "--base-url", demo.base_url
        )
        assert code == 0, err
        assert out.startswith("# Conversation with ")
        # Nothing complains about the process's stdout at exit.
        assert "Exception" not in err
        assert "Traceback" not in err
        assert err.splitlines()[-1].endswith("messages to stdout")
        target = tmp_path / "missing.md"
        code, out, err = await run_export(
            tmp_path, agent, "c_nope", "-o", str(target), "--base-url", demo.base_url
        )
    assert code == 1
    assert err.startswith("bimpe-tui: export failed: ")
    assert "not_found" in err
    assert "Traceback" not in err
    assert not target.exists()
    assert os.listdir(tmp_path).count("missing.md") == 0
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".part")]


def test_export_and_history_never_import_textual() -> None:
    # The app calls them, but so does the command line: they stay headless.
    code = "import sys, bimpe_tui.export, bimpe_tui.history; print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_a_file_is_replaced_only_once_complete_and_is_private(tmp_path: Path) -> None:
    target = tmp_path / "chat.md"
    target.write_text("the previous export\n")

    def fail_half_way() -> None:
        with atomic_text_file(target) as out:
            out.write("half of it")
            raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError, match="lost"):
        fail_half_way()
    assert target.read_text() == "the previous export\n"
    assert os.listdir(tmp_path) == ["chat.md"]
    with atomic_text_file(target) as out:
        out.write("Olá\n")
    assert target.read_bytes() == "Olá\n".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["chat.md"]


def test_a_file_name_for_the_app_keeps_only_safe_characters() -> None:
    when = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
    assert export_file_name("c_abc", "md", when) == "bimpe-c_abc-20261123-100005.md"
    hostile = export_file_name("../../etc/passwd\x1b[2J", "jsonl", when)
    assert "/" not in hostile
    assert "\x1b" not in hostile
    assert hostile.endswith("-20261123-100005.jsonl")


async def test_the_command_draws_a_bar_when_stderr_is_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    async with demo_server_process(tmp_path, "--rate", "40") as demo:
        world = DemoWorld(seed=7, rate=40.0)
        long = world.long_conversation()
        assert long is not None
        target = tmp_path / "long.md"
        proc = await asyncio.create_subprocess_exec(
            *CLI,
            "export",
            *long,
            "-o",
            str(target),
            "--base-url",
            demo.base_url,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=slave,
            env=child_env(tmp_path, BIMPEAI_API_KEY=DEMO_API_KEY),
        )
        os.close(slave)
        # Read the terminal in a thread until the child closes it (EIO on Linux).
        drawn = await asyncio.wait_for(asyncio.to_thread(read_until_closed, master), 120)
        assert await asyncio.wait_for(proc.wait(), 120) == 0
    text = drawn.decode("utf-8", errors="replace")
    draws = text.split("\r")
    assert len(draws) > 2
    assert "bimpe-tui: exporting █" in text
    assert "100% " in text
    # The bar is cleared, then one line says where it went; no plain progress lines.
    assert "\x1b[2K" in text
    assert text.rstrip().endswith(f"messages to {target}")
    assert "(10 %)" not in text
    assert target.read_text(encoding="utf-8").count("\n### ") >= 99_000


def read_until_closed(fd: int) -> bytes:
    chunks: list[bytes] = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:
        pass  # the other end is closed
    finally:
        os.close(fd)
    return b"".join(chunks)
