"""Every named query answered locally over an archive written the way Lambda writes it."""

import json
import threading
import time
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws
from support.archive import FUNCTION, build_archive

from failctl import cli
from failctl.archive import local_query
from failctl.archive.local_query import run_local
from failctl.archive.stores import READ_CONCURRENCY, FolderStore, S3Store
from lambda_failures.queries import named_queries, query_named

DAY_ONE, DAY_TWO, DAY_THREE = date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)
DAY_ONE_AT = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    build_archive(root, days=3)
    return root


def rows(archive, name, first=DAY_ONE, last=DAY_ONE):
    result = run_local(FolderStore(archive), query_named(name).sql, first, last)
    return [dict(zip(result.columns, r, strict=True)) for r in result.rows]


def test_errors_by_action_reads_the_action_from_the_payload(archive):
    found = {(r["action"], r["error_type"]): r["count"] for r in rows(archive, "errors-by-action")}
    assert found == {
        ("process", "NegativeNumberError"): 1,
        ("process", "InvalidEventError"): 1,
        ("process", "EventAgeExceeded"): 1,
        ("validate", "EmptyValueError"): 1,
        ("validate", "InvalidEventError"): 1,
        ("calculate", "EmptyValueError"): 1,
        ("calculate", "InvalidEventError"): 1,
        ("refund", "UnknownActionError"): 1,
        ("forceError", "ForcedError"): 1,
        ("(no action)", "InvalidEventError"): 3,
    }


def test_errors_by_action_counts_only_the_requested_day(archive):
    per_action: dict[str, int] = {}
    for r in rows(archive, "errors-by-action", DAY_THREE, DAY_THREE):
        per_action[r["action"]] = per_action.get(r["action"], 0) + r["count"]
    assert per_action["forceError"] == 3  # day three repeats forceError twice more
    assert per_action["process"] == 2  # the EventAgeExceeded record is on day one only


def test_errors_by_type(archive):
    found = {r["error_type"]: r["error_count"] for r in rows(archive, "errors-by-type", DAY_ONE, DAY_TWO)}
    assert found == {
        "InvalidEventError": 12,
        "EmptyValueError": 4,
        "ForcedError": 3,
        "NegativeNumberError": 2,
        "UnknownActionError": 2,
        "EventAgeExceeded": 1,
    }


def test_latest_errors_newest_first_with_message_and_body(archive):
    latest = rows(archive, "latest-errors")
    assert [r["timestamp"] for r in latest] == sorted((r["timestamp"] for r in latest), reverse=True)
    negative = next(r for r in latest if r["error_type"] == "NegativeNumberError")
    assert negative["error_message"] == "value must be >= 0, got -3"
    assert json.loads(negative["request_body"]) == {"action": "process", "value": -3}


def test_errors_in_range_lists_each_failure_with_request_id(archive):
    listed = rows(archive, "errors-in-range", DAY_ONE, DAY_THREE)
    assert len(listed) == 11 * 3 + 1 + (0 + 1 + 2)  # each failing event daily, the aged event, extra forceErrors
    assert all(r["function_name"] == FUNCTION and r["request_id"] for r in listed)
    assert {r["condition"] for r in listed} == {"RetriesExhausted", "EventAgeExceeded"}


def test_stream_failures_by_table_and_shard(archive):
    (found,) = rows(archive, "stream-failures")
    assert found["source"] == "lambda-failures-test-orders"
    assert found["shard_id"].startswith("shardId-") and found["failed_batches"] == 1 and found["records"] == 1


def test_failures_per_day(archive):
    per_day = rows(archive, "failures-per-day", DAY_ONE, DAY_THREE)
    assert [(r["day"], r["failures"]) for r in per_day] == [("2026/11/18", 12), ("2026/11/19", 12), ("2026/11/20", 13)]


def test_only_the_requested_days_are_read(archive):
    one_day = run_local(FolderStore(archive), query_named("errors-by-type").sql, DAY_TWO, DAY_TWO)
    all_days = run_local(FolderStore(archive), query_named("errors-by-type").sql)
    assert one_day.load.objects == 12 and all_days.load.objects == 11 * 3 + 3 + 1 + 3  # async objects only
    assert one_day.load.bytes_read < all_days.load.bytes_read / 2


def test_a_query_reads_only_the_tables_and_columns_it_names(archive, monkeypatch):
    stream = run_local(FolderStore(archive), query_named("stream-failures").sql)
    assert stream.load.objects == 1 and stream.rows
    handed = []
    original = local_query.ColumnBatch.flush
    monkeypatch.setattr(local_query.ColumnBatch, "flush", lambda self: handed.append(self.columns) or original(self))
    counted = run_local(FolderStore(archive), "SELECT count(*) AS n FROM failed_events")
    assert counted.rows == [(40 - 3,)]  # the three objects that are not records are skipped
    by_type = run_local(FolderStore(archive), query_named("errors-by-type").sql)
    assert [c.name for c in handed[-1]] == ["requestcontext", "responsepayload", "day"]
    assert by_type.rows and [c.name for c in handed[-2]] == ["day"]  # a count needs rows, no record column
    everything = run_local(FolderStore(archive), "SELECT * FROM failed_events")
    assert len(everything.columns) == 8 and len(everything.rows) == 37


