"""``python -m bench.worker KIND PARAMS``: one measurement in a process of its own.

KIND is ``<section>.<name>`` (e.g. ``per_message.ours``); PARAMS is a JSON object. The
result is printed as one JSON line, the last line of stdout.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from bench.common import emit

_SECTIONS = ("per_message", "many_streams", "terminal", "reconnect", "timeline_view")


def main(argv: list[str]) -> int:
    """Run the worker named by ``argv[1]`` with the JSON parameters in ``argv[2]``."""
    if len(argv) != 3:
        print("usage: python -m bench.worker SECTION.NAME JSON", file=sys.stderr)
        return 2
    section, _, name = argv[1].partition(".")
    if section not in _SECTIONS:
        print(f"unknown section {section!r}", file=sys.stderr)
        return 2
    params: dict[str, Any] = json.loads(argv[2])
    module = importlib.import_module(f"bench.{section}")
    emit(module.worker(name, params))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
