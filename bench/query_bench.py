"""A one-day query over a 30-day archive: bytes read with day partitions versus a full scan."""

import random
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from common import median_seconds, min_and_median, pair, row
from support.archive import FAILING_EVENTS, FUNCTION, FUNCTION_ARN, failure_of, write

from failctl.archive.local_query import run_local
from failctl.archive.stores import FolderStore
from failctl.emulation.lambda_writer import async_failure_key, async_failure_record
from lambda_failures.queries import query_named

DAYS, PER_DAY = 30, 200


def build(root: Path) -> None:
    rng = random.Random(7)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for day in range(DAYS):
        for n in range(PER_DAY):
            event = rng.choice(FAILING_EVENTS)
            at = start + timedelta(days=day, seconds=n * 7)
            write(
                root, async_failure_key(FUNCTION, at), async_failure_record(FUNCTION_ARN, event, at, failure_of(event))
            )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build(root)
        store, sql, day = FolderStore(root), query_named("errors-by-action").sql, date(2026, 10, 15)
        pruned = run_local(store, sql, day, day)
        full = run_local(store, sql)  # the reference design: one table over every record, no partitions
        print(f"errors-by-action for one day of a {DAYS}-day archive ({DAYS * PER_DAY} records)")
        print(row("bytes read, full scan (no partitions)", full.load.bytes_read / 1e6, "MB"))
        print(
            row(
                "bytes read, day partitions (this project)",
                pruned.load.bytes_read / 1e6,
                "MB",
                full.load.bytes_read / 1e6,
            )
        )
        full_s = median_seconds(lambda: run_local(store, sql), repeats=3)
        day_s = median_seconds(lambda: run_local(store, sql, day, day), repeats=3)
        print(row("local query time, full scan", full_s, "s"))
        print(row("local query time, one day", day_s, "s", full_s))
        print("errors-by-type over every record, next to DuckDB's own read_json of the same files")
        ours = min_and_median(lambda: run_local(store, query_named("errors-by-type").sql), repeats=5)
        floor = min_and_median(lambda: bare_duckdb(root), repeats=5)
        print(pair(f"failctl query ({DAYS * PER_DAY} objects)", ours, floor))


def bare_duckdb(root: Path) -> list:
    """The floor: DuckDB reads the same objects itself and runs the same aggregation."""
    con = duckdb.connect()
    return con.execute(
        "SELECT COALESCE(json_extract_string(responsePayload, '$.errorType'), requestContext.condition, "
        "'Unknown') AS error_type, count(*) AS error_count FROM read_json(?, format = 'auto', "
        "columns = {'requestContext': 'STRUCT(condition VARCHAR)', 'responsePayload': 'JSON'}) "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        [str(root / "aws/lambda/async/**/*")],
    ).fetchall()


if __name__ == "__main__":
    main()
