"""The collector's settings the app starts with."""

from __future__ import annotations

import gc

from bimpe_tui import collector


def test_tune_raises_the_youngest_threshold_and_keeps_the_others() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 11, 12)
        collector.tune()
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, 11, 12)
    finally:
        gc.set_threshold(*before)
