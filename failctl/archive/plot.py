"""`failctl query failures-per-day --plot FILE.png`: when a regression started, as a picture.

Drawn with matplotlib's file-only backend (no screen needed), readable from one day to years:
the x axis spans the range asked for (`--from`..`--to`, UTC; else the days with failures), named in
the title with the archive; failures are stacked bars per day up to 60 days, per week (Monday) up
to 200 days, per month beyond; the functions with the most failures have a colour each and the
rest are "other"; asynchronous and stream failures are both drawn (stream failures are counted
per function from their own table, `STREAM_PER_DAY`); the legend sits outside the plot; a range
without failures says so instead of drawing an empty axis.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from failctl.errors import BadInputError
from lambda_failures.archive_format import STREAM_TABLE
from lambda_failures.queries import STREAM_RECORD_DAY

NEEDED = ("day", "failures")
# Functions drawn with a colour of their own, per kind; the rest of a kind are "other (<kind>)",
# so stream failures, usually fewer, never vanish into the async functions' "other".
TOP = {"async": 6, "stream": 3}
DAILY_UP_TO, WEEKLY_UP_TO = 60, 200  # days in range
# Stream failure records per day and function (the function named by its ARN in requestContext).
STREAM_PER_DAY = (
    f"SELECT {STREAM_RECORD_DAY} AS day, "
    "regexp_extract(requestcontext.functionarn, 'function:([^:]+)', 1) AS function_name, "
    f"COUNT(*) AS failures FROM {STREAM_TABLE} "
    f"WHERE {STREAM_RECORD_DAY} BETWEEN ? AND ? GROUP BY 1, 2 ORDER BY 1, 2"
)


@dataclass(frozen=True)
class Counts:
    """Failures per (day, series): series is "<function> (async)" or "<function> (stream)"."""

    per_day: dict[tuple[date, str], float]

    @property
    def total(self) -> float:
        return sum(self.per_day.values())


def _day(value: Any) -> date:
    text = str(value)[:10].replace("/", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"--plot: {value!r} is not a day (YYYY/MM/DD)") from None


def counts(columns: Sequence[str], rows: Sequence[Sequence[Any]], kind: str, into: Counts | None = None) -> Counts:
    if not set(NEEDED) <= set(columns):
        raise BadInputError(f"--plot draws a failures-per-day result (columns day, failures); got {', '.join(columns)}")
    found = into or Counts({})
    day_at, count_at = columns.index("day"), columns.index("failures")
    name_at = columns.index("function_name") if "function_name" in columns else None
    for row in rows:
        name = str(row[name_at] or "(unknown function)") if name_at is not None else "failures"
        key = (_day(row[day_at]), f"{name} ({kind})")
        found.per_day[key] = found.per_day.get(key, 0) + float(row[count_at] or 0)
    return found


def bucket_of(day: date, span_days: int) -> tuple[date, int]:
    """(first day, length in days) of the bar a day falls in, for a range of `span_days`."""
    if span_days <= DAILY_UP_TO:
        return day, 1
    if span_days <= WEEKLY_UP_TO:
        return day - timedelta(days=day.weekday()), 7
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return day.replace(day=1), (following - day.replace(day=1)).days


def _bucket_name(span_days: int) -> str:
    return "day" if span_days <= DAILY_UP_TO else "week (from Monday)" if span_days <= WEEKLY_UP_TO else "month"


def _kind(series: str) -> str:
    return series.rsplit("(", 1)[-1].rstrip(")")


def _top_series(data: Counts) -> dict[str, str]:
    """Each series -> the one it is drawn as (itself, or "other (<kind>)"), in drawing order."""
    totals: dict[str, float] = defaultdict(float)
    for (_, series), value in data.per_day.items():
        totals[series] += value
    drawn: dict[str, str] = {}
    for kind, top in TOP.items():
        ranked = sorted((s for s in totals if _kind(s) == kind), key=lambda s: (-totals[s], s))
        keep = ranked if len(ranked) <= top + 1 else ranked[:top]
        drawn.update({s: s if s in keep else f"other ({kind})" for s in ranked})
    return drawn


@dataclass(frozen=True)
class Chart:
    """What was drawn, as a reader of the picture would describe it."""

    title: str
    bucket: str
    x_from: date
    x_to: date  # exclusive: the day after the last
    legend: list[str]
    bars: int
    total: int
    empty: bool


def draw(data: Counts, path: Path, first: date | None, last: date | None, source: str) -> Chart:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

    days = sorted({d for d, _ in data.per_day})
    first = first or (days[0] if days else datetime.now(UTC).date())
    last = last or (days[-1] if days else first)
    span = (last - first).days + 1
    inside = {k: v for k, v in data.per_day.items() if first <= k[0] <= last}
    data = Counts(inside)
    drawn_as = _top_series(data)
    series = list(dict.fromkeys(drawn_as.values()))
    bars: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    widths: dict[date, int] = {}
    for (day, name), value in data.per_day.items():
        start, width = bucket_of(day, span)
        widths[start] = width
        bars[drawn_as[name]][start] += value

    figure, axes = pyplot.subplots(figsize=(11, 4.5))
    starts = sorted(widths)
    bottoms = dict.fromkeys(starts, 0.0)
    tab10 = pyplot.get_cmap("tab10")
    colours = [tab10(i) for i in range(10) if i != 7]  # grey is for "other"
    for index, name in enumerate(series):
        heights = [bars[name].get(s, 0.0) for s in starts]
        axes.bar(
            [mdates.date2num(s) + widths[s] / 2 for s in starts],
            heights,
            width=[widths[s] * 0.85 for s in starts],
            bottom=[bottoms[s] for s in starts],
            color="#9e9e9e" if name.startswith("other (") else colours[index % len(colours)],
            hatch="//" if name.endswith("(stream)") else None,
            edgecolor="white",
            linewidth=0.5,
            label=name,
        )
        for s, h in zip(starts, heights, strict=True):
            bottoms[s] += h
    axes.set_xlim(mdates.date2num(first), mdates.date2num(last + timedelta(days=1)))
    highest = max(bottoms.values(), default=0)
    axes.set_ylim(0, highest * 1.15 + 1)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if span <= 3:  # a tick under each day's bar, named by the day
        ticks = [first + timedelta(days=n) for n in range(span)]
        axes.set_xticks([mdates.date2num(d) + 0.5 for d in ticks], [d.isoformat() for d in ticks])
    else:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes.set_ylabel(f"failures per {_bucket_name(span).split()[0]}")
    axes.set_xlabel(f"{_bucket_name(span)}, UTC")
    axes.grid(axis="y", alpha=0.3)
    total = int(data.total)
    title = (
        f"Failures per {_bucket_name(span)}: {source}\n{first.isoformat()} to {last.isoformat()} (UTC), "
        f"{total} failure{'s' if total != 1 else ''}"
    )
    axes.set_title(title, fontsize="medium")
    if total == 0:
        axes.text(0.5, 0.5, "no failures in range", transform=axes.transAxes, ha="center", va="center", fontsize=16)
    else:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title="function (kind)")
    x_from, x_to = (mdates.num2date(x).date() for x in axes.get_xlim())
    legend = axes.get_legend()
    chart = Chart(
        title,
        _bucket_name(span),
        x_from,
        x_to,
        [t.get_text() for t in legend.get_texts()] if legend else [],
        len(starts),
        total,
        total == 0,
    )
    try:
        figure.savefig(path, format="png", bbox_inches="tight", dpi=100)
    except OSError as error:
        raise BadInputError(f"--plot cannot write {path}: {error.strerror}") from None
    finally:
        pyplot.close(figure)
    return chart


def plot_failures_per_day(
    columns: list[str],
    rows: list[tuple[Any, ...]],
    path: Path,
    first: date | None = None,
    last: date | None = None,
    source: str = "the archive",
    stream_rows: Callable[[str], tuple[list[str], list[tuple[Any, ...]]]] | None = None,
) -> Chart:
    """The async result given, plus the stream failures `stream_rows(STREAM_PER_DAY)` returns."""
    data = counts(columns, rows, "async")
    if stream_rows is not None:
        stream_columns, stream = stream_rows(STREAM_PER_DAY)
        counts(stream_columns, stream, "stream", data)
    return draw(data, path, first, last, source)
