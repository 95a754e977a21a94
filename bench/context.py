"""What a section is told: how many runs, quick or full, where progress goes."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field


@dataclass
class Context:
    """The settings of one `python -m bench` run, handed to every section."""

    runs: int
    quick: bool
    started: float = field(default_factory=time.perf_counter)
    notes: list[str] = field(default_factory=list)

    def log(self, text: str) -> None:
        """Progress on stderr (the table goes to stdout), with the elapsed time."""
        elapsed = time.perf_counter() - self.started
        print(f"[{elapsed:6.1f} s] {text}", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        """A line printed under the table (what a figure means, what limited it)."""
        if text not in self.notes:
            self.notes.append(text)
