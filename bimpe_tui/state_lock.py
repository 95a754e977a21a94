"""The locks two copies of the app take on one state file (flock; none on Windows).

- `write_lock`: held while a save reads the file, merges and replaces it, on
  `state.toml.lock` beside it, so the two copies' saves never interleave;
- `claim_presence`: a shared lock on `state.toml.in-use`, held while a copy
  runs, so a copy that starts can tell another one is running.

Both are tried for a bounded time, never waited on for ever: a copy stopped
while it holds one (ctrl+z mid-save) costs the other a failed save, said and
retried, not a hang.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

if sys.platform != "win32":
    import fcntl

#: Seconds a save waits for another copy's save to finish before it counts as failed
#: (and is retried): a copy stopped in the middle of one (ctrl+z) must not hang this one.
LOCK_WAIT = 5.0


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _flock(fd: int, kind: int, wait: float) -> bool:
    """Take the flock `kind` on `fd`, trying for up to `wait` seconds; False if it could not.

    Polled rather than blocking, so a copy that holds the lock and never lets go
    (stopped with ctrl+z mid-save) costs a failed save, said and retried, not a hang.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        else:
            return True


@contextlib.contextmanager
def write_lock(state_path: Path) -> Iterator[None]:
    """Held while the file is read, merged and replaced: one copy at a time.

    Raises OSError (EWOULDBLOCK) if another copy holds it for more than LOCK_WAIT.
    """
    if sys.platform == "win32":
        yield
        return
    fd = os.open(_beside(state_path, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _flock(fd, fcntl.LOCK_EX, LOCK_WAIT):
            raise OSError(errno.EWOULDBLOCK, "another bimpe-tui has been saving it too long")
        yield
    finally:
        os.close(fd)  # which lets go of the lock


def claim_presence(state_path: Path) -> tuple[int, bool] | None:
    """Hold a shared lock on `<file>.in-use` (blocking, briefly) until the descriptor is closed.

    Returns the descriptor and whether this copy is alone on the file, or None
    if no lock could be taken (Windows, or a dir that refuses: saving will fail
    too, and say so). A copy starting tries an exclusive lock first, which fails
    while any other copy holds its shared one.
    """
    if sys.platform == "win32":
        return None
    try:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(_beside(state_path, ".in-use"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    alone = _flock(fd, fcntl.LOCK_EX, 0)
    # Down to shared, held while this copy runs. Only a copy's probe ever
    # holds the exclusive lock, for an instant, so this waits that long at most.
    if not _flock(fd, fcntl.LOCK_SH, LOCK_WAIT):
        os.close(fd)
        return None
    return fd, alone
