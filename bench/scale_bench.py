"""The archive at incident scale: a day's and a month's named query over raw records and over
the compacted layout, locally (time, peak memory) and as Athena would see them (objects opened,
bytes scanned, computed from the layout), with equal answers asserted.

BENCH_SCALE_RECORDS records (default 30,000; the README's figures are 1,000,000) over 30 days
and two functions, in the archive's key layout (archive_format), each a real processor failure
as Lambda writes it. BENCH_SCALE_ARCHIVE names a folder to generate into once and reuse (the
raw records are generated only if it holds no complete archive of that size; compaction runs
at most once there, as it would in a real archive).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from common import alternating, pair
from query_bench import _peak_kib
from support.archive import FAILING_EVENTS, failure_of

from failctl.archive import compaction
from failctl.archive.compacted import compacted_days
from failctl.archive.local_query import run_local, used_columns
from failctl.archive.stores import FolderStore, async_keys, days
from failctl.emulation.lambda_writer import async_failure_record
from lambda_failures.archive_format import ASYNC_COLUMNS, ASYNC_PARTITIONS, ASYNC_TABLE, async_failure_key
from lambda_failures.queries import query_named

RECORDS = int(os.environ.get("BENCH_SCALE_RECORDS", "30000"))
REPEATS = int(os.environ.get("BENCH_SCALE_REPEATS", "3"))
FUNCTIONS = ("orders-processor", "payments-processor")
FIRST = date(2026, 10, 1)
DAYS = 30
LAST = FIRST + timedelta(days=DAYS - 1)
DAY = date(2026, 10, 15)
ATHENA_PER_TB = 5.0  # USD per TB scanned, 10 MB minimum per query
GET_PER_1000 = 0.0004  # USD per 1,000 S3 GETs (Standard)


def generate(root: Path, records: int) -> None:
    """`records` failures spread evenly over DAYS days and FUNCTIONS, in the archive's layout."""
    done = root / ".bench-complete"
    if done.exists() and done.read_text() == str(records):
        return
    rng = random.Random(21)
    failures = [(event, failure_of(event)) for event in FAILING_EVENTS]
    start = datetime.combine(FIRST, datetime.min.time(), UTC)
    per_day = records // DAYS
    for day in range(DAYS):
        count = per_day + (day < records % DAYS)
        made: set[Path] = set()
        for n in range(count):
            function = FUNCTIONS[n % len(FUNCTIONS)]
            at = start + timedelta(days=day, seconds=n * 86_400 / count)
            event, error = failures[rng.randrange(len(failures))]
            arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function}"
            path = root / async_failure_key(function, at, f"{day:02d}{n:07d}-0000-4000-8000-000000000000")
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_text(json.dumps(async_failure_record(arn, event, at, error)))
    done.write_text(str(records))


class RawOnly:
    """The same folder as it was before compaction (raw records only: no compacted day is seen)."""

    read_concurrency = 1  # a folder's

    def __init__(self, root: Path) -> None:
        self._folder = FolderStore(root)

    def children(self, prefix: str) -> list[str]:
        return self._folder.children(prefix)

    def keys(self, prefix: str) -> Iterator[tuple[str, int | None]]:
        return self._folder.keys(prefix)

    def read(self, key: str) -> bytes:
        return self._folder.read(key)


def raw_store(root: Path) -> RawOnly:
    return RawOnly(root)


def athena_view(root: Path, sql: str, first: date, last: date) -> dict[str, dict[str, float]]:
    """What Athena would open and scan: every raw object of the days (the JSON SerDe reads each
    whole), or the compacted files of the days and, in them, the column chunks the query reads."""
    wanted = days(first, last)
    store = FolderStore(root)
    raw = [(root / item.key).stat().st_size for item in async_keys(store, wanted)]
    compacted = compacted_days(store, wanted)
    files = [str(root / key) for keys in compacted.values() for key in keys]
    columns = {c.name for c in used_columns(sql, ASYNC_TABLE, ASYNC_COLUMNS + ASYNC_PARTITIONS)}
    con = duckdb.connect()
    scanned = con.execute(
        "SELECT coalesce(sum(total_compressed_size), 0) FROM parquet_metadata(?) "
        "WHERE split_part(path_in_schema, ', ', 1) IN (SELECT unnest(?))",
        [files, sorted(columns)],
    ).fetchone()[0]
    footers = (
        sum(os.path.getsize(f) for f in files)
        - con.execute("SELECT coalesce(sum(total_compressed_size), 0) FROM parquet_metadata(?)", [files]).fetchone()[0]
    )
    return {
        "raw": _costs(len(raw), sum(raw)),
        "compacted": _costs(len(files), scanned + max(footers, 0)),
    }


