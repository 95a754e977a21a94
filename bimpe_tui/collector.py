"""The garbage collector's settings for the app: set once, at start-up (`tune`).

CPython collects its youngest generation every 700 new container objects
(net of those freed). Wrapping a screenful of messages makes and frees
thousands at once, so at 700 a collection falls in the middle of nearly
every page: 530 young collections in 300 page-downs (`make bench`, section
7). Each moves what is alive at that moment (the lines being wrapped, the
wrap cache's newest entries) a generation older, and every few pages that
fills the oldest one enough for a full pass, which walks every object the
app holds: with 100,000 messages, 70 to 300 ms, a frame skipped each time
(page-down p99 75-110 ms, 4-5 full passes per 300 pages). At 10,000 the same
300 pages make 3 young collections and no full pass; each young collection
costs 1-2 ms, and garbage in reference cycles waits a little longer (at most
10,000 objects more) to be freed.
"""

from __future__ import annotations

import gc

#: New container objects between two collections of the youngest generation.
YOUNG_THRESHOLD = 10_000


def tune() -> None:
    """Collect the youngest generation every `YOUNG_THRESHOLD` new objects, not 700.

    The older generations' thresholds (collections of the one below) stay.
    """
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
