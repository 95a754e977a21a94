"""Fixtures the shell's tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    """Where the app under test keeps its state: the test's own directory."""
    return tmp_path / "state.toml"
