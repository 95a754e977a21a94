"""Hostile files: state files that are corrupt, truncated, unreadable or from a newer
version, and config files with unknown keys or wrong types. Never a crash; a warning
that says what happened; a corrupt file kept aside, a newer one never overwritten.

(tests/core/test_state.py covers the basic corrupt, empty, newer and directory cases.)
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from bimpe_tui.config import ConfigError, load_settings, read_config
from bimpe_tui.state import Cursor, StateStore
from tests.apptools import hostile_app, ready, until
from tests.loopback import LoopbackServer as HostileServer
from tests.loopback import agent, conversation, message, recursion_is_a_failure, sse_frame

SECRET = "sk_live_Hq3Zp8Rv2Kd7Wm5Xt"


def good_state() -> bytes:
    store = StateStore(Path("/nonexistent/state.toml"))
    server = store.server("https://api.bimpe.ai")
    server.cursors["c_1"] = Cursor("ag_1", received="m_9", received_at="2026-01-01T00:00:00Z")
    server.cursors["c_ünï"] = Cursor("ag_2", received='m_"quoted"\n', seen="m_\x1b[31m")
    server.watched = ["c_1", "c_ünï"]
    server.selected = "c_1"
    store.server("demo:seed=7,rate=1").cursors["d_1"] = Cursor("ag_x", seen="d_0")
    return store.render()


# -- state file: truncated, unreadable, odd shapes ----------------------------------------


def test_a_state_file_cut_at_any_byte_loads_or_is_set_aside(tmp_path: Path) -> None:
    content = good_state()
    whole = StateStore(tmp_path / "whole.toml")
    (tmp_path / "whole.toml").write_bytes(content)
    assert whole.load() == []
    fresh_starts = 0
    for cut in range(len(content)):
        folder = tmp_path / f"cut{cut}"
        folder.mkdir()
        path = folder / "state.toml"
        path.write_bytes(content[:cut])
        store = StateStore(path)
        warnings = store.load()
        if warnings and "starting fresh" in warnings[0]:
            fresh_starts += 1
            assert len(warnings) == 1
            [aside] = folder.glob("state.toml.corrupt-*")
            assert aside.read_bytes() == content[:cut]
            assert store.servers == {}
        else:
            if warnings:
                # Cut inside an entry (a cursor without its agent): that entry is
                # dropped, the file kept beside, the rest used.
                assert len(warnings) == 1
                assert "a copy is in" in warnings[0]
                [aside] = folder.glob("state.toml.corrupt-*")
                assert aside.read_bytes() == content[:cut]
            # A cut that still parses gives a subset of what was saved, never garbage.
            for key, server in store.servers.items():
                assert key in whole.servers
                for conversation_id, cursor in server.cursors.items():
                    saved = whole.servers[key].cursors[conversation_id]
                    assert cursor.agent_id == saved.agent_id
        assert not store.read_only
    assert fresh_starts > len(content) // 2


def test_a_symlink_loop_is_unreadable_warned_and_never_written(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    path.symlink_to(path)
    store = StateStore(path)
    [warning] = store.load()
    assert "cannot read the state file" in warning
    assert "will not save" in warning
    assert store.read_only
    store.server("s").watched = ["c"]
    store.save_now()
    assert path.is_symlink()
    assert os.readlink(path) == str(path)


CORRUPT = {
    "bom": b"\xef\xbb\xbf" + good_state(),
    "nul bytes": b"version = 1\n\x00\x00\x00",
    "utf-16": "version = 1\n".encode("utf-16"),
    "version a bool": b"version = true\n",
    "version a float": b"version = 1.0\n",
    "version a string": b'version = "1"\n',
    "version a table": b"[version]\nmajor = 1\n",
    "duplicate key": b"version = 1\nversion = 2\n",
    "html": b"<html><body>502 Bad Gateway</body></html>",
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_more_corrupt_state_files_are_set_aside(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.toml"
    path.write_bytes(content)
    store = StateStore(path)
    [warning] = store.load()
    assert "starting fresh" in warning
    assert [p.read_bytes() for p in tmp_path.glob("state.toml.corrupt-*")] == [content]
    store.save_now()
    assert tomllib.loads(path.read_text())["version"] == 1


ODD_SHAPES = {
    "servers a list": "servers = [1, 2]\n",
    "servers a string": 'servers = "x"\n',
    "a server a number": "[servers]\nx = 3\n",
    "conversations a list": "[servers.x]\nconversations = [1]\n",
    "a cursor a number": "[servers.x.conversations]\nc = 5\n",
    "empty agent id": '[servers.x.conversations.c]\nagent_id = ""\n',
    "agent id a list": '[servers.x.conversations.c]\nagent_id = ["a"]\n',
    "cursor times as TOML datetimes": (
        '[servers.x.conversations.c]\nagent_id = "a"\nreceived = 1979-05-27T07:32:00Z\n'
    ),
    "watched a string": '[servers.x]\nwatched = "c"\n',
    "selected a list": '[servers.x]\nselected = ["c"]\n',
    "deep unknown tables": "[servers.x.future.deeper.still]\nflag = true\n",
}


@pytest.mark.parametrize("body", ODD_SHAPES.values(), ids=ODD_SHAPES.keys())
def test_odd_shapes_are_copied_aside_and_the_file_rewritten_clean(
    tmp_path: Path, body: str
) -> None:
    path = tmp_path / "state.toml"
    path.write_text("version = 1\n" + body)
    store = StateStore(path)
    warnings = store.load()
    copies = [p.read_text() for p in tmp_path.glob("state.toml.corrupt-*")]
    if "unknown" in body or "future" in body:
        # Keys this version does not know are a newer version's, not damage.
        assert warnings == []
        assert copies == []
    else:
        # A value of the wrong type is dropped; the file as it was is kept beside.
        assert len(warnings) == 1
        assert "wrong type" in warnings[0]
        assert copies == ["version = 1\n" + body]
    assert not store.read_only
    for server in store.servers.values():
        for cursor in server.cursors.values():
            assert isinstance(cursor.agent_id, str)
            assert cursor.agent_id
            for value in (cursor.received, cursor.received_at, cursor.seen):
                assert value is None or isinstance(value, str)
        assert all(isinstance(w, str) for w in server.watched)
        assert server.selected is None or isinstance(server.selected, str)
    store.save_now()
    again = StateStore(path)
    assert again.load() == []
    assert again.servers == store.servers


def test_hostile_ids_round_trip_through_the_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    store = StateStore(path)
    odd = ['"]\n[servers.evil]\nx = "', "\x00\x1b[31m\x7f\x9b", "\\u0041", "'''", "ü\u202e😀", " "]
    server = store.server('https://api.bimpe.ai/"\n[x]')
    for value in odd:
        server.cursors[value] = Cursor(value, received=value, received_at=value, seen=value)
        server.watched.append(value)
    server.selected = odd[0]
    store.save_now()
    again = StateStore(path)
    assert again.load() == []
    assert again.servers == store.servers
    assert list(again.servers) == ['https://api.bimpe.ai/"\n[x]']


def test_a_deeply_nested_state_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    path.write_text("version = 1\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    store = StateStore(path)
    with recursion_is_a_failure():
        [warning] = store.load()
    assert "starting fresh" in warning


# -- state file in the app ------------------------------------------------------------------


async def test_the_app_leaves_a_newer_state_file_untouched(tmp_path: Path) -> None:
    async with HostileServer() as server:
        server.add(
            agent("ag_1", "Desk"),
            conversation("c_1", needs_attention=True),
            [message("m_1")],
            [sse_frame(message("m_2"))],
        )
        path = tmp_path / "state.toml"
        content = (
            'version = 2\nnew_feature = { colour = "teal" }\n'
            f'[servers."{server.base_url}".conversations.c_1]\n'
            'agent_id = "ag_1"\nreceived = "m_0"\nseen = "m_0"\nv2_field = [1, 2]\n'
        ).encode()
        path.write_bytes(content)
        app = hostile_app(server, path)
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, ready(app))
            assert app.monitor.state.read_only
            assert any("newer bimpe-tui" in n.message for n in app._notifications)
            entry = app.monitor.book.entries["c_1"]
            await until(
                pilot,
                lambda: (
                    entry.timeline.last_message is not None
                    and entry.timeline.last_message.id == "m_2"
                ),
            )
            assert await app.monitor.state.flush()
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)
        app.monitor.state.save_if_changed()
    assert path.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == ["state.toml"]


async def test_the_app_starts_fresh_from_an_unreadable_state_file(tmp_path: Path) -> None:
    async with HostileServer() as server:
        server.add(agent("ag_1", "Desk"), conversation("c_1", needs_attention=True))
        path = tmp_path / "state.toml"
        path.symlink_to(path)
        app = hostile_app(server, path)
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, ready(app))
            assert any("cannot read the state file" in n.message for n in app._notifications)
            assert app.monitor.current == "c_1"
        assert path.is_symlink()


# -- the config file ---------------------------------------------------------------------------


def write_config(tmp_path: Path, body: str | bytes) -> Path:
    path = tmp_path / "config.toml"
    if isinstance(body, str):
        body = body.encode()
    path.write_bytes(body)
    path.chmod(0o600)
    return path


WRONG = {
    "api_key a number": ("api_key = 12345\n", "api_key should be a str"),
    "api_key a list": (f'api_key = ["{SECRET}"]\n', "api_key should be a str"),
    "api_key a table": (f'[api_key]\nvalue = "{SECRET}"\n', "api_key should be a str"),
    "base_url a bool": ("base_url = true\n", "base_url should be a str"),
    "base_url a number": ("base_url = 8080\n", "base_url should be a str"),
    "unknown key": (f'apikey = "{SECRET}"\n', "unknown key 'apikey'"),
    "unknown case": (f'API_KEY = "{SECRET}"\n', "unknown key 'API_KEY'"),
    "unknown table": ("[colours]\nbg = 'red'\n", "unknown key 'colours'"),
    "key with odd characters": ('"api_key\\u0000 " = 1\n', "unknown key"),
}


@pytest.mark.parametrize(("body", "warning"), WRONG.values(), ids=WRONG.keys())
def test_unknown_keys_and_wrong_types_are_warned_and_ignored(
    tmp_path: Path, body: str, warning: str
) -> None:
    path = write_config(
        tmp_path, body + 'base_url = "https://ok.example"\n' if "base_url" not in body else body
    )
    config, warnings = read_config(path)
    assert any(warning in w for w in warnings), warnings
    assert "api_key" not in config
    for text in warnings:
        assert SECRET not in text
    settings = load_settings(config_path=path, env={"BIMPEAI_API_KEY": "sk_env_key_000000"})
    assert settings.api_key == "sk_env_key_000000"
    assert settings.base_url in ("https://ok.example", "https://api.bimpe.ai")


@pytest.mark.parametrize(
    "body",
    [
        f'api_key = "{SECRET}',  # unterminated
        f"api_key = {SECRET}",  # bare
        f'api_key = "{SECRET}"\napi_key = "again"\n',  # duplicate
        b'api_key = "\xff\xfe"\n',
        b"\x00\x01\x02",
    ],
    ids=["unterminated", "bare", "duplicate", "not utf-8", "binary"],
)
def test_a_config_file_that_is_not_toml_is_ignored_without_showing_its_content(
    tmp_path: Path, body: str | bytes
) -> None:
    path = write_config(tmp_path, body)
    config, warnings = read_config(path)
    assert config == {}
    [warning] = warnings
    assert "not valid TOML" in warning
    assert SECRET not in warning
    settings = load_settings(config_path=path, env={})
    assert settings.api_key is None
    with pytest.raises(ConfigError) as caught:
        settings.require_key()
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("kind", ["directory", "symlink loop"])
def test_an_unreadable_config_file_is_warned_about(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "config.toml"
    if kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(path)
    config, warnings = read_config(path)
    assert config == {}
    assert len(warnings) == 1
    assert "cannot read" in warnings[0]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "file:///etc/passwd", "http://evil.example", "https://", "  "],
)
def test_a_bad_base_url_in_the_config_is_refused_without_the_key(tmp_path: Path, url: str) -> None:
    path = write_config(tmp_path, f'api_key = "{SECRET}"\nbase_url = "{url}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, env={})
    assert SECRET not in str(caught.value)


def test_a_deeply_nested_config_file_is_a_warning(tmp_path: Path) -> None:
    path = write_config(tmp_path, "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n")
    with recursion_is_a_failure():
        config, warnings = read_config(path)
    assert config == {}
    assert warnings
