"""Small timing helpers: ours and a floor run in turn, printed side by side."""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "bench")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")


def alternating(*sides: Callable[[], object], repeats: int = 5) -> tuple[tuple[float, float], ...]:
    """(min, median) of each side, run in turn with a different side first each round, so
    that a machine that warms up or gets busy weighs on all of them alike."""
    samples: list[list[float]] = [[] for _ in sides]
    for round_ in range(repeats):
        for offset in range(len(sides)):
            side = (round_ + offset) % len(sides)
            with contextlib.redirect_stdout(io.StringIO()):
                start = time.perf_counter()
                sides[side]()
                samples[side].append(time.perf_counter() - start)
    return tuple((min(s), statistics.median(s)) for s in samples)


def pair(label: str, ours: tuple[float, float], floor: tuple[float, float], unit: str = "s") -> str:
    """One figure next to its floor: min and median of each, and the ratio of the medians."""
    return (
        f"  {label:<40} min {ours[0]:8.3f} median {ours[1]:8.3f} {unit}   floor min {floor[0]:8.3f} "
        f"median {floor[1]:8.3f} {unit}   {ours[1] / floor[1]:5.2f}x"
    )


def in_fresh_interpreter(code: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Callable[[], object]:
    """A run of `code` in a new interpreter (for cold-start figures), with `env` added to ours."""
    return lambda: subprocess.run([sys.executable, "-c", code], check=True, cwd=cwd, env=os.environ | (env or {}))


def row(label: str, value: float, unit: str, baseline: float | None = None) -> str:
    ratio = f"{value / baseline:8.3g}x baseline" if baseline else " " * 19
    return f"  {label:<46} {value:>12.3f} {unit:<8} {ratio}"
