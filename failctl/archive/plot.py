"""`failctl query failures-per-day --plot FILE.png`: when a regression started, as a picture.

Drawn with matplotlib's file-only backend (no screen needed): one line per function over
the days in the result.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from failctl.errors import BadInputError

NEEDED = ("day", "failures")


def plot_failures_per_day(columns: list[str], rows: list[tuple[Any, ...]], path: Path) -> None:
    if not set(NEEDED) <= set(columns):
        raise BadInputError(f"--plot draws a failures-per-day result (columns day, failures); got {', '.join(columns)}")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

    day_at, count_at = columns.index("day"), columns.index("failures")
    series_at = columns.index("function_name") if "function_name" in columns else None
    days = sorted({str(r[day_at]) for r in rows})
    per_series: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        series = str(r[series_at]) if series_at is not None else "failures"
        per_series[series][str(r[day_at])] = float(r[count_at] or 0)
    figure, axes = pyplot.subplots(figsize=(10, 4))
    for series, counts in sorted(per_series.items()):
        axes.plot(days, [counts.get(d, 0) for d in days], marker="o", label=series)
    axes.set_xlabel("day")
    axes.set_ylabel("failures")
    highest = max((v for counts in per_series.values() for v in counts.values()), default=0)
    axes.set_ylim(0, highest * 1.25 + 1)  # counts: from zero, in whole numbers, room above
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Failures per day")
    if per_series:
        axes.legend(loc="lower right", fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    except OSError as error:
        raise BadInputError(f"--plot cannot write {path}: {error.strerror}") from None
    finally:
        pyplot.close(figure)
