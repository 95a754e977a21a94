"""Two copies of bimpe-tui on one state file: each save merges with the disk, nothing lost.

The rules (README, "Where you left off"): a copy's own changes since it last
saved win; what the other copy changed meanwhile is kept; where both moved
the same cursor, the one furthest along (by the message's time, never by the
id's spelling) wins. Saves are serialised by a lock file beside the state
file, and a copy that starts while another has the file says so.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tomllib
from datetime import UTC
from pathlib import Path

from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.monitor import Notice
from bimpe_tui.state import Cursor, StateStore
from tests.apptools import ready, record_events, until
from tests.terminal import Terminal

S = "https://api.bimpe.ai"


def opened(path: Path) -> StateStore:
    """A store that has read the file, as a copy of the app does at start."""
    store = StateStore(path)
    store.load()
    return store


def on_disk(path: Path) -> StateStore:
    """What the file says now, read by a store that then lets go of it."""
    store = opened(path)
    store.release()
    return store


def test_watched_conversations_of_both_copies_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    a, b = opened(path), opened(path)
    a.server(S).cursors["c_a"] = Cursor("ag", received="m_1", received_at="2026-01-01T10:00:00Z")
    a.server(S).watched.append("c_a")
    a.save_now()
    b.server(S).cursors["c_b"] = Cursor("ag", seen="m_7", seen_at="2026-01-01T10:00:00Z")
    b.server(S).watched.append("c_b")
    b.save_now()
    # A saves again, after B: B's conversation stays.
    a.server(S).cursors["c_a"].seen = "m_1"
    a.save_now()
    disk = on_disk(path).server(S)
    assert sorted(disk.watched) == ["c_a", "c_b"]
    assert disk.cursors["c_b"].seen == "m_7"
    assert disk.cursors["c_a"].seen == "m_1"


def test_the_cursor_furthest_along_wins_by_time_not_by_spelling(tmp_path: Path) -> None:
    # The demo's ids count in base 36 without padding: m_x_z (35) comes before
    # m_x_10 (36), though it sorts after it; the real API's ids are opaque.
    # The message's time says which is further along.
    path = tmp_path / "state.toml"
    a, b = opened(path), opened(path)
    for store in (a, b):
        store.server(S).cursors["c"] = Cursor("ag")
        store.server(S).watched.append("c")
    a.save_now()
    b.save_now()
    early, late = "2026-01-01T10:00:35Z", "2026-01-01T10:00:36.000+00:00"
    a.server(S).cursors["c"] = Cursor("ag", "m_x_10", late, seen="m_x_10", seen_at=late)
    b.server(S).cursors["c"] = Cursor("ag", "m_x_z", early, seen="m_x_z", seen_at=early)
    a.save_now()
    b.save_now()  # B is behind: it must not take A's place back
    cursor = on_disk(path).server(S).cursors["c"]
    assert (cursor.received, cursor.received_at) == ("m_x_10", late)
    assert (cursor.seen, cursor.seen_at) == ("m_x_10", late)
    # Each part on its own: B reads further on (seen), A receives further on.
    b.server(S).cursors["c"].seen, b.server(S).cursors["c"].seen_at = (
        "m_x_11",
        "2026-01-01T10:00:37Z",
    )
    b.save_now()
    a.server(S).cursors["c"].received = "m_x_12"
    a.server(S).cursors["c"].received_at = "2026-01-01T10:00:38Z"
    a.save_now()
    cursor = on_disk(path).server(S).cursors["c"]
    assert cursor.received == "m_x_12"
    assert cursor.seen == "m_x_11"


def test_a_copys_own_moves_back_and_unwatches_stick(tmp_path: Path) -> None:
    # "Furthest along" only settles a race: a copy that alone moved its seen
    # cursor back (m, mark unread) or stopped watching keeps that, even though
    # the file held a further cursor and the conversation before.
    path = tmp_path / "state.toml"
    a, b = opened(path), opened(path)
    a.server(S).cursors["c_1"] = Cursor("ag", seen="m_9", seen_at="2026-01-01T10:00:09Z")
    a.server(S).cursors["c_2"] = Cursor("ag")
    a.server(S).watched += ["c_1", "c_2"]
    a.save_now()
    b.load()  # B starts now and sees both
    assert b.server(S).watched == ["c_1", "c_2"]
    cursor = a.server(S).cursors["c_1"]
    cursor.seen, cursor.seen_at = "m_3", "2026-01-01T10:00:03Z"
    a.server(S).watched.remove("c_2")
    a.save_now()
    # B saves something else: it never touched c_1's seen nor c_2's watch.
    b.server(S).cursors["c_3"] = Cursor("ag")
    b.server(S).watched.append("c_3")
    b.save_now()
    disk = on_disk(path).server(S)
    assert disk.cursors["c_1"].seen == "m_3"
    assert disk.watched == ["c_1", "c_3"]


def test_a_second_copy_is_told_another_uses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    first = StateStore(path)
    assert first.open() == []
    second = StateStore(path)
    [warning] = second.open()
    assert "another bimpe-tui" in warning
    assert str(path) in warning
    first.release()
    # The first one gone, a third one is still told about the second.
    third = StateStore(path)
    assert "another bimpe-tui" in third.open()[0]
    second.release()
    third.release()
    assert StateStore(path).open() == []


_SAVER = """
import sys
from pathlib import Path
from bimpe_tui.state import Cursor, StateStore
store = StateStore(Path(sys.argv[1]))
store.load()
name = sys.argv[2]
server = store.server("s")
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[3])):
    conversation = f"c_{name}_{i}"
    server.cursors[conversation] = Cursor("ag", received=f"m_{i}")
    server.watched.append(conversation)
    store.save_now()
