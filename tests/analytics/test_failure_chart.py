"""`failctl query failures-per-day --plot`: a chart people read, from one day to a year.

Each picture was also looked at (1, 30, 120 and 365 days of a nine-function archive); these
tests hold what was checked there: the axis spans --from..--to, the bucket grows with the range,
the legend is outside the plot with the top functions per kind and "other", stream failures are
drawn, and an empty range says so."""

from datetime import date, timedelta

import pytest
from support.archive import DAY_ONE, build_archive
from support.owners import reexecuted

from failctl import cli
from failctl.archive import plot
from lambda_failures import queries

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("day", "span", "expected"),
    [
        (date(2026, 3, 18), 1, (date(2026, 3, 18), 1)),
        (date(2026, 3, 18), 60, (date(2026, 3, 18), 1)),
        (date(2026, 3, 18), 61, (date(2026, 3, 16), 7)),  # the Monday of its week
        (date(2026, 3, 18), 200, (date(2026, 3, 16), 7)),
        (date(2026, 3, 18), 365, (date(2026, 3, 1), 31)),
        (date(2026, 12, 31), 365, (date(2026, 12, 1), 31)),
        (date(2028, 2, 10), 365, (date(2028, 2, 1), 29)),
    ],
)
def test_buckets_grow_with_the_range(day, span, expected):
    assert plot.bucket_of(day, span) == expected


def _data(functions: int, days: int, first: date) -> plot.Counts:
    data = plot.Counts({})
    for n in range(days):
        for f in range(functions):
            data.per_day[(first + timedelta(days=n), f"fn-{f} (async)")] = float(f + 1)
    data.per_day[(first, "consumer (stream)")] = 1.0
    return data


@pytest.mark.parametrize(
    ("days", "bucket", "bars"), [(1, "day", 1), (30, "day", 30), (120, "week", 18), (365, "month", 12)]
)
def test_the_axis_spans_the_range_asked_for_with_readable_buckets(tmp_path, days, bucket, bars):
    first = date(2026, 1, 1)
    last = first + timedelta(days=days - 1)
    # Data only in the middle of the range: the axis must still run from --from to --to.
    middle = first + timedelta(days=days // 2)
    chart = plot.draw(_data(9, 1, middle), tmp_path / "c.png", first, last, "s3://bucket")
    assert (chart.x_from, chart.x_to) == (first, last + timedelta(days=1))
    assert chart.bucket.startswith(bucket)
    assert f"{first.isoformat()} to {last.isoformat()} (UTC)" in chart.title and "s3://bucket" in chart.title
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG
    chart = plot.draw(_data(9, days, first), tmp_path / "d.png", first, last, "archive")
    assert chart.bars == bars


def test_top_functions_then_other_and_stream_failures_never_hidden(tmp_path):
    chart = plot.draw(_data(9, 3, date(2026, 1, 1)), tmp_path / "c.png", None, None, "archive")
    assert len([label for label in chart.legend if label.endswith("(async)")]) == 7  # 6 + other
    assert "other (async)" in chart.legend and "consumer (stream)" in chart.legend
    assert chart.legend[:2] == ["fn-8 (async)", "fn-7 (async)"]  # most failures first


def test_an_empty_range_says_so(tmp_path, capsys):
    picture = tmp_path / "none.png"
    days = ["--from", "2027-01-01", "--to", "2027-01-31"]
    code = cli.main(["query", "failures-per-day", "--source", str(tmp_path), *days, "--plot", str(picture)])
    assert code == 0 and picture.read_bytes()[:8] == PNG
    chart = plot.draw(plot.Counts({}), tmp_path / "x.png", date(2027, 1, 1), date(2027, 1, 31), "archive")
    assert chart.empty and chart.legend == [] and chart.x_from == date(2027, 1, 1)


def test_the_cli_draws_async_and_stream_failures_of_an_archive(tmp_path, monkeypatch):
    archive = tmp_path / "archive"
    build_archive(archive, days=3)
    drawn = []
    real = plot.draw
    monkeypatch.setattr(plot, "draw", lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1])
    first = DAY_ONE.date()
    days = ["--from", str(first - timedelta(days=2)), "--to", str(first + timedelta(days=10))]
    code = cli.main(["query", "failures-per-day", "--source", str(archive), *days, "--plot", str(tmp_path / "c.png")])
    (chart,) = drawn
    assert code == 0
    assert any(label.endswith("(stream)") for label in chart.legend)
    assert chart.x_from == first - timedelta(days=2) and chart.x_to == first + timedelta(days=11)


def test_the_chart_counts_a_stream_record_on_the_day_the_named_queries_give_it(monkeypatch):
    """One SQL expression (queries.STREAM_RECORD_DAY) gives a stream record its day, for the
    named queries' ranges and for the chart's days and range alike."""
    monkeypatch.setattr(queries, "STREAM_RECORD_DAY", "day_of_record")
    chart_query = reexecuted("failctl.archive.plot").STREAM_PER_DAY
    assert chart_query.count("day_of_record") == 2 and "timestamp" not in chart_query
