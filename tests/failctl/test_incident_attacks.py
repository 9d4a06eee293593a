"""What an operator does to failctl during an incident, in real processes: queries run and
exit, replays stopped by a closed terminal, credentials that are missing or expired."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
from support.servers import ACCOUNT, REGION, CountingLambda, aws_env, moto_server

from failctl.emulation.lambda_writer import async_failure_key, async_failure_record

ROOT = Path(__file__).resolve().parents[2]
MOMENT = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
BUCKET = f"lambda-failures-test-failures-{ACCOUNT}-{REGION}-an"


def write_records(root: Path, count: int, function_arn: str = FUNCTION_ARN) -> None:
    for i in range(count):
        path = root / async_failure_key("orders", MOMENT, f"r{i:04d}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(async_failure_record(function_arn, {"value": i}, MOMENT, RuntimeError("x"))))


def test_a_query_process_exits_cleanly_every_time(tmp_path):
    """The statement timer must be gone before the interpreter exits: a timer thread still
    ending under DuckDB's connection aborted the process (exit 134) about every other run."""
    write_records(tmp_path, 3)
    script = (
        "import sys\n"
        "from failctl.archive.stores import open_store\n"
        "from failctl.archive.local_query import run_local\n"
        "print(run_local(open_store(sys.argv[1]), 'SELECT count(*) FROM failed_events').rows)\n"
    )
    codes = [
        subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, timeout=120)
        for _ in range(12)
    ]
    assert [c.returncode for c in codes] == [0] * 12, [c.stderr[-200:] for c in codes if c.returncode]
    assert all(c.stdout.strip() == b"[(3,)]" for c in codes)


def _bucket_with_records(s3_url: str, count: int) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for i in range(count):
        record = async_failure_record(FUNCTION_ARN, {"value": i}, MOMENT, RuntimeError("x"))
        s3.put_object(Bucket=BUCKET, Key=async_failure_key("orders", MOMENT, f"r{i:04d}"), Body=json.dumps(record))


def _marker_states(s3_url: str) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=s3_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="markers/replays/"):
        for item in page.get("Contents", []):
            found.append(json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())["state"])
    return found


def _replay(env: dict[str, str], **streams) -> subprocess.Popen:
    command = [sys.executable, "-m", "failctl", "replay", "--source", f"s3://{BUCKET}", "--execute", "--json"]
    return subprocess.Popen(
        [*command, "--bucket-owner", ACCOUNT],
        cwd=ROOT,
        env=env | {"PYTHONPATH": str(ROOT)},
        start_new_session=True,
        **streams,
    )


def test_a_terminal_closed_mid_run_stops_it_cleanly_and_a_rerun_sends_the_rest_once():
    """SIGHUP (the operator's terminal or SSH session closed) used to kill the run outright:
    claims left `claimed`, a sent record not recorded. The run writes to a terminal that is
    gone (EIO) while it settles, so the terminal here is a pseudo-terminal closed first."""
    with moto_server() as s3_url, CountingLambda() as lam:
        env = aws_env(s3=s3_url, **{"lambda": lam.url})
        _bucket_with_records(s3_url, 120)
        lam.delay = 0.05
        primary, secondary = pty.openpty()
        run = _replay(env, stdin=secondary, stdout=secondary, stderr=secondary)
        os.close(secondary)
        drained = threading.Thread(target=_drain, args=(primary,), daemon=True)
        drained.start()
        deadline = time.monotonic() + 120
        while lam.requests < 20:
            assert time.monotonic() < deadline and run.poll() is None
            time.sleep(0.01)
        os.close(primary)  # the terminal is gone ...
        os.killpg(run.pid, signal.SIGHUP)  # ... and its session is told so
        assert run.wait(timeout=120) == 128 + signal.SIGHUP
        assert "claimed" not in _marker_states(s3_url)
        rerun = _replay(env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0 and "Traceback" not in err, err
        assert sorted(lam.received.values()) == [1] * 120  # each record sent exactly once
        assert set(_marker_states(s3_url)) == {"done"}


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        return


def test_a_statement_sqlglot_cannot_read_is_refused_in_exactly_one_stderr_line(tmp_path):
    """sqlglot warned on stderr (Python's last-resort handler) before the refusal: two lines."""
    write_records(tmp_path, 1)
    done = subprocess.run(
        [sys.executable, "-m", "failctl", "query", "--source", str(tmp_path), "--sql", "CALL pragma_version()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_ctrl_c_with_stderr_piped_to_a_reader_that_stopped_too_settles_every_claim():
    """`failctl replay --execute 2>&1 | head` and Ctrl-C: `head` is stopped by the same
    SIGINT, and the run's notice and progress hit a closed pipe. That ended the run before it
    settled: 8 claims left `claimed`, their records sent but not recorded."""
    with moto_server() as s3_url, CountingLambda() as lam:
        env = aws_env(s3=s3_url, **{"lambda": lam.url})
        _bucket_with_records(s3_url, 120)
        lam.delay = 0.3
        command = [sys.executable, "-m", "failctl", "replay", "--source", f"s3://{BUCKET}", "--execute"]
        run = subprocess.Popen(
            [*command, "--bucket-owner", ACCOUNT],
            cwd=ROOT,
            env=env | {"PYTHONPATH": str(ROOT)},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while lam.requests < 20:
            assert time.monotonic() < deadline and run.poll() is None
            time.sleep(0.01)
        run.stderr.close()  # the reader is gone ...
        os.killpg(run.pid, signal.SIGINT)  # ... and the run is asked to stop
        assert run.wait(timeout=120) == 130
        states = _marker_states(s3_url)
        assert states and "claimed" not in states
        assert set(lam.received.values()) == {1}