print("done", flush=True)
"""


async def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    # Read, merge and write must be one step for each copy: without the lock,
    # a copy reads the file, the other replaces it, and the first writes over it.
    path = tmp_path / "state.toml"
    count = 150
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _SAVER,
            str(path),
            name,
            str(count),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    for proc in procs:
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 120) == b"done\n"
        await proc.wait()
        assert proc.returncode == 0
    watched = tomllib.loads(path.read_text())["servers"]["s"]["watched"]
    expected = {f"c_{name}_{i}" for name in ("a", "b") for i in range(count)}
    assert set(watched) == expected
    assert len(watched) == len(expected)


async def test_two_running_apps_keep_each_others_conversations(tmp_path: Path) -> None:
    # Copy 1: the app as a process on a terminal. Copy 2: the app under the
    # pilot, with its own demo server of the same world (the same state key).
    state = tmp_path / "state.toml"
    args = ["--demo", "--rate", "0.05", "--state-file", str(state)]
    async with Terminal(args, cols=200, rows=50, home=tmp_path) as t:
        await t.shows("● live")
        await t.wait_for(lambda: state.exists())
        first = on_disk(state)
        [(key, saved)] = first.servers.items()
        [one] = saved.watched
        server = DemoServer(seed=7, rate=0.05)
        await server.start()
        try:
            store = StateStore(state, debounce=0.05)
            app = BimpeApp(AppConfig(state=store, demo=server, tz=UTC, record=io.StringIO()))
            events = record_events(app)
            async with app.run_test(size=(160, 40)) as pilot:
                await until(pilot, ready(app))
                told = [e for e in events if isinstance(e, Notice) and "another" in e.text]
                assert len(told) == 1
                assert app.monitor.server_key == key
                # It reopened what copy 1 watches, and opens one more.
                assert app.monitor.current == one
                # Far down the list: not the one copy 1 opens next with `]`.
                two = next(c for c in reversed(app.order) if c != one)
                app.monitor.open(two)
                await until(pilot, ready(app))
            # Copy 2 has quit: its file has both.
            assert on_disk(state).server(key).watched == [one, two]
        finally:
            await server.stop()
        # Copy 1 moves on (one more conversation), and quits: it saves last.
        t.send("]")
        await t.wait_for(lambda: len(on_disk(state).server(key).watched) == 3)
        t.send("q")
        assert await t.ended() == 0
    final = on_disk(state).server(key)
    assert {one, two} < set(final.watched)
    assert len(final.watched) == 3
    # Copy 1 started alone: it was told nothing about another copy.
    assert b"another bimpe-tui" not in bytes(t.output)


async def test_a_newer_copy_upgrading_the_file_meanwhile_stops_this_ones_saves(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.toml"
    store = opened(path)
    store.server(S).cursors["c"] = Cursor("ag", seen="m_1")
    store.changed()
    assert await store.flush()
    newer = b'version = 2\n[servers."x".conversations.c]\nagent_id = "a"\n'
    path.write_bytes(newer)
    store.server(S).cursors["c"].seen = "m_2"
    store.changed()
    assert not await store.flush()
    # Left as the newer version wrote it, and said: no retries overwrite it.
    assert path.read_bytes() == newer
    assert store.read_only
    assert store.error is not None
    assert "newer bimpe-tui" in store.error
    assert store.save_if_changed() is None
    assert path.read_bytes() == newer
