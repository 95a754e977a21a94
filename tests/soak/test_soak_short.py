"""The chaos soak in short: two minutes, a few conversations, every fault kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak.chaos import run_soak

# Minutes long: `pytest -m 'not slow'` leaves them out; `make test` runs them.
pytestmark = pytest.mark.slow


@pytest.mark.timeout(400)
async def test_two_minutes_of_chaos_lose_nothing(tmp_path: Path) -> None:
    report = await run_soak(120, 6, fault_rate=0.06, seed=2, workdir=tmp_path)
    print(report.table())
    assert len(report.conversations) == 6
    assert report.ok, report.table()
    assert sum(report.faults.values()) >= 6 * 120 / 20
    assert all(c.delivered > 0 for c in report.conversations)
