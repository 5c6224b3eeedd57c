"""The one table of `make bench`, the machine it ran on, and `bench/RESULTS.md`."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
PACKAGES = ("flask", "flask-smorest", "marshmallow", "gunicorn", "gevent", "redis", "rq",
            "orjson", "qiskit", "qiskit-aer", "qiskit-ibm-runtime")


@dataclass
class Row:
    """One line of the table. `verdict` is pass, miss, or info for a figure without a goal."""

    figure: str
    measure: str
    value: str
    baseline: str
    ratio: str
    goal: str
    verdict: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one paragraph per figure, under the table

    def table(self) -> str:
        head = ("figure", "measure", "value", "baseline", "ratio", "goal", "result")
        lines = [_line(head), _line(tuple("---" for _ in head))]
        lines += [_line((r.figure, r.measure, r.value, r.baseline, r.ratio, r.goal, r.verdict))
                  for r in self.rows]
        return "\n".join(lines)

    def markdown(self, machine: str, generator: str) -> str:
        parts = ["# Benchmark results", "",
                 "Written by `make bench` (`python -m bench`); every figure is a ratio against a "
                 "baseline measured in the same run, or a median of repeated runs.", "",
                 "## Machine", "", machine, f"- load generator: {generator}", "",
                 "## Figures", "", self.table(), ""]
        if self.notes:
            parts += ["## How each figure was measured", "", *_paragraphs(self.notes)]
        return "\n".join(parts)


def _line(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"


def _paragraphs(notes: list[str]) -> list[str]:
    return [line for note in notes for line in (note, "")]


def verdict(ok: bool) -> str:
    return "pass" if ok else "**miss**"


def machine(redis_version: str) -> str:
    """Cores, memory, CPU, Python, package versions, date and load: what the numbers depend on."""
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join([
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores; memory {_memory_gib():.1f} GiB",
        f"- load average at the end (1, 5, 15 min): {load} (other work shares this machine)",
        f"- {platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"Redis {redis_version}",
        f"- packages: {versions}",
    ])


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")