def _costs(objects: int, scanned: int) -> dict[str, float]:
    billed = max(scanned, 10 * 1024**2)
    return {
        "objects": objects,
        "bytes": scanned,
        "usd": billed / 1024**4 * ATHENA_PER_TB + objects / 1000 * GET_PER_1000,
    }


def peak_mb(root: Path, layout: str, name: str, first: date, last: date) -> float:
    """VmHWM of a fresh interpreter running the query once on one layout."""
    done = subprocess.run(
        [sys.executable, __file__, "--peak", str(root), layout, name, first.isoformat(), last.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)},
    )
    return float(done.stdout.split()[-1])


def _store(root: Path, layout: str) -> FolderStore | RawOnly:
    return raw_store(root) if layout == "raw" else FolderStore(root)


def _compacted_files_per_day(root: Path) -> Iterator[int]:
    for keys in compacted_days(FolderStore(root), None).values():
        yield len(keys)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(os.environ.get("BENCH_SCALE_ARCHIVE") or scratch)
        start = time.perf_counter()
        generate(root, RECORDS)
        made = time.perf_counter() - start
        print(f"{RECORDS:,} records over {DAYS} days and {len(FUNCTIONS)} functions ({made:.0f} s)")
        start = time.perf_counter()
        outcomes = compaction.compact(FolderStore(root), today=LAST + timedelta(days=2))
        compacted_now = [o for o, _ in outcomes if o.status == "compacted"]
        seconds = time.perf_counter() - start
        per_day = list(_compacted_files_per_day(root))
        assert len(per_day) == DAYS * len(FUNCTIONS) and max(per_day) <= 10, per_day
        raw_bytes = sum(p.stat().st_size for p in (root / "aws").rglob("*") if p.is_file())
        parquet_bytes = sum(p.stat().st_size for p in (root / "compacted").rglob("*.parquet"))
        print(
            f"  compaction: {len(per_day)} function-days, at most {max(per_day)} file(s) a day; "
            f"{raw_bytes / 1e6:.0f} MB of JSON objects -> {parquet_bytes / 1e6:.1f} MB of Parquet"
            + (f" ({seconds:.0f} s for {len(compacted_now)} days this run)" if compacted_now else "")
        )
        sql = query_named("errors-by-type").sql
        for label, first, last in (("one day", DAY, DAY), (f"{DAYS} days", FIRST, LAST)):
            expected = run_local(raw_store(root), sql, first, last)
            assert sum(n for _, n in expected.rows) == expected.load.objects > 0, "every record counted"

            def compacted(first=first, last=last, rows=expected.rows):
                result = run_local(FolderStore(root), sql, first, last)
                assert result.rows == rows and result.load.objects == 0 and result.load.compacted_files > 0

            def raw(first=first, last=last, rows=expected.rows):
                assert run_local(raw_store(root), sql, first, last).rows == rows

            fast, slow = alternating(compacted, raw, repeats=REPEATS)
            print(pair(f"errors-by-type, {label}: compacted vs raw", fast, slow))
            peaks = {layout: peak_mb(root, layout, "errors-by-type", first, last) for layout in ("compacted", "raw")}
            seen = athena_view(root, sql, first, last)
            print(
                f"    peak RSS {peaks['compacted']:.0f} MB compacted, {peaks['raw']:.0f} MB raw; as Athena would "
                f"see it: {seen['compacted']['objects']:,} files, {seen['compacted']['bytes'] / 1e6:.2f} MB scanned, "
                f"${seen['compacted']['usd']:.4f} compacted; {seen['raw']['objects']:,} objects, "
                f"{seen['raw']['bytes'] / 1e6:.0f} MB scanned, ${seen['raw']['usd']:.4f} raw"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        _, _, folder, layout, name, first, last = sys.argv
        span = date.fromisoformat(first), date.fromisoformat(last)
        run_local(_store(Path(folder), layout), query_named(name).sql, *span)
        print(_peak_kib() / 1024)
    else:
        main()
