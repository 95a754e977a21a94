"""The one atomic writer: whole or nothing, fsynced, private, no temporary file left."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from bimpe_tui.atomic import atomic_binary_file, atomic_text_file, write_bytes


class Boom(Exception):
    pass


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_write_bytes_creates_and_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    write_bytes(path, b"one")
    assert path.read_bytes() == b"one"
    write_bytes(path, b"two, longer")
    assert path.read_bytes() == b"two, longer"
    write_bytes(path, b"3")
    assert path.read_bytes() == b"3"
    assert names(tmp_path) == ["state.toml"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_the_file_is_private_whatever_was_there(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_bytes(path, b"api_key = 'sk_x'")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_bytes(path, b"x", mode=0o640)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_failed_block_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "export.md"
    path.write_text("the old export\n", encoding="utf-8")

    def fail_midway() -> None:
        with atomic_text_file(path) as out:
            out.write("half of the new one")
            raise Boom

    with pytest.raises(Boom):
        fail_midway()
    assert path.read_text(encoding="utf-8") == "the old export\n"
    assert names(tmp_path) == ["export.md"]


def test_a_failed_block_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"

    def fail_midway() -> None:
        with atomic_binary_file(path) as out:
            out.write(b"{}\n")
            raise Boom

    with pytest.raises(Boom):
        fail_midway()
    assert names(tmp_path) == []


def test_the_temporary_file_is_beside_the_target_until_the_rename(tmp_path: Path) -> None:
    path = tmp_path / "out.md"
    with atomic_text_file(path, suffix=".part") as out:
        out.write("x")
        # Nothing at the target yet; the temporary file is in the same directory
        # (a rename cannot cross file systems) and hidden.
        assert not path.exists()
        (temp,) = tmp_path.iterdir()
        assert temp.name.startswith(".out.md.")
        assert temp.name.endswith(".part")
    assert names(tmp_path) == ["out.md"]


def test_text_is_utf8_with_newline_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "t.md"
    with atomic_text_file(path) as out:
        out.write("Amélie — 渡辺\nline two\n")
    assert path.read_bytes() == "Amélie — 渡辺\nline two\n".encode()


def test_data_is_fsynced_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_bytes(tmp_path / "f", b"data")
    expected = ["fsync file", "rename"] + ([] if sys.platform == "win32" else ["fsync dir"])
    assert events == expected


def test_a_failed_fsync_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.toml"
    path.write_bytes(b"old")

    def fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="Input/output"):
        write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert names(tmp_path) == ["state.toml"]


def test_a_missing_directory_is_made_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.toml"
    with pytest.raises(FileNotFoundError):
        write_bytes(path, b"x")
    write_bytes(path, b"x", make_parents=True)
    assert path.read_bytes() == b"x"


def test_the_state_and_config_writers_use_it(tmp_path: Path) -> None:
    from bimpe_tui.config import save_api_key
    from bimpe_tui.state import write_atomically

    state = tmp_path / "state" / "state.toml"
    write_atomically(state, b"[servers]\n")
    assert state.read_bytes() == b"[servers]\n"
    config = tmp_path / "conf" / "config.toml"
    save_api_key(config, "sk_test_0123456789")
    assert "sk_test_0123456789" in config.read_text(encoding="utf-8")
    assert names(config.parent) == ["config.toml"]
    if sys.platform != "win32":
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
