"""Local queries: bytes read with day partitions versus a full scan, and `failctl query` next to
DuckDB's own read_json of the same files (and to bare Python reading and parsing them).

The archive size is BENCH_QUERY_OBJECTS (default 6,000 objects over 30 days, quick enough for
`make bench`; 100000 shows how it scales); BENCH_QUERY_ARCHIVE names a folder to build it in
once and reuse. Every timed run must give the answer the first run gave. Peak memory is each side's maximum resident set
size in a fresh interpreter doing one run, as the operator's shell would see it.
"""

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from common import alternating, pair, row
from support.archive import FAILING_EVENTS, FUNCTION, FUNCTION_ARN, failure_of, write

from failctl.archive.local_query import run_local
from failctl.archive.stores import FolderStore
from failctl.emulation.lambda_writer import async_failure_key, async_failure_record
from lambda_failures.queries import query_named

DAYS = 30
OBJECTS = int(os.environ.get("BENCH_QUERY_OBJECTS", "6000"))
REPEATS = int(os.environ.get("BENCH_QUERY_REPEATS", "5"))


def build(root: Path, objects: int = OBJECTS) -> None:
    """`objects` failures spread evenly over DAYS days, each a real processor failure."""
    rng = random.Random(7)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for day in range(DAYS):
        per_day = objects // DAYS + (day < objects % DAYS)
        spacing = 86_400 / max(per_day, 1)
        for n in range(per_day):
            event = rng.choice(FAILING_EVENTS)
            at = start + timedelta(days=day, seconds=n * spacing)
            write(
                root, async_failure_key(FUNCTION, at), async_failure_record(FUNCTION_ARN, event, at, failure_of(event))
            )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(os.environ.get("BENCH_QUERY_ARCHIVE") or folder)
        if not (root / "aws").exists():
            build(root)
        store, sql, day = FolderStore(root), query_named("errors-by-action").sql, date(2026, 10, 15)
        pruned = run_local(store, sql, day, day)
        full = run_local(store, sql)  # the reference design: one table over every record, no partitions
        objects = full.load.objects
        assert pruned.load.objects > 0 and pruned.rows and objects > pruned.load.objects, "the day has records"
        print(f"errors-by-action for one day of a {DAYS}-day archive ({objects} records)")
        print(row("bytes read, full scan (no partitions)", full.load.bytes_read / 1e6, "MB"))
        print(row("bytes read, day partitions", pruned.load.bytes_read / 1e6, "MB", full.load.bytes_read / 1e6))
        day_s, full_s = alternating(
            lambda: run_local(store, sql, day, day).rows == pruned.rows or _fail("day"),
            lambda: run_local(store, sql).rows == full.rows or _fail("full"),
            repeats=3,
        )
        print(pair("local query time, one day vs full scan", day_s, full_s))
        print(f"errors-by-type over every record ({REPEATS} runs each, alternating) next to the same work")
        errors_by_type = query_named("errors-by-type").sql
        answer = sorted(run_local(store, errors_by_type).rows)
        assert sum(n for _, n in answer) == objects > 0, "every record counted"
        assert answer == sorted(bare_duckdb(root)) and dict(answer) == bare_python(root), "the floors must agree"
        ours, duck, python = alternating(
            lambda: sorted(run_local(store, errors_by_type).rows) == answer or _fail("ours"),
            lambda: sorted(bare_duckdb(root)) == answer or _fail("read_json"),
            lambda: bare_python(root) == dict(answer) or _fail("bare Python"),
            repeats=REPEATS,
        )
        print(pair(f"failctl query ({objects} objects) vs read_json", ours, duck))
        print(pair("  same, vs bare Python read + json.loads", ours, python))
        peaks = {side: peak_rss_mb(side, root) for side in ("ours", "duckdb", "python", "imports")}
        print(
            f"  peak RSS, one run in a fresh interpreter: failctl query {peaks['ours']:.0f} MB, "
            f"DuckDB read_json {peaks['duckdb']:.0f} MB, bare Python {peaks['python']:.0f} MB "
            f"(interpreter with failctl's imports, no query: {peaks['imports']:.0f} MB)"
        )


def _fail(side: str) -> bool:
    raise AssertionError(f"{side}: a timed run gave another answer")


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


def bare_python(root: Path) -> dict[str, int]:
    """A second floor: list, read and json.loads every object and count, with no checks and
    no engine: what any Python reader of these files pays."""
    counts: Counter[str] = Counter()
    for folder, _, names in os.walk(root / "aws/lambda/async"):
        for name in names:
            with open(os.path.join(folder, name), "rb") as file:
                record = json.loads(file.read())
            response = record.get("responsePayload")
            error_type = response.get("errorType") if isinstance(response, dict) else None
            counts[error_type or record["requestContext"].get("condition") or "Unknown"] += 1
    return dict(counts)


def peak_rss_mb(side: str, root: Path) -> float:
    """Maximum resident set size of a fresh interpreter running one side once."""
    done = subprocess.run(
        [sys.executable, __file__, "--peak", side, str(root)], check=True, capture_output=True, text=True
    )
    return float(done.stdout.split()[-1])


def _one_run(side: str, root: Path) -> None:
    if side == "ours":
        run_local(FolderStore(root), query_named("errors-by-type").sql)
    elif side == "duckdb":
        bare_duckdb(root)
    elif side == "python":
        bare_python(root)
    print(_peak_kib() / 1024)


def _peak_kib() -> int:
    """VmHWM, this process's own high-water mark: getrusage's ru_maxrss can carry over the
    parent's across fork and exec, which would hide the difference being measured."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        _one_run(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
