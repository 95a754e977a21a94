"""The state file: round trips, corrupt and newer files, atomic and debounced writes."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import tomllib
from pathlib import Path

import pytest

from bimpe_tui.state import Cursor, StateStore, write_atomically


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    store = StateStore(path)
    server = store.server("https://api.bimpe.ai")
    server.cursors["c_1"] = Cursor("ag_1", received="m_9", received_at="2026-01-01T00:00:00Z")
    server.cursors["c_2"] = Cursor("ag_1", seen="m_3")
    server.watched = ["c_1", "c_2"]
    server.selected = "c_2"
    store.server("demo:7").cursors["c_1"] = Cursor("ag_x", received="d_1")
    store.save_now()
    again = StateStore(path)
    assert again.load() == []
    assert again.servers == store.servers
    assert path.stat().st_mode & 0o777 == 0o600


def test_missing_file_is_a_fresh_start(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "nope" / "state.toml")
    assert store.load() == []
    assert store.servers == {}


@pytest.mark.parametrize(
    "content",
    [b"version = 1\n[servers\n", b"", b"\xff\xfe garbage", b"servers = 3\n", b'version = "x"\n'],
    ids=["truncated", "empty", "binary", "no-version", "bad-version"],
)
def test_corrupt_file_is_moved_aside_with_a_warning(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.toml"
    path.write_bytes(content)
    store = StateStore(path)
    warnings = store.load()
    assert len(warnings) == 1
    assert "starting fresh" in warnings[0]
    assert not path.exists()
    aside = list(tmp_path.glob("state.toml.corrupt-*"))
    assert [p.read_bytes() for p in aside] == [content]
    assert not store.read_only
    store.save_now()
    assert tomllib.loads(path.read_text())["version"] == 1


def test_newer_version_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    content = b'version = 99\nfuture = true\n[servers."x".conversations.c]\nagent_id = "a"\n'
    path.write_bytes(content)
    store = StateStore(path)
    warnings = store.load()
    assert store.read_only
    assert "newer" in warnings[0]
    assert store.server("x").cursors["c"].agent_id == "a"
    store.server("x").cursors["c"].seen = "m_1"
    store.save_now()
    assert path.read_bytes() == content


def test_unknown_keys_are_ignored(tmp_path: Path) -> None:
    # A newer version may add keys: they are no reason to set the file aside.
    path = tmp_path / "state.toml"
    path.write_text(
        "version = 1\nshiny = 1\n"
        '[servers."s"]\nwatched = ["c_1", "c_unknown"]\nlater = [1, 2]\n'
        '[servers."s".conversations.c_1]\nagent_id = "ag"\nseen = "m_2"\nmood = "calm"\n'
    )
    store = StateStore(path)
    assert store.load() == []
    server = store.server("s")
    assert server.cursors == {"c_1": Cursor("ag", seen="m_2")}
    assert server.watched == ["c_1"]
    assert list(tmp_path.glob("*.corrupt-*")) == []


WRONG_TYPES = {
    "received-int": '[servers."s".conversations.c_1]\nagent_id = "ag"\nreceived = 7\n',
    "watched-string": '[servers."s"]\nwatched = "c_1"\n',
    "watched-item": '[servers."s"]\nwatched = ["c_1", 5]\n',
    "selected-int": '[servers."s"]\nselected = 3\n',
    "peeking-string": '[servers."s"]\nselected = "c_1"\npeeking = "yes"\n',
    "no-agent": '[servers."s".conversations.c_2]\nreceived = "m_1"\n',
    "entry-not-table": '[servers."s".conversations]\nc_3 = "m_1"\n',
    "servers-not-table": "servers = 3\n",
}


@pytest.mark.parametrize("wrong", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_typed_values_keep_a_corrupt_copy(tmp_path: Path, wrong: str) -> None:
    path = tmp_path / "state.toml"
    good = '[servers."s".conversations.c_1]\nagent_id = "ag"\nseen = "m_2"\n'
    # The well-typed cursor goes with it, unless the wrong value is in its place.
    with_good = "c_1]" not in wrong and not wrong.startswith("servers =")
    content = ("version = 1\n" + wrong + (good if with_good else "")).encode()
    path.write_bytes(content)
    store = StateStore(path)
    warnings = store.load()
    assert len(warnings) == 1, warnings
    aside = list(tmp_path.glob("state.toml.corrupt-*"))
    # The whole file as it was, for whoever wants to see what was dropped.
    assert [p.read_bytes() for p in aside] == [content]
    assert str(aside[0]) in warnings[0]
    assert "wrong type" in warnings[0]
    # What was well-typed is used, and the run saves as usual.
    assert not store.read_only
    if with_good:
        assert store.server("s").cursors["c_1"] == Cursor("ag", seen="m_2")


def test_a_directory_in_place_of_the_file_warns(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    path.mkdir()
    store = StateStore(path)
    assert "cannot read" in store.load()[0]
    assert store.read_only


async def test_changes_are_debounced_into_one_write(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.toml", debounce=0.05)
    server = store.server("s")
    for i in range(100):
        server.cursors["c"] = Cursor("ag", received=f"m_{i}")
        store.changed()
    await asyncio.wait_for(store.wait_for_save(), 5)
    assert store.saves == 1
    assert await store.flush()
    assert store.saves == 1  # nothing changed since
    loaded = StateStore(store.path)
    loaded.load()
    assert loaded.server("s").cursors["c"].received == "m_99"


async def test_flush_writes_pending_changes_at_once(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.toml", debounce=60)
    store.server("s").cursors["c"] = Cursor("ag", seen="m_1")
    store.changed()
    assert await store.flush()
    assert store.saves == 1
    assert store.path.exists()


async def test_a_failed_write_is_reported_and_kept_for_later(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = StateStore(blocker / "state.toml", debounce=60, retry=60)
    store.server("s").watched = []
    store.changed()
    assert not await store.flush()
    assert store.error is not None
    assert "cannot save" in store.error
    # The path is named: the user must know which file is not being written.
    assert str(blocker / "state.toml") in store.error


async def fails_and_says_so_once(store: StateStore, told: list[str | None]) -> None:
    """Wait for three failed attempts to save; the store said so once, naming its file."""
    async with asyncio.timeout(10):
        while store.failures < 3:
            await store.wait_for_attempt()
    assert len(told) == 1
    assert told[0] is not None
    assert str(store.path) in told[0]


async def test_a_refusing_disk_is_retried_until_it_takes_the_file(tmp_path: Path) -> None:
    # Not a directory where the state dir should be: every write fails, and
    # the store keeps trying on its own, without another change to prompt it.
    blocker = tmp_path / "dir"
    blocker.write_text("")
    store = StateStore(blocker / "state.toml", debounce=0.01, retry=0.01)
    told: list[str | None] = []
    store.on_error = told.append
    store.server("s").cursors["c"] = Cursor("ag", seen="m_1")
    store.changed()
    # Said once when it started failing, not at every attempt.
    await fails_and_says_so_once(store, told)
    blocker.unlink()
    blocker.mkdir()
    await asyncio.wait_for(store.wait_for_save(), 10)
    assert store.error is None
    assert told[-1] is None
    loaded = StateStore(store.path)
    assert loaded.load() == []
    assert loaded.server("s").cursors["c"].seen == "m_1"


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root writes in a read-only dir"
)
async def test_a_read_only_state_dir_is_said_retried_and_taken_again(tmp_path: Path) -> None:
    # The other disk that refuses: a directory without write permission. The
    # state dir exists (nothing to create); every write in it is refused.
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state_dir.chmod(0o500)
    try:
        store = StateStore(state_dir / "state.toml", debounce=0.01, retry=0.01)
        told: list[str | None] = []
        store.on_error = told.append
        assert store.open() == []
        store.server("s").cursors["c"] = Cursor("ag", seen="m_1")
        store.changed()
        await fails_and_says_so_once(store, told)
        # A copy on its way out: a sentence, not an exception.
        leaving = StateStore(store.path)
        leaving.server("s").watched = ["c"]
        leaving.changed()
        problem = leaving.save_if_changed()
        assert problem is not None
        assert str(store.path) in problem
        state_dir.chmod(0o700)
        await asyncio.wait_for(store.wait_for_save(), 10)
        assert store.error is None
        assert told[-1] is None
        store.release()
    finally:
        state_dir.chmod(0o700)
    loaded = StateStore(store.path)
    assert loaded.load() == []
    assert loaded.server("s").cursors["c"].seen == "m_1"


def test_saving_on_the_way_out_says_why_instead_of_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = StateStore(blocker / "state.toml")
    store.server("s").watched = ["c"]
    store._dirty = True
    problem = store.save_if_changed()
    assert problem is not None
    assert str(store.path) in problem


_WRITER = """
import sys
from pathlib import Path
from bimpe_tui.state import Cursor, StateStore
store = StateStore(Path(sys.argv[1]))
server = store.server("s")
for i in range(1_000_000):
    server.cursors["c"] = Cursor("ag", received=f"m_{i}", seen="x" * (i % 5000))
    store.save_now()
    print(i, flush=True)
"""


async def test_a_writer_killed_mid_write_leaves_old_or_new_never_broken(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.toml"
    rng = random.Random(5)
    last_seen = -1
    for _ in range(10):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WRITER, str(path), stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        for _ in range(rng.randint(1, 40)):
            await asyncio.wait_for(proc.stdout.readline(), 20)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        data = tomllib.loads(path.read_text())
        received = data["servers"]["s"]["conversations"]["c"]["received"]
        assert received.startswith("m_")
        # Each run starts over at m_0, so only the shape can be checked
        # across runs; within the file, the record is whole.
        index = int(received[2:])
        assert len(data["servers"]["s"]["conversations"]["c"]["seen"]) == index % 5000
        last_seen = index
    assert last_seen >= 0


def test_write_atomically_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "f"
    write_atomically(path, b"one")
    write_atomically(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in path.parent.iterdir()] == ["f"]
