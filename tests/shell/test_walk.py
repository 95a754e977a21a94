"""The random walk over the whole app, short (the long one is `make soak`).

Seeds come from `WALK_SEED` (a failing seed, to replay it) or are fixed here;
each walk's summary is printed (`pytest -s` shows it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.walk import walk

#: (seed, whether the stream lags the POSTs' answers): one walk each way.
WALKS = (
    [(int(os.environ["WALK_SEED"]), lag) for lag in (False, True)]
    if "WALK_SEED" in os.environ
    else [(11, False), (12, True)]
)
STEPS = int(os.environ.get("WALK_STEPS", "80"))


# About a minute for the two (80 actions take 17-18 s each, the two side by side
# alone; more while other tests share the cores); the 10,000-action walk is `make
# soak`'s. The timeout is a hang guard, not a measure.
@pytest.mark.long(40)
@pytest.mark.timeout(400)
@pytest.mark.parametrize(("seed", "lag"), WALKS, ids=lambda v: str(v))
async def test_a_random_walk_keeps_every_promise(seed: int, lag: bool, tmp_path: Path) -> None:
    report = await walk(seed, tmp_path, STEPS, lag=lag)
    print(report.summary())
    assert report.steps >= STEPS or report.violations
    assert report.checks > report.steps // 2
    assert not report.violations, "\n".join(report.violations[:5])
