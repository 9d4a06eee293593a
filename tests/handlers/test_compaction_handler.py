"""The compaction function against moto's S3 and Glue, with Athena answering as scripted: each
closed day compacted once, a failed or dead attempt redone from a clean partition, expiry only
of days whose rows match their objects; and the view's semantics, run in DuckDB."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import boto3
import duckdb
import pytest
from moto import mock_aws
from support.lambda_context import LambdaContext

from failctl.archive.local_query import JSON_SCALAR_MACRO, duck_type, run_local, to_duckdb
from failctl.archive.stores import FolderStore
from lambda_failures import archive_format
from lambda_failures.archive_format import ASYNC_COLUMNS, ASYNC_PARTITIONS, async_failure_key
from lambda_failures.queries import all_days_view_sql, compaction_statement, named_queries

ACCOUNT = "123456789012"
BUCKET = f"archive-{ACCOUNT}-eu-west-1-an"
DATABASE = "lambda_failures_test"
FUNCTION = "orders-processor"
TODAY = date(2026, 11, 29)
CLOSED = TODAY - timedelta(days=2)


class ScriptedAthena:
    """Athena's answers, one final state per statement (RUNNING: never finishes)."""

    def __init__(self, *states: str, rows: int | None = None) -> None:
        self.states = list(states)
        self.statements: list[str] = []
        self.rows = rows
        self._state: dict[str, str] = {}

    def start_query_execution(self, QueryString, WorkGroup, QueryExecutionContext):  # noqa: N803 (boto3's names)
        assert WorkGroup == "failures" and QueryExecutionContext == {"Database": DATABASE}
        self.statements.append(QueryString)
        query_id = f"q{len(self.statements)}"
        self._state[query_id] = self.states.pop(0) if self.states else "SUCCEEDED"
        return {"QueryExecutionId": query_id}

    def get_query_execution(self, QueryExecutionId):  # noqa: N803
        state = self._state[QueryExecutionId]
        return {"QueryExecution": {"Status": {"State": state, "StateChangeReason": f"{state} for a reason"}}}

    def get_query_runtime_statistics(self, QueryExecutionId):  # noqa: N803
        return {"QueryRuntimeStatistics": {"Rows": {"OutputRows": self.rows}}}


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        glue = boto3.client("glue", region_name="eu-west-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        glue.create_database(DatabaseInput={"Name": DATABASE})
        glue.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": "failed_events_compacted",
                "PartitionKeys": [{"Name": "function_name", "Type": "string"}, {"Name": "day", "Type": "string"}],
                "StorageDescriptor": {"Location": f"s3://{BUCKET}/compacted/athena/failed_events/"},
            },
        )
        from lambda_failures.handlers import compaction

        monkeypatch.setattr(compaction, "s3", s3)
        monkeypatch.setattr(compaction, "glue", glue)
        monkeypatch.setattr(compaction, "sleep", lambda seconds: None)
        config = compaction.Config(
            DATABASE, "failed_events", "failed_events_compacted", "failures", BUCKET, ACCOUNT, (FUNCTION,), 3
        )
        yield {"s3": s3, "glue": glue, "module": compaction, "config": config, "monkeypatch": monkeypatch}


def athena(aws, *states, rows=None) -> ScriptedAthena:
    scripted = ScriptedAthena(*states, rows=rows)
    aws["monkeypatch"].setattr(aws["module"], "athena", scripted)
    return scripted


def raw(aws, day: date, count: int) -> None:
    for n in range(count):
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(minutes=n)
        aws["s3"].put_object(Bucket=BUCKET, Key=async_failure_key(FUNCTION, at), Body=b"{}")


def claim(aws, day: date) -> dict:
    key = f"markers/athena-compactions/{FUNCTION}/{day:%Y/%m/%d}/claim"
    return json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())


def far() -> float:
    return time.monotonic() + 600


def test_each_closed_day_is_compacted_once_with_its_own_statement(aws):
    for back in range(3):
        raw(aws, CLOSED - timedelta(days=back), 2)
    raw(aws, TODAY - timedelta(days=1), 2)  # not closed: left alone
    scripted = athena(aws, rows=2)
    first = aws["module"].run(aws["config"], TODAY, far())
    assert len(first["compacted"]) == 3
    expected = [
        compaction_statement(DATABASE, "failed_events", "failed_events_compacted", FUNCTION, f"{d:%Y/%m/%d}")
        for d in (CLOSED - timedelta(days=2), CLOSED - timedelta(days=1), CLOSED)
    ]
    assert scripted.statements == expected
    assert claim(aws, CLOSED)["state"] == "done" and claim(aws, CLOSED)["rows"] == 2
    again = aws["module"].run(aws["config"], TODAY, far())
    assert list(again) == ["skipped"] and len(scripted.statements) == 3


