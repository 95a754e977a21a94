"""`make soak`: the chaos soak (default 10 minutes, 20 conversations), 100 kills, and
the random walk over the whole app (10,000 actions)."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from .chaos import run_soak
from .restarts import run_restarts
from .walk import run_walks


def main() -> int:
    """Run both checks; exit 1 if either found a problem."""
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--fault-rate", type=float, default=0.06)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--walk-steps", type=int, default=10_000)
    parser.add_argument("--walk-seed", type=int, default=None, help="replay one walk's seed")
    parser.add_argument("--walk-only", action="store_true", help="only the random walk")
    args = parser.parse_args()
    walk_seed = args.seed if args.walk_seed is None else args.walk_seed
    if args.walk_only:
        walks = asyncio.run(run_walks(args.walk_steps, walk_seed))
        return 0 if not any(w.violations for w in walks) else 1
    report = asyncio.run(
        run_soak(args.minutes * 60, args.conversations, fault_rate=args.fault_rate, seed=args.seed)
    )
    print(report.table(), flush=True)
    restarts = asyncio.run(
        run_restarts(args.kills, Path(tempfile.mkdtemp(prefix="bimpe-kills-")), seed=args.seed)
    )
    delivered = sum(len(v) for v in restarts.delivered.values())
    print(f"crash and restart: {restarts.kills} kills, {delivered} messages delivered")
    for problem in restarts.problems:
        print(f"  problem: {problem}")
    print("OK" if restarts.ok else "FAILED")
    walks = asyncio.run(run_walks(args.walk_steps, walk_seed))
    walked = not any(w.violations for w in walks)
    return 0 if report.ok and restarts.ok and walked else 1


if __name__ == "__main__":
    raise SystemExit(main())
