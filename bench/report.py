"""Figures, targets, the printed table and the JSON file."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.common import summary

TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"


@dataclass(frozen=True)
class Target:
    """A goal for the median of a figure, e.g. ``Target("<", 1.0, "< 1 s")``."""

    op: Literal["<", ">="]
    value: float
    text: str

    def met(self, median: float | None) -> bool | None:
        """Whether the median meets the goal (None when there is no figure)."""
        if median is None or math.isnan(median):
            return None
        return median < self.value if self.op == "<" else median >= self.value


@dataclass
class Figure:
    """One quantity measured once per run; ``note`` qualifies it (e.g. "100/200 streams")."""

    values: list[float]
    unit: str
    note: str = ""

    @property
    def median(self) -> float | None:
        """The median run, or None if no run gave a figure."""
        finite = [v for v in self.values if not math.isnan(v)]
        return statistics.median(finite) if finite else None

    def to_json(self) -> dict[str, Any]:
        """Median, min, max and every run."""
        out = summary([v for v in self.values if not math.isnan(v)])
        out["unit"] = self.unit
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Row:
    """A line of the table: one metric for ours, the official SDK and a reference."""

    section: str
    metric: str
    ours: Figure | None = None
    sdk: Figure | None = None
    other: Figure | None = None
    other_label: str = ""
    target: Target | None = None
    error: str = ""

    @property
    def met(self) -> bool | None:
        """Whether ours meets the target (None: no target or no figure)."""
        if self.target is None or self.ours is None:
            return None
        return self.target.met(self.ours.median)

    def to_json(self) -> dict[str, Any]:
        """This row for the JSON file."""
        out: dict[str, Any] = {"section": self.section, "metric": self.metric}
        for name, figure in (("ours", self.ours), ("sdk", self.sdk), ("other", self.other)):
            if figure is not None:
                out[name] = figure.to_json()
        if self.other_label:
            out["other_label"] = self.other_label
        if self.target is not None:
            out["target"] = {"op": self.target.op, "value": self.target.value}
            out["met"] = self.met
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Report:
    """Everything one `python -m bench` run found."""

    machine: dict[str, Any]
    config: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The whole report for the JSON file."""
        return {
            "machine": self.machine,
            "config": self.config,
            "rows": [row.to_json() for row in self.rows],
            "notes": self.notes,
        }

    def write_json(self, path: Path) -> None:
        """Write the figures to ``path`` (parent directories created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")


def format_value(value: float | None, unit: str) -> str:
    """A number with its unit, short: ``312k``, ``0.42 s``, ``3.1 ms``, ``1.82x``."""
    if value is None or math.isnan(value):
        return "—"
    if unit == "msg/s":
        if value >= 10_000:
            return f"{value / 1000:,.0f}k"
        return f"{value:,.0f}"
    if unit == "x":
        return f"{value:.2f}{TIMES}"
    if unit == "s":
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:g} {unit}".strip()


def format_figure(figure: Figure | None) -> str:
    """``median [min-max] unit``, or the note alone when nothing was measured."""
    if figure is None:
        return ""
    median = figure.median
    if median is None:
        return figure.note or "—"
    finite = [v for v in figure.values if not math.isnan(v)]
    unit = figure.unit
    text = format_value(median, unit)
    if len(finite) > 1:
        low, high = format_value(min(finite), unit), format_value(max(finite), unit)
        # The unit once, after the range, keeps columns narrow.
        suffix = _unit_suffix(unit)
        text = f"{_strip(text, suffix)} [{_strip(low, suffix)}{DASH}{_strip(high, suffix)}]{suffix}"
    elif unit == "msg/s":
        text += " msg/s"
    if figure.note:
        text += f" ({figure.note})"
    return text


def _unit_suffix(unit: str) -> str:
    return {"s": " s", "ms": " ms", "%": " %", "MB": " MB", "x": TIMES}.get(unit, "")


def _strip(text: str, suffix: str) -> str:
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text


_HEADERS = ("", "metric", "ours", "official SDK", "reference", "target", "status")


def render_table(report: Report) -> str:
    """The table as printed: one line per metric, medians with [min-max] of the runs."""
    machine = report.machine
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items())
    lines = [
        f"bimpe-tui benchmark · {machine['cpu_count']} cores ({machine['cpu']}) · "
        f"Python {machine['python']} · {packages} · git {machine['git']} · load average at "
        f"start {machine['load_average_at_start'][0]:.2f}",
        f"{report.config['mode']} run: median [min{DASH}max] of {report.config['runs']} runs "
        "per figure, msgs/s in thousands (k); demo server in its own process on 127.0.0.1",
        "",
    ]
    table: list[Sequence[str]] = [_HEADERS]
    previous = ""
    for row in report.rows:
        section = row.section if row.section != previous else ""
        previous = row.section
        if row.error:
            table.append((section, row.metric, f"error: {row.error}", "", "", "", ""))
            continue
        other = format_figure(row.other)
        if row.other_label and other:
            other = f"{row.other_label} {other}"
        met = row.met
        verdict = "" if met is None else ("met" if met else "NOT MET")
        table.append(
            (
                section,
                row.metric,
                format_figure(row.ours),
                format_figure(row.sdk),
                other,
                row.target.text if row.target else "",
                verdict,
            )
        )
    widths = [max(len(cells[i]) for cells in table) for i in range(len(_HEADERS))]
    for n, cells in enumerate(table):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    if report.notes:
        lines.append("")
        lines.extend(f"* {note}" for note in report.notes)
    return "\n".join(lines)