def test_a_failed_day_is_retried_from_a_clean_partition_and_fails_the_invocation(aws, monkeypatch):
    raw(aws, CLOSED, 1)
    athena(aws, "FAILED")
    monkeypatch.setenv("DATABASE", DATABASE)
    for key, value in {
        "RAW_TABLE": "failed_events",
        "COMPACTED_TABLE": "failed_events_compacted",
        "WORKGROUP": "failures",
        "ARCHIVE_BUCKET": BUCKET,
        "ARCHIVE_ACCOUNT": ACCOUNT,
        "FUNCTION_NAMES": json.dumps([FUNCTION]),
        "LOOKBACK_DAYS": "1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(aws["module"], "datetime", _Frozen)
    with pytest.raises(aws["module"].DaysNotCompactedError, match=f"1 days not compacted: {FUNCTION}"):
        aws["module"].handler({}, LambdaContext("compaction"))
    assert claim(aws, CLOSED)["state"] == "failed"
    # What the failed statement left: a partition and a file in it.
    location = f"s3://{BUCKET}/compacted/athena/failed_events/function_name={FUNCTION}/day=x/"
    aws["glue"].create_partition(
        DatabaseName=DATABASE,
        TableName="failed_events_compacted",
        PartitionInput={"Values": [FUNCTION, f"{CLOSED:%Y/%m/%d}"], "StorageDescriptor": {"Location": location}},
    )
    left = f"compacted/athena/failed_events/function_name={FUNCTION}/day=x/torn.parquet"
    aws["s3"].put_object(Bucket=BUCKET, Key=left, Body=b"torn")
    scripted = athena(aws, "SUCCEEDED", rows=1)
    assert aws["module"].handler({}, LambdaContext("compaction")) == {"compacted": 1}
    assert len(scripted.statements) == 1 and claim(aws, CLOSED)["state"] == "done"
    assert "Contents" not in aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="compacted/")
    partitions = aws["glue"].get_partitions(DatabaseName=DATABASE, TableName="failed_events_compacted")
    assert partitions["Partitions"] == []  # cleared before the statement (Athena adds its own)


class _Frozen(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


def test_a_partition_outside_the_compacted_location_is_not_cleared(aws):
    raw(aws, CLOSED, 1)
    aws["glue"].create_partition(
        DatabaseName=DATABASE,
        TableName="failed_events_compacted",
        PartitionInput={
            "Values": [FUNCTION, f"{CLOSED:%Y/%m/%d}"],
            "StorageDescriptor": {"Location": f"s3://{BUCKET}/aws/lambda/async/"},
        },
    )
    scripted = athena(aws)
    assert aws["module"].compact_day(aws["config"], FUNCTION, CLOSED, far()) == "failed"
    assert scripted.statements == [] and "not under the compacted table" in claim(aws, CLOSED)["detail"]


def test_a_statement_still_running_keeps_its_claim_and_a_dead_runs_claim_is_taken_over(aws, monkeypatch):
    raw(aws, CLOSED, 1)
    athena(aws, "RUNNING")
    assert aws["module"].compact_day(aws["config"], FUNCTION, CLOSED, time.monotonic() + 1) == "running"
    assert claim(aws, CLOSED)["state"] == "claimed"
    scripted = athena(aws, "SUCCEEDED", rows=1)
    assert aws["module"].compact_day(aws["config"], FUNCTION, CLOSED, far()) == "skipped"  # within its lease
    monkeypatch.setattr(aws["module"], "LEASE_SECONDS", 0)
    assert aws["module"].compact_day(aws["config"], FUNCTION, CLOSED, far()) == "compacted"
    assert len(scripted.statements) == 1 and claim(aws, CLOSED)["state"] == "done"


def test_an_empty_day_is_settled_without_a_statement(aws):
    scripted = athena(aws)
    assert aws["module"].compact_day(aws["config"], FUNCTION, CLOSED, far()) == "empty"
    assert scripted.statements == [] and claim(aws, CLOSED) | {"at": ""} == {"state": "done", "at": "", "rows": 0}


@pytest.mark.parametrize(("rows", "expected"), [(3, "expired"), (2, "kept"), (None, "kept")])
def test_raw_records_expire_only_when_the_compacted_rows_match_them(aws, rows, expected):
    raw(aws, CLOSED, 3)
    athena(aws, rows=rows)
    assert aws["module"].compact_day(aws["config"], FUNCTION, CLOSED, far()) == "compacted"
    config = aws["config"].__class__(**(aws["config"].__dict__ | {"expire_after_days": 30}))
    now = datetime.now(UTC)
    assert aws["module"].expire_day(config, FUNCTION, CLOSED, now + timedelta(days=29)) == "skipped"  # not due
    assert aws["module"].expire_day(config, FUNCTION, CLOSED, now + timedelta(days=31)) == expected
    left = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="aws/lambda/async/").get("KeyCount", 0)
    assert left == (0 if expected == "expired" else 3)
    # Expired once; a mismatch is checked (and counted) again on every run, never deleted.
    later = aws["module"].expire_day(config, FUNCTION, CLOSED, now + timedelta(days=32))
    assert later == ("skipped" if expected == "expired" else "kept")


