"""SIGKILL the app at random moments, restart it, and check nothing is lost (10 kills here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak.restarts import run_restarts

# Minutes long: `pytest -m 'not slow'` leaves them out; `make test` runs them.
pytestmark = pytest.mark.slow


@pytest.mark.timeout(600)
async def test_ten_kills_lose_nothing(tmp_path: Path) -> None:
    report = await run_restarts(10, tmp_path, seed=1)
    assert report.kills == 11
    assert report.problems == []
    assert sum(len(v) for v in report.delivered.values()) > 100
