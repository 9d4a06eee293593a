"""failctl compact: closed days rewritten once as Parquet; queries over compacted plus raw days
answer as over raw records alone; two runs at once, or a run killed then rerun, write a day once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import duckdb
import pytest
from moto import mock_aws
from support.archive import DAY_ONE, FAILING_EVENTS, FUNCTION, FUNCTION_ARN, build_archive, failure_of, write
from support.servers import ACCOUNT, REGION, aws_env, moto_server

from failctl import cli
from failctl.archive import compaction
from failctl.archive.local_query import run_local
from failctl.archive.stores import FolderStore, S3Store
from failctl.emulation.lambda_writer import async_failure_key, async_failure_record
from lambda_failures.queries import named_queries

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 29)
RANGES = [(None, None), (DAY_ONE.date(), DAY_ONE.date()), (DAY_ONE.date() + timedelta(days=1), TODAY)]


def answers(store) -> dict:
    """Every named query over every range: rows, and what was reported unreadable."""
    found = {}
    for query in named_queries():
        for first, last in RANGES:
            result = run_local(store, query.sql, first, last)
            found[(query.name, first, last)] = (result.columns, result.rows)
    return found


@pytest.fixture
def archive(tmp_path):
    build_archive(tmp_path / "archive", days=3)
    return tmp_path / "archive"


def test_every_named_query_answers_the_same_over_compacted_and_raw_days(archive):
    raw = answers(FolderStore(archive))
    first = compaction.compact(FolderStore(archive), first=DAY_ONE.date(), last=DAY_ONE.date(), today=TODAY)
    assert [o.status for o, _ in first] == ["compacted"]
    assert answers(FolderStore(archive)) == raw  # one day compacted, two raw
    rest = compaction.compact(FolderStore(archive), today=TODAY)
    assert [o.status for o, _ in rest] == ["skipped", "compacted", "compacted"]
    assert answers(FolderStore(archive)) == raw  # every day compacted
    files = sorted(p.relative_to(archive).as_posix() for p in (archive / "compacted").rglob("*.parquet"))
    assert len(files) == 3 and all(f.endswith("/part-00000.parquet") for f in files)
    result = run_local(FolderStore(archive), "SELECT count(*) AS n FROM failed_events")
    assert result.load.objects == 0 and result.load.compacted_files == 3  # no raw object is read


def test_the_files_are_zstd_parquet_with_the_tables_columns(archive):
    (outcome, _), *_ = compaction.compact(FolderStore(archive), today=TODAY)
    path = str(archive / outcome.files[0])
    con = duckdb.connect()
    names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()]
    assert names == [
        "version", "timestamp", "requestcontext", "requestpayload",
        "responsecontext", "responsepayload", "function_name", "day",
    ]  # fmt: skip
    codecs = {r[0] for r in con.execute("SELECT compression FROM parquet_metadata(?)", [path]).fetchall()}
    assert codecs == {"ZSTD"}


def test_only_closed_days_are_compacted(archive):
    done = compaction.compact(FolderStore(archive), today=DAY_ONE.date() + timedelta(days=2))
    assert [(o.day, o.status) for o, _ in done] == [(DAY_ONE.date(), "compacted")]  # two days ago, and older


def test_a_day_is_compacted_once_and_a_failed_one_again(archive, monkeypatch):
    store = FolderStore(archive)
    raw = answers(store)
    original = compaction._put
    monkeypatch.setattr(compaction, "_put", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    failed = compaction.compact(store, today=TODAY)
    assert {o.status for o, _ in failed} == {"failed"} and not (archive / "compacted").exists()
    assert answers(store) == raw  # still answered from raw
    monkeypatch.setattr(compaction, "_put", original)
    assert {o.status for o, _ in compaction.compact(store, today=TODAY)} == {"compacted"}
    again = compaction.compact(store, today=TODAY)
    assert {(o.status, o.detail) for o, _ in again} == {("skipped", "already compacted")}


def test_a_dead_runs_claim_is_taken_over_after_the_takeover_time_and_its_files_replaced(archive):
    store = FolderStore(archive)
    raw = answers(store)
    day = DAY_ONE.date()
    name = f"{FUNCTION}/{day:%Y/%m/%d}"
    markers = compaction.CompactionMarkers(store).claims
    assert not isinstance(markers.claim(name, {}), compaction.ClaimState)  # a run claims, then dies
    leftover = archive / f"compacted/failed_events/{FUNCTION}/{day:%Y/%m/%d}/part-00000.parquet"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"PAR1 torn")
    assert answers(store) == raw  # a claimed day is read raw
    within = compaction.compact(store, first=day, last=day, today=TODAY)
    assert [(o.status, o.detail) for o, _ in within] == [("skipped", "being compacted by another run")]
    time.sleep(0.2)
    after = compaction.compact(store, first=day, last=day, today=TODAY, takeover_seconds=0.1)
    assert [o.status for o, _ in after] == ["compacted"] and leftover.read_bytes()[:4] == b"PAR1"
    assert answers(store) == raw


def test_compaction_in_a_bucket_and_queries_over_it(tmp_path):
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        bucket = f"archive-{ACCOUNT}-{REGION}-an"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        folder = tmp_path / "archive"
        build_archive(folder, days=3)
        for path in folder.rglob("*"):
            if path.is_file():
                s3.put_object(Bucket=bucket, Key=path.relative_to(folder).as_posix(), Body=path.read_bytes())
        store = S3Store(f"s3://{bucket}", s3)
        raw = answers(store)
        assert {o.status for o, _ in compaction.compact(store, today=TODAY)} == {"compacted"}
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="compacted/")["Contents"]]
        markers = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="markers/compactions/")["Contents"]]
        assert len(keys) == 3 and len(markers) == 3
        assert answers(store) == raw


def fill(root: Path, days: int, per_day: int) -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for day in range(days):
        for n in range(per_day):
            event = FAILING_EVENTS[n % len(FAILING_EVENTS)]
            at = start + timedelta(days=day, seconds=n)
            record = async_failure_record(FUNCTION_ARN, event, at, failure_of(event))
            write(root, async_failure_key(FUNCTION, at, f"r{day:03d}-{n:04d}"), record)


def compact_process(source: str, env: dict[str, str] | None = None, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "failctl", "compact", "--source", source, "--json", *extra]
    if source.startswith("s3://"):
        command += ["--bucket-owner", ACCOUNT]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=(env or dict(os.environ)) | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> list[dict]:
    out, err = process.communicate(timeout=300)
    assert "Traceback" not in err and process.returncode == 0, err
    return json.loads(out)["days"]


def compacted_by(runs: list[list[dict]]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for run in runs:
        for day in run:
            if day["status"] == "compacted":
                counted[day["day"]] = counted.get(day["day"], 0) + 1
    return counted


def test_two_concurrent_runs_over_a_folder_compact_each_day_once(tmp_path):
    fill(tmp_path, days=12, per_day=40)
    raw = answers(FolderStore(tmp_path))
    runs = [compact_process(str(tmp_path)) for _ in range(2)]
    outcomes = [finish(run) for run in runs]
    assert compacted_by(outcomes) == {f"2026-10-{d:02d}": 1 for d in range(1, 13)}
    assert len(list((tmp_path / "compacted").rglob("*.parquet"))) == 12
    assert answers(FolderStore(tmp_path)) == raw


def test_two_concurrent_runs_over_a_bucket_compact_each_day_once(tmp_path):
    fill(tmp_path, days=8, per_day=25)
    with moto_server() as s3_url:
        env = aws_env(s3=s3_url)
        s3 = boto3.client(
            "s3", endpoint_url=s3_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        )
        bucket = f"archive-{ACCOUNT}-{REGION}-an"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        for path in tmp_path.rglob("*"):
            if path.is_file():
                s3.put_object(Bucket=bucket, Key=path.relative_to(tmp_path).as_posix(), Body=path.read_bytes())
        raw = answers(FolderStore(tmp_path))
        runs = [compact_process(f"s3://{bucket}", env) for _ in range(2)]
        outcomes = [finish(run) for run in runs]
        assert compacted_by(outcomes) == {f"2026-10-{d:02d}": 1 for d in range(1, 9)}
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="compacted/")["Contents"]
        assert len(listed) == 8
        assert answers(S3Store(f"s3://{bucket}", s3, ACCOUNT)) == raw


def test_a_run_killed_mid_way_then_rerun_writes_every_day_once(tmp_path):
    fill(tmp_path, days=15, per_day=60)
    raw = answers(FolderStore(tmp_path))
    run = compact_process(str(tmp_path))
    markers = tmp_path / ".failctl/markers/compactions"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(markers.rglob("*.json")):
        time.sleep(0.01)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=30)
    days_done = [json.loads(p.read_text())["state"] for p in markers.rglob("*.json")]
    assert days_done and len(days_done) < 15  # killed mid-way
    assert answers(FolderStore(tmp_path)) == raw  # what it left is not read twice, nothing is lost
    time.sleep(0.3)
    rerun = finish(compact_process(str(tmp_path), None, "--takeover-seconds", "0.2"))
    assert all(day["status"] in ("compacted", "skipped") for day in rerun)
    states = [json.loads(p.read_text())["state"] for p in markers.rglob("*.json")]
    assert states == ["done"] * 15
    assert len(list((tmp_path / "compacted").rglob("*.parquet"))) == 15
    assert answers(FolderStore(tmp_path)) == raw


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["compact", "--source", "/no/such/folder"], "is not a folder"),
        (["compact", "--source", ".", "--function", "../x"], "not a Lambda function name"),
        (["compact", "--source", ".", "--from", "2026-11-02", "--to", "2026-11-01"], "is before"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, expected):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_a_run_overtaken_after_the_takeover_time_leaves_the_day_to_the_run_that_took_it(archive, monkeypatch):
    store = FolderStore(archive)
    raw = answers(store)
    day = DAY_ONE.date()
    original = compaction._write_day

    def slow(*args):
        written = original(*args)
        # Meanwhile another run, seeing an old claim, takes the day over and finishes it.
        monkeypatch.setattr(compaction, "_write_day", original)
        ((other, _),) = compaction.compact(FolderStore(archive), first=day, last=day, today=TODAY, takeover_seconds=0)
        assert other.status == "compacted"
        return written

    monkeypatch.setattr(compaction, "_write_day", slow)
    ((first, _),) = compaction.compact(store, first=day, last=day, today=TODAY)
    assert (first.status, first.detail) == ("skipped", "taken over by another run")
    assert answers(store) == raw


def test_values_the_serde_reads_as_null_and_any_key_case_survive_compaction(tmp_path):
    at = datetime(2026, 11, 2, 8, tzinfo=UTC)
    records = [
        {"requestContext": {"approximateInvokeCount": 2**40, "condition": "RetriesExhausted"}, "requestPayload": 1},
        {"REQUESTCONTEXT": {"Condition": "EventAgeExceeded", "approximateInvokeCount": 1e400}, "requestPayload": "x"},
        {"requestcontext": {"condition": None}, "requestPayload": [1, {"a": None}], "responsePayload": {"x": 7}},
    ]
    for n, record in enumerate(records):
        write(tmp_path, async_failure_key(FUNCTION, at + timedelta(seconds=n), f"r{n}"), record)
    sql = "SELECT * FROM failed_events ORDER BY requestcontext.condition NULLS FIRST"
    raw = run_local(FolderStore(tmp_path), sql)
    assert len(raw.rows) == 3 and raw.load.nulled
    ((outcome, load),) = compaction.compact(FolderStore(tmp_path), today=TODAY)
    assert outcome.status == "compacted" and load.nulled == raw.load.nulled  # reported when compacted
    compacted = run_local(FolderStore(tmp_path), sql)
    assert compacted.load.objects == 0 and compacted.rows == raw.rows