def test_malformed_objects_are_skipped_and_reported(archive):
    result = run_local(FolderStore(archive), query_named("errors-by-type").sql, DAY_ONE, DAY_ONE)
    reasons = {key.rsplit("/", 1)[-1]: reason for key, reason in result.load.skipped}
    assert set(reasons) == {"not-json", "truncated", "two-documents"}
    assert "several JSON documents" in reasons["two-documents"]


def test_cli_json_prints_rows_and_reports_skips_on_stderr(archive, capsys):
    code = cli.main(
        ["query", "errors-by-action", "--source", str(archive), "--from", "2026-11-18", "--to", "2026-11-18", "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0
    document = json.loads(captured.out)
    assert {"action": "refund", "error_type": "UnknownActionError", "count": 1} in document["rows"]
    assert "skipped aws/lambda/async/" in captured.err and "not-json" in captured.err


def test_cli_table_output_and_custom_sql(archive, capsys):
    code = cli.main(["query", "--sql", "SELECT count(*) AS n FROM failed_events", "--source", str(archive)])
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[0].strip() == "n" and "(1 rows)" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["query", "no-such-query", "--source", "."], "no named query 'no-such-query'"),
        (["query", "errors-by-type"], "give --source"),
        (["query", "errors-by-type", "--sql", "SELECT 1", "--source", "."], "not both"),
        (["query", "errors-by-type", "--source", "/nonexistent"], "is not a folder"),
        (["query", "errors-by-type", "--source", ".", "--from", "2026-11-20", "--to", "2026-11-18"], "before"),
        (["query", "errors-by-type", "--athena"], "--athena needs --stack NAME, or --workgroup and --database"),
    ],
)
def test_cli_bad_input_exits_2(capsys, argv, expected):
    assert cli.main(argv) == 2
    assert expected in capsys.readouterr().err


def test_every_named_query_runs_locally(archive):
    for query in named_queries():
        result = run_local(FolderStore(archive), query.sql, DAY_ONE, DAY_THREE)
        assert result.rows, query.name


