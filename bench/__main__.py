"""``python -m bench [--quick] [--runs N] [--json PATH] [--only SECTIONS]``: the table."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import REPO, BenchError
from bench.context import Context
from bench.report import Report, Row, render_table

SECTIONS: dict[str, tuple[str, str]] = {
    # name on the command line: (module, label for errors)
    "per-message": ("per_message", "1 per message"),
    "many-streams": ("many_streams", "2 many streams"),
    "terminal": ("terminal", "3 terminal"),
    "startup": ("startup", "4 start-up"),
    "reconnect": ("reconnect", "5 reconnect"),
    "tail": ("tail_pipe", "6 tail"),
    "timeline": ("timeline_view", "7 timeline view"),
    "export": ("export_bench", "8 export"),
}
DEFAULT_JSON = REPO / "bench" / "results" / "latest.json"
_PACKAGES = ("bimpe-tui", "textual", "httpx", "aiohttp", "bimpeai")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _sections(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure bimpe-tui against the official SDK and its targets; print one "
        "table and write the figures as JSON.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short smoke run: fewer messages, shorter loads, 2 runs (about 2 minutes)",
    )
    parser.add_argument(
        "--runs", type=_positive_int, help="runs per figure (default 5; 2 with --quick)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help=f"where to write the figures (default {DEFAULT_JSON.relative_to(REPO)})",
    )
    parser.add_argument(
        "--only",
        type=_sections,
        metavar="SECTIONS",
        help=f"comma-separated subset of: {', '.join(SECTIONS)}",
    )
    return parser


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, Python, package versions and the git commit measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = " ".join(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    packages: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "missing"
    return {
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "git": _git_revision(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }


def _git_revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH, as make does
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        return done.stdout.strip()

    try:
        revision = git("rev-parse", "--short", "HEAD") or "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{revision}+dirty" if dirty else revision


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen sections, print the table, write the JSON; 1 if a section failed."""
    args = build_parser().parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    ctx = Context(runs=runs, quick=args.quick)
    chosen = args.only or list(SECTIONS)
    report = Report(
        machine=machine_info(),
        config={
            "mode": "quick" if args.quick else "full",
            "runs": runs,
            "sections": chosen,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )
    failed = False
    for name in chosen:
        module_name, label = SECTIONS[name]
        ctx.log(f"{label} ...")
        measure: Callable[[Context], list[Row]] = importlib.import_module(
            f"bench.{module_name}"
        ).measure
        try:
            report.rows.extend(measure(ctx))
        except (BenchError, OSError, ValueError, KeyError) as exc:
            failed = True
            ctx.log(f"{label} failed: {exc}")
            report.rows.append(Row(label, "(section failed)", error=str(exc)[:200]))
    report.config["seconds"] = round(time.perf_counter() - ctx.started, 1)
    report.notes = ctx.notes
    report.write_json(args.json)
    print(render_table(report))
    print(f"\nfigures written to {args.json} ({report.config['seconds']:.0f} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
