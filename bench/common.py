"""What every section shares: the demo server process, workers, REST calls, statistics."""

from __future__ import annotations

import json
import math
import os
import re
import resource
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

API_PREFIX = "/api/v1/console"
REPO = Path(__file__).resolve().parents[1]
_BANNER = re.compile(r"on (http://127\.0\.0\.1:\d+)\s+\(api key: (\S+)\)")
_SERVER_START_TIMEOUT = 30.0
_SERVER_STOP_TIMEOUT = 10.0


class BenchError(RuntimeError):
    """A measurement could not be made (a worker failed, a server did not start...)."""


# --- statistics ----------------------------------------------------------------------------


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of per-run figures, and the figures themselves."""
    if not values:
        return {"median": None, "min": None, "max": None, "runs": []}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": list(values),
    }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def busy_cpu_seconds() -> float | None:
    """CPU time all processes on the machine have used since boot (Linux), in seconds."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal: everything but idle and iowait.
    values = [int(v) for v in fields[:8]]
    busy = sum(values) - values[3] - values[4]
    return busy / os.sysconf("SC_CLK_TCK")


def parse_iso(text: str, _minutes: dict[str, float] | None = None) -> float:
    """Epoch seconds of an API timestamp such as ``2026-11-24T01:17:32.123Z``.

    Caches the minute so that thousands of timestamps a second cost little in the
    process being measured.
    """
    cache = _MINUTES if _minutes is None else _minutes
    head = text[:17]
    base = cache.get(head)
    if base is None:
        from datetime import datetime

        base = datetime.fromisoformat(head + "00+00:00").timestamp()
        cache[head] = base
    return base + float(text[17:].rstrip("Z"))


_MINUTES: dict[str, float] = {}


# --- the demo server -------------------------------------------------------------------------


@dataclass
class DemoServerProcess:
    """``bimpe-tui demo-server`` in a process of its own, on a free loopback port.

    Use as a context manager; ``base_url`` and ``api_key`` come from the first line it
    prints. Stopped with SIGINT (its clean shutdown), killed if that hangs.
    """

    args: Sequence[str] = ()
    #: Another server that prints the same banner (see `bench.mix_server`), in place
    #: of the demo server.
    command: Sequence[str] = ()
    base_url: str = ""
    api_key: str = ""
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stderr: Any = field(default=None, repr=False)

    def __enter__(self) -> DemoServerProcess:
        self._stderr = tempfile.TemporaryFile()
        command = list(self.command) or [
            *(sys.executable, "-m", "bimpe_tui", "demo-server", "--port", "0"),
            *self.args,
        ]
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=subprocess.PIPE, stderr=self._stderr, cwd=REPO
        )
        assert self._proc.stdout is not None
        line = _read_line(self._proc.stdout, _SERVER_START_TIMEOUT)
        match = _BANNER.search(line)
        if match is None:
            self.__exit__(None, None, None)
            raise BenchError(f"demo server did not start: {line!r}")
        self.base_url, self.api_key = match.group(1), match.group(2)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(_SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._proc is not None
        return self._proc.pid

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server has used so far, if the OS tells us."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        # utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
        return (int(fields[11]) + int(fields[12])) / ticks

    def api(self, path: str, *, method: str = "GET", body: object | None = None) -> Any:
        """Call an endpoint (``/agents``... or a ``/_demo`` control path); return ``data``."""
        return rest(self.base_url, self.api_key, path, method=method, body=body)


def _read_line(stream: Any, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    try:
        if not selector.select(timeout):
            return ""
        return str(stream.readline().decode(errors="replace"))
    finally:
        selector.close()


def rest(
    base_url: str, api_key: str, path: str, *, method: str = "GET", body: object | None = None
) -> Any:
    """One REST call to the demo server with the key; returns the envelope's ``data``."""
    return rest_envelope(base_url, api_key, path, method=method, body=body)["data"]


def rest_envelope(
    base_url: str, api_key: str, path: str, *, method: str = "GET", body: object | None = None
) -> dict[str, Any]:
    """One REST call to the demo server with the key; returns the whole envelope."""
    url = base_url + (path if path.startswith("/_demo") else API_PREFIX + path)
    if not url.startswith("http://127.0.0.1:"):
        raise BenchError(f"refusing a non-loopback URL: {url}")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback http, checked above
        url,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        envelope: dict[str, Any] = json.load(response)
    return envelope


def conversation_pairs(server: DemoServerProcess, expected: int = 0) -> list[tuple[str, str]]:
    """``(agent_id, conversation_id)`` of every conversation the server lists, each once.

    The list is sorted by recency, which moves between page calls in a busy
    world: a conversation can show on two pages and another on none. Pages
    are read again, whole listings at a time, until `expected` distinct
    conversations are known (or, with `expected` 0, until a listing adds none).
    """
    found: dict[str, tuple[str, str]] = {}
    for _ in range(20):  # bounded: a listing that never settles is an error below
        before = len(found)
        for agent in server.api("/agents?limit=100"):
            page = 1
            while True:
                path = f"/agents/{agent['id']}/conversations?limit=100&page={page}"
                items = server.api(path)
                for conv in items:
                    found.setdefault(conv["id"], (agent["id"], conv["id"]))
                if len(items) < 100:
                    break
                page += 1
        if (expected and len(found) >= expected) or (not expected and len(found) == before):
            return list(found.values())
    raise RuntimeError(f"listed {len(found)} distinct conversations, expected {expected}")


# --- workers -----------------------------------------------------------------------------------


def run_worker(kind: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``python -m bench.worker KIND PARAMS`` and return the JSON it prints last.

    Each measurement runs in a fresh process, so its CPU time and peak RSS are its own.
    """
    command = [sys.executable, "-m", "bench.worker", kind, json.dumps(params)]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            command, capture_output=True, timeout=timeout, cwd=REPO, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{kind}: no result within {timeout:.0f} s") from None
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise BenchError(f"{kind} failed (exit {done.returncode}): " + " | ".join(tail))
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def emit(result: dict[str, Any]) -> None:
    """Print a worker's result as the last line of its stdout."""
    print(json.dumps(result), flush=True)


def now() -> float:
    """A monotonic clock for durations."""
    return time.perf_counter()
