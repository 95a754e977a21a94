"""The long random walk over the whole app (see tests/walk.py): 10,000 actions by default."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.walk import WalkReport, walk


async def run_walks(steps: int, seed: int) -> list[WalkReport]:
    """Half the steps with a stream that keeps up, half with one that lags the POSTs."""
    reports = []
    for lag in (False, True):
        work = Path(tempfile.mkdtemp(prefix="bimpe-walk-"))
        report = await walk(seed, work, steps // 2, lag=lag, progress_every=250)
        print(("stream lags: " if lag else "stream: ") + report.summary(), flush=True)
        for violation in report.violations:
            print(f"  violation: {violation}", flush=True)
        reports.append(report)
    return reports
