"""The one way bimpe-tui replaces a file: whole, or not at all, and on the disk.

The state file, the config file (which holds the API key) and exports are all
written the same way: a temporary file is created beside the target (same
directory, so the rename cannot cross file systems), readable by its owner
alone; the content is written, flushed and fsynced; the temporary file is
renamed onto the target; then the directory is fsynced, so the rename itself
survives a power cut (where the platform allows opening a directory: not on
Windows). If anything fails before the rename, the temporary file is removed
and the target is left as it was. A crash at any point leaves the old file or
the new one, never a mix, and never a stray temporary file but for a crash
between its creation and the rename (it is named ``.<name>.<random><suffix>``).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO, TextIO

__all__ = ["atomic_binary_file", "atomic_text_file", "write_bytes"]

#: Owner read and write only: an export holds customers' words, the config a key.
PRIVATE = 0o600


def _fsync_directory(directory: str) -> None:
    # Best effort: some platforms and file systems cannot open or sync a directory,
    # and the file itself is already safely written by then.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_binary_file(
    path: str | os.PathLike[str],
    *,
    mode: int = PRIVATE,
    make_parents: bool = False,
    suffix: str = ".tmp",
) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` once the ``with`` block succeeds.

    Yields the open temporary file. When the block ends without an exception the
    file is flushed, fsynced, closed, given ``mode`` and renamed onto ``path``, and
    the directory is fsynced; if the block (or any of that) raises, the temporary
    file is removed and ``path`` is untouched. ``make_parents`` creates missing
    directories first (for files the app owns; an export's directory is the user's
    to name, so a missing one is an error).
    """
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    if make_parents:
        os.makedirs(directory, exist_ok=True)
    fd, temp = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=suffix, dir=directory
    )
    try:
        with open(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp already creates 0600; chmod makes a wider mode, if asked for, stick.
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


@contextlib.contextmanager
def atomic_text_file(
    path: str | os.PathLike[str],
    *,
    mode: int = PRIVATE,
    make_parents: bool = False,
    suffix: str = ".tmp",
) -> Iterator[TextIO]:
    """Like :func:`atomic_binary_file`, as UTF-8 text with ``\\n`` line ends on every OS."""
    with atomic_binary_file(path, mode=mode, make_parents=make_parents, suffix=suffix) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        try:
            yield text
            text.flush()
        finally:
            # Detached, the wrapper can never close the binary file (when collected, say)
            # before atomic_binary_file has fsynced it; a failed block's text is dropped.
            with contextlib.suppress(ValueError, OSError):
                text.detach()


def write_bytes(
    path: str | os.PathLike[str], data: bytes, *, mode: int = PRIVATE, make_parents: bool = False
) -> None:
    """Replace ``path`` with ``data`` atomically and durably (see the module's docstring)."""
    with atomic_binary_file(path, mode=mode, make_parents=make_parents) as out:
        out.write(data)
