"""The embedded demo server: a local stand-in for the BimpeAI Console API (needs aiohttp)."""

from bimpe_tui.demo.faults import FAULT_KINDS, FaultPlan, parse_fault_spec
from bimpe_tui.demo.server import DEMO_API_KEY, DemoServer, StreamRequestRecord, run_standalone
from bimpe_tui.demo.world import DemoMessage, DemoWorld

__all__ = [
    "DEMO_API_KEY",
    "FAULT_KINDS",
    "DemoMessage",
    "DemoServer",
    "DemoWorld",
    "FaultPlan",
    "StreamRequestRecord",
    "parse_fault_spec",
    "run_standalone",
]
