"""Fixtures of the core's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.core.test_monitor import Harness


@pytest.fixture
async def closing() -> AsyncIterator[list[Harness]]:
    """Harnesses the test started, each monitor closed when the test ends."""
    harnesses: list[Harness] = []
    yield harnesses
    for h in harnesses:
        await h.monitor.close()