@mock_aws
def test_reads_from_s3_through_boto3(archive):
    client = boto3.client("s3", region_name="eu-west-1")
    client.create_bucket(Bucket="archive", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for path in archive.rglob("*"):
        if path.is_file():
            client.put_object(
                Bucket="archive", Key=f"prod/{path.relative_to(archive).as_posix()}", Body=path.read_bytes()
            )
    store = S3Store("s3://archive/prod", client)
    result = run_local(store, query_named("errors-by-action").sql, DAY_ONE, DAY_ONE)
    local = run_local(FolderStore(archive), query_named("errors-by-action").sql, DAY_ONE, DAY_ONE)
    assert sorted(result.rows) == sorted(local.rows)
    assert len(result.load.skipped) == 3


def test_cli_bad_sql_exits_2_with_the_engine_message(archive, capsys):
    assert cli.main(["query", "--sql", "SELECT nope FROM failed_events", "--source", str(archive)]) == 2
    assert "the query failed" in capsys.readouterr().err


@mock_aws
def test_cli_missing_bucket_exits_2(capsys):
    assert cli.main(["query", "errors-by-type", "--source", "s3://no-such-bucket"]) == 2
    assert "cannot read s3://no-such-bucket" in capsys.readouterr().err


def _one_record_archive(tmp_path, text: str):
    from failctl.emulation.lambda_writer import async_failure_key

    key = async_failure_key(FUNCTION, datetime(2026, 11, 18, 9, 0, tzinfo=UTC), "odd")
    path = tmp_path / key
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return key


@pytest.mark.parametrize("count", ["2147483648", "1e400", "-2147483649", "1.5"])
def test_a_value_out_of_its_columns_range_is_null_and_reported_not_fatal(tmp_path, count):
    from failctl.emulation.lambda_writer import async_failure_record

    record = json.dumps(
        async_failure_record(f"arn:aws:lambda:eu-west-1:1:function:{FUNCTION}", {"a": 1}, DAY_ONE_AT, None)
    )
    text = record.replace('"approximateInvokeCount": 3', f'"approximateInvokeCount": {count}')
    key = _one_record_archive(tmp_path, text)
    result = run_local(
        FolderStore(tmp_path), "SELECT requestcontext.approximateinvokecount AS n, version FROM failed_events"
    )
    assert result.rows == [(None, "1.0")]
    (reported,) = result.load.nulled
    assert reported[0] == key and "approximateinvokecount" in reported[1]


def test_json_extract_scalar_of_an_object_is_null_as_in_athena(tmp_path):
    from failctl.emulation.lambda_writer import async_failure_record

    payload = {"action": {"name": "refund"}, "value": [1, 2]}
    record = async_failure_record(f"arn:aws:lambda:eu-west-1:1:function:{FUNCTION}", payload, DAY_ONE_AT, None)
    _one_record_archive(tmp_path, json.dumps(record))
    sql = (
        "SELECT json_extract_scalar(requestpayload, '$.action') AS a, json_extract_scalar(requestpayload, "
        "'$.action.name') AS n, json_extract_scalar(requestpayload, '$.value') AS v FROM failed_events"
    )
    assert run_local(FolderStore(tmp_path), sql).rows == [(None, "refund", None)]


@pytest.mark.parametrize(
    "sql",
    [
        "COPY failed_events TO 'stolen.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT 1; DROP TABLE failed_events",
        "INSERT INTO failed_events (version) VALUES ('x')",
        "SELECT * FROM information_schema.tables",
        "ATTACH 'x.db' AS other",
    ],
)
def test_sql_runs_only_read_only_queries_over_the_archive_tables(archive, capsys, tmp_path, sql, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["query", "--sql", sql, "--source", str(archive)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "stolen.csv").exists()


def test_query_in_athena_without_a_region_is_an_environment_problem(capsys, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    code = cli.main(["query", "errors-by-type", "--athena", "--workgroup", "w", "--database", "d"])
    err = capsys.readouterr().err
    assert code == 3 and "no AWS region" in err and len(err.strip().splitlines()) == 1


def test_query_in_athena_by_stack_without_the_pulumi_cli_is_an_environment_problem(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    code = cli.main(["query", "errors-by-type", "--athena", "--stack", "dev"])
    err = capsys.readouterr().err
    assert code == 3 and "needs the Pulumi CLI" in err


def test_failures_per_day_can_be_drawn(archive, capsys, tmp_path):
    picture = tmp_path / "days.png"
    code = cli.main(
        [
            "query",
            "failures-per-day",
            "--source",
            str(archive),
            "--from",
            "2026-11-18",
            "--to",
            "2026-11-20",
            "--plot",
            str(picture),
        ]
    )
    assert code == 0 and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 5000
    code = cli.main(["query", "errors-by-type", "--source", str(archive), "--plot", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 2 and "--plot draws a failures-per-day result" in err and not (tmp_path / "x.png").exists()


class _SlowBucket:
    """A folder behind a bucket's latency, counting the reads in flight at once (a store
    that does not say otherwise is read concurrently, as a bucket is)."""

    def __init__(self, root):
        self.folder = FolderStore(root)
        self.children, self.keys = self.folder.children, self.folder.keys
        self.lock = threading.Lock()
        self.in_flight = self.most = 0

    def read(self, key):
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.005)
        with self.lock:
            self.in_flight -= 1
        return self.folder.read(key)


def test_a_bucket_is_read_concurrently_within_the_bound(archive):
    bucket = _SlowBucket(archive)
    result = run_local(bucket, query_named("errors-by-type").sql)
    local = run_local(FolderStore(archive), query_named("errors-by-type").sql)
    assert result.rows == local.rows and result.load.skipped == local.load.skipped
    assert 1 < bucket.most <= READ_CONCURRENCY


def test_folder_keys_come_in_key_order_without_following_linked_folders(archive, tmp_path):
    (tmp_path / "aws").symlink_to(archive / "aws")
    (tmp_path / "a-b").mkdir()
    (tmp_path / "a-b" / "x").write_text("12")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "y").write_text("1")
    (tmp_path / "a0").write_text("")
    assert list(FolderStore(tmp_path).keys("")) == [("a/y", None), ("a-b/x", None), ("a0", None)]
    expected = [(p.relative_to(archive).as_posix(), None) for p in sorted(archive.rglob("*")) if p.is_file()]
    assert list(FolderStore(archive).keys("aws/")) == expected


def test_a_struct_read_whole_keeps_every_field_and_one_read_by_field_only_those(archive):
    store = FolderStore(archive)
    whole = run_local(store, "SELECT requestcontext AS rc, requestcontext.condition AS c FROM failed_events LIMIT 1")
    assert set(whole.rows[0][0]) == {"requestid", "functionarn", "condition", "approximateinvokecount"}
    assert (
        local_query.used_columns(query_named("errors-by-type").sql, "failed_events", local_query.ASYNC_COLUMNS)[0].type
        == "struct<condition:string>"
    )


def test_object_keys_match_in_any_case_whatever_spellings_were_seen_before(tmp_path):
    for n, name in enumerate(("requestContext", "REQUESTCONTEXT", "requestcontext")):
        key = f"aws/lambda/async/{FUNCTION}/2026/11/18/r{n}"
        context = {name.replace("Context", "").replace("CONTEXT", "").replace("context", "") + "Id": "x"}
        write_record = {name: {"Condition": f"c{n}", **context}, "requestPayload": {}, "responsePayload": None}
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text(json.dumps(write_record))
    result = run_local(FolderStore(tmp_path), "SELECT requestcontext.condition FROM failed_events ORDER BY 1")
    assert result.rows == [("c0",), ("c1",), ("c2",)]
