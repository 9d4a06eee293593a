"""`failctl compact`: each closed day of each function's async records, rewritten once as
zstd Parquet with DuckDB (the async table's columns and partitions, read the way the JSON
SerDe reads them), so that a month's query opens tens of files instead of millions.

Each day is claimed first with the markers replay uses (markers/compactions/<function>/YYYY/MM/DD,
an S3 conditional write, or an exclusive file in a folder): two runs cannot both compact it.
Files go to fixed names, then the claim is settled `done` naming them; queries read a day's
files only once its claim says so, and its raw records until then. A run that dies leaves
the claim `claimed`: after `takeover_seconds` another run takes the day over and writes the
same names again, so whatever the dead run left is replaced, never read twice. Raw records
are never changed or deleted.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from botocore.exceptions import ClientError

from failctl.archive.compacted import CompactionMarkers, function_names, present_days
from failctl.archive.local_query import ASYNC_KEY_PARTITIONS, LoadReport, load_rows
from failctl.archive.stores import FolderStore, S3Store, Store, async_keys
from lambda_failures.archive_format import (
    ASYNC_COLUMNS,
    ASYNC_PARTITIONS,
    ASYNC_PREFIX,
    ASYNC_TABLE,
    compacted_day_prefix,
    day_path,
)
from lambda_failures.aws_errors import error_code
from lambda_failures.claims import LOST_RACE, Claim, ClaimState

# Lambda delivers a record at most 6 hours (the longest event age) after its event, stamped
# with the day it fails on: a day is closed once a full day has passed after it.
CLOSED_AFTER = timedelta(days=2)
# A claim older than this belongs to a run that died: its day may be compacted again.
TAKEOVER_SECONDS = 900
MAX_FILES_PER_DAY = 10
ROWS_PER_FILE = 2_000_000
PARQUET = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880"


@dataclass
class DayOutcome:
    function: str
    day: date
    status: str  # compacted, skipped, failed
    detail: str = ""
    rows: int = 0
    files: list[str] = field(default_factory=list)


def candidates(
    store: Store, function: str | None, first: date | None, last: date | None, today: date
) -> list[tuple[str, date]]:
    """(function, day) of every closed day with raw records, within [first, last] when given."""
    newest_closed = today - CLOSED_AFTER
    found = []
    for name in function_names(store, function):
        for day in present_days(store, f"{ASYNC_PREFIX}{name}/"):
            if day <= newest_closed and (first is None or day >= first) and (last is None or day <= last):
                found.append((name, day))
    return sorted(found)


def compact_day(
    store: Store, function: str, day: date, takeover_seconds: float = TAKEOVER_SECONDS
) -> tuple[DayOutcome, LoadReport]:
    """Claim the day, write its files, settle the claim naming them."""
    markers = CompactionMarkers(store).claims
    name = f"{function}/{day_path(day)}"
    load = LoadReport()
    claim = markers.claim(name, {"function": function}, retry_uncertain=True, lease_seconds=takeover_seconds)
    if not isinstance(claim, Claim):
        why = "already compacted" if claim is ClaimState.DONE else "being compacted by another run"
        return DayOutcome(function, day, "skipped", why), load
    try:
        rows, files = _write_day(store, function, day, load)
    except (duckdb.Error, OSError) as error:
        markers.settle(claim, ClaimState.FAILED, {"detail": str(error)[:500]})
        return DayOutcome(function, day, "failed", str(error)), load
    detail = {"files": files, "rows": rows, "objects": load.objects, "unreadable": len(load.skipped)}
    try:
        markers.settle(claim, ClaimState.DONE, detail)
    except (RuntimeError, ClientError) as error:
        if isinstance(error, ClientError) and error_code(error) not in LOST_RACE:
            raise
        # Another run took the day over (this one was slower than the takeover time): the
        # files have the same names, and the day is that run's to settle.
        return DayOutcome(function, day, "skipped", "taken over by another run"), load
    return DayOutcome(function, day, "compacted", f"{rows} rows in {len(files)} files", rows, files), load


def _write_day(store: Store, function: str, day: date, load: LoadReport) -> tuple[int, list[str]]:
    con = duckdb.connect()
    columns = ASYNC_COLUMNS + ASYNC_PARTITIONS
    load_rows(con, store, ASYNC_TABLE, columns, async_keys(store, [day], function), ASYNC_KEY_PARTITIONS, load)
    counted = con.execute(f'SELECT count(*) FROM "{ASYNC_TABLE}"').fetchone()
    rows = counted[0] if counted else 0
    if not rows:
        return 0, []
    parts = min(MAX_FILES_PER_DAY, math.ceil(rows / ROWS_PER_FILE))
    per_file = math.ceil(rows / parts)
    prefix = compacted_day_prefix(function, day)
    files = []
    with tempfile.TemporaryDirectory(prefix="failctl-compact-") as scratch:
        for part in range(parts):
            key = f"{prefix}part-{part:05d}.parquet"
            local = os.path.join(scratch, f"part-{part:05d}.parquet")
            con.execute(
                f'COPY (SELECT * FROM "{ASYNC_TABLE}" ORDER BY "timestamp", requestcontext.requestid '
                f"LIMIT {per_file} OFFSET {part * per_file}) TO '{local}' ({PARQUET})"
            )
            _put(store, key, local)
            files.append(key)
    return rows, files


def _put(store: Store, key: str, local: str) -> None:
    """Into place under its fixed name: atomically in a folder, as one PUT in a bucket."""
    if isinstance(store, FolderStore):
        target = store.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        staging.write_bytes(Path(local).read_bytes())
        os.replace(staging, target)
    elif isinstance(store, S3Store):
        with open(local, "rb") as body:
            store.client.put_object(**store._where(key), Body=body)  # ExpectedBucketOwner included
    else:
        raise TypeError(f"cannot write to {type(store).__name__}")


def compact(
    store: Store,
    function: str | None = None,
    first: date | None = None,
    last: date | None = None,
    today: date | None = None,
    takeover_seconds: float = TAKEOVER_SECONDS,
) -> list[tuple[DayOutcome, LoadReport]]:
    today = today or datetime.now(UTC).date()
    days = candidates(store, function, first, last, today)
    return [compact_day(store, name, day, takeover_seconds) for name, day in days]
