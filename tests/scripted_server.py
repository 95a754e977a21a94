"""Compatibility shim: the scripted server is now `tests.loopback.LoopbackServer`.

Kept because tests/conftest.py (the `scripted` fixture) and test_hostile_text.py
import these names from here.
"""

from __future__ import annotations

from tests.loopback import API_KEY, PREFIX, Reply, frame
from tests.loopback import LoopbackServer as ScriptedServer

__all__ = ["API_KEY", "PREFIX", "Reply", "ScriptedServer", "frame"]