def test_a_day_not_compacted_is_never_expired(aws):
    raw(aws, CLOSED, 2)
    config = aws["config"].__class__(**(aws["config"].__dict__ | {"expire_after_days": 1}))
    assert aws["module"].expire_day(config, FUNCTION, CLOSED, datetime.now(UTC) + timedelta(days=400)) == "skipped"
    assert aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="aws/lambda/async/")["KeyCount"] == 2


@pytest.mark.parametrize(
    ("function", "day"), [("x' OR 1=1 --", "2026/11/01"), ("fn", "2026-11-01"), ("a/b", "2026/11/01")]
)
def test_statements_take_only_a_function_name_and_a_day(function, day):
    with pytest.raises(ValueError):
        compaction_statement(DATABASE, "failed_events", "failed_events_compacted", function, day)


def test_a_statement_takes_its_day_as_the_archive_format_writes_days(monkeypatch):
    """The day a statement accepts is DAY_FORMAT's, the partition value the keys give it."""
    monkeypatch.setattr(archive_format, "DAY_FORMAT", "%Y-%m-%d")
    assert "day = '2026-11-01'" in compaction_statement(DATABASE, "t", "c", "fn", "2026-11-01")
    for other in ("2026/11/01", "2026-11-1"):
        with pytest.raises(ValueError):
            compaction_statement(DATABASE, "t", "c", "fn", other)


def test_the_view_reads_each_day_once_from_compacted_or_raw_as_the_named_queries_need(tmp_path):
    """The view's SQL, translated to DuckDB: compacted rows of days claimed done, raw rows of the
    others; a compacted day whose claim is not done (a dead run's rows) is not read."""
    from support.archive import build_archive

    build_archive(tmp_path, days=3)
    columns = ASYNC_COLUMNS + ASYNC_PARTITIONS
    everything = run_local(FolderStore(tmp_path), "SELECT * FROM failed_events")
    con = duckdb.connect()
    con.execute(JSON_SCALAR_MACRO)
    con.execute(f"CREATE SCHEMA {DATABASE}")
    ddl = ", ".join(f'"{c.name}" {duck_type(c.type)}' for c in columns)
    for table in ("failed_events", "failed_events_compacted"):
        con.execute(f'CREATE TABLE {DATABASE}."{table}" ({ddl})')
    con.execute(f"CREATE TABLE {DATABASE}.markers (state VARCHAR, function_name VARCHAR, day VARCHAR)")
    con.executemany(f"INSERT INTO {DATABASE}.failed_events VALUES ({', '.join('?' * len(columns))})", everything.rows)
    days = sorted({row[-1] for row in everything.rows})
    # Day one compacted and done; day two compacted by a run that died (claimed); day three raw.
    for day, state in ((days[0], "done"), (days[1], "claimed")):
        con.execute(
            f"INSERT INTO {DATABASE}.failed_events_compacted SELECT * FROM {DATABASE}.failed_events WHERE day = ?",
            [day],
        )
        con.execute(f"INSERT INTO {DATABASE}.markers VALUES (?, ?, ?)", [state, "lambda-failures-test-processor", day])
    view = to_duckdb(all_days_view_sql(DATABASE, "failed_events", "failed_events_compacted", "markers"))
    con.execute(f"CREATE VIEW {DATABASE}.all_days AS {view}")
    for raw_query, view_query in zip(named_queries(), named_queries(f"{DATABASE}.all_days"), strict=True):
        if "stream" in raw_query.name:
            continue
        parameters = ["0000/00/00", "9999/99/99"]
        expected = con.execute(
            to_duckdb(raw_query.sql.replace("FROM failed_events", f"FROM {DATABASE}.failed_events")), parameters
        ).fetchall()
        assert con.execute(to_duckdb(view_query.sql), parameters).fetchall() == expected, raw_query.name
