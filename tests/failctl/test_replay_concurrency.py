"""Exactly-once replay, tested the way it breaks: real `failctl` processes side by side, a
run killed mid-invoke, and a Lambda that answers 500 after it accepted the request.

S3 is moto's server in its own process (object requests made atomic, as S3's are); Lambda
is a loopback stand-in that counts every payload it receives.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from support.servers import ACCOUNT, REGION, CountingLambda, aws_env, moto_server

from failctl.emulation.lambda_writer import async_failure_key, async_failure_record

ROOT = Path(__file__).resolve().parents[2]
BUCKET = f"lambda-failures-test-failures-{ACCOUNT}-{REGION}-an"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:lambda-failures-test-processor"
MOMENT = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


def payload(i: int) -> str:
    return json.dumps({"action": "refund", "value": i})


def fill_bucket(s3_url: str, count: int) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for i in range(count):
        record = async_failure_record(FUNCTION_ARN, {"action": "refund", "value": i}, MOMENT, RuntimeError("x"))
        s3.put_object(Bucket=BUCKET, Key=async_failure_key("fn", MOMENT, f"r{i:04d}"), Body=json.dumps(record))


def fill_folder(root: Path, count: int) -> None:
    for i in range(count):
        path = root / async_failure_key("fn", MOMENT, f"r{i:04d}")
        path.parent.mkdir(parents=True, exist_ok=True)
        record = async_failure_record(FUNCTION_ARN, {"action": "refund", "value": i}, MOMENT, RuntimeError("x"))
        path.write_text(json.dumps(record))


def replay_process(source: str, env: dict[str, str], *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "failctl", "replay", "--source", source, "--execute", "--json", *extra]
    if source.startswith("s3://"):
        command += ["--bucket-owner", ACCOUNT]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, dict]:
    out, err = process.communicate(timeout=300)
    assert "Traceback" not in err, err
    return process.returncode, json.loads(out)


def statuses(result: dict) -> dict[str, int]:
    counted: dict[str, int] = {}
    for outcome in result["outcomes"]:
        counted[outcome["status"]] = counted.get(outcome["status"], 0) + 1
    return counted


@pytest.fixture
def servers():
    with moto_server() as s3_url, CountingLambda() as lam:
        yield s3_url, lam, aws_env(s3=s3_url, **{"lambda": lam.url})


def test_two_concurrent_runs_redrive_each_record_once(servers):
    s3_url, lam, env = servers
    fill_bucket(s3_url, 200)
    runs = [replay_process(f"s3://{BUCKET}", env) for _ in range(2)]
    results = [finish(run) for run in runs]
    assert [code for code, _ in results] == [0, 0], [statuses(r) for _, r in results]
    assert sorted(lam.received.values()) == [1] * 200
    assert sum(statuses(r).get("replayed", 0) for _, r in results) == 200


def test_two_concurrent_runs_over_a_folder_redrive_each_record_once(tmp_path, servers):
    _, lam, env = servers
    fill_folder(tmp_path, 120)
    runs = [replay_process(str(tmp_path), env) for _ in range(2)]
    results = [finish(run) for run in runs]
    assert [code for code, _ in results] == [0, 0], [
        [o for o in r["outcomes"] if o["status"] not in ("replayed", "skipped")][:3] for _, r in results
    ]
    assert sorted(lam.received.values()) == [1] * 120


def test_a_500_after_the_request_was_accepted_is_uncertain_and_never_redriven_by_itself(servers):
    s3_url, lam, env = servers
    fill_bucket(s3_url, 60)
    lam.fail_every = 10
    code, first = finish(replay_process(f"s3://{BUCKET}", env))
    assert (code, statuses(first)) == (1, {"replayed": 54, "uncertain": 6}), (first["outcomes"][:2], lam.requests)
    lam.fail_every = None
    code, again = finish(replay_process(f"s3://{BUCKET}", env))
    assert code == 1 and statuses(again) == {"skipped": 54, "uncertain": 6}
    assert sorted(lam.received.values()) == [1] * 60  # nothing ran twice
    code, forced = finish(replay_process(f"s3://{BUCKET}", env, "--retry-uncertain"))
    assert code == 0 and statuses(forced) == {"skipped": 54, "replayed": 6}
    assert sum(lam.received.values()) == 66  # asked for on purpose


def test_a_run_killed_mid_invoke_then_rerun_doubles_nothing_and_loses_nothing(servers):
    s3_url, lam, env = servers
    fill_bucket(s3_url, 40)
    lam.hang_at = 15
    victim = replay_process(f"s3://{BUCKET}", env, "--concurrency", "4")
    assert lam.hanging.wait(120), "the run never reached the 15th invocation"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    code, rerun = finish(replay_process(f"s3://{BUCKET}", env))
    assert code == 0 and {o["status"] for o in rerun["outcomes"]} <= {"replayed", "skipped"}
    assert set(lam.received.values()) == {1}  # nothing ran twice
    plan = subprocess.run(
        [sys.executable, "-m", "failctl", "replay", "--source", f"s3://{BUCKET}", "--json", "--bucket-owner", ACCOUNT],
        cwd=ROOT,
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    claims = {entry["key"]: entry["claim"] for entry in json.loads(plan.stdout)["plan"]}
    # Nothing lost: every record is done, or uncertain (claimed by the killed run, which may or
    # may not have sent it); no more uncertain than the killed run had in flight.
    assert set(claims.values()) <= {"done", "uncertain"} and len(claims) == 40
    uncertain = [key for key, claim in claims.items() if claim == "uncertain"]
    assert 1 <= len(uncertain) <= 4
    assert sum(lam.received.values()) == 40 - len(uncertain) + sum(
        1 for key in uncertain if payload(int(key[-4:])) in lam.received
    )
