"""Exactly-once replay, tested the way it breaks: real `failctl` processes side by side, a
run killed mid-invoke, and a Lambda that answers 500 after it accepted the request.

S3 is moto's server in its own process (object requests made atomic, as S3's are); Lambda
is a loopback stand-in that counts every payload it receives.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
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
    lam.callers = 2  # invokes wait until both runs invoke: the runs overlap however late one starts
    runs = [replay_process(f"s3://{BUCKET}", env | {"AWS_ACCESS_KEY_ID": f"run{i}"}) for i in range(2)]
    results = [finish(run) for run in runs]
    assert [code for code, _ in results] == [0, 0], [statuses(r) for _, r in results]
    assert sorted(lam.received.values()) == [1] * 200
    assert sum(statuses(r).get("replayed", 0) for _, r in results) == 200
    assert lam.callers_seen == {"run0", "run1"}
    assert all(statuses(r).get("replayed") for _, r in results), "the two runs did not overlap"


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
    assert code == 0 and {o["status"] for o in rerun["outcomes"]} <= {"replayed", "skipped", "held"}
    assert set(lam.received.values()) == {1}  # nothing ran twice
    # Every record never sent is reported: held by the killed run (not "already replayed").
    held = {o["key"] for o in rerun["outcomes"] if o["status"] == "held"}
    unsent = {o["key"] for o in rerun["outcomes"] if payload(int(o["key"][-4:])) not in lam.received}
    assert unsent <= held and 1 <= len(held) <= 4
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


def marker_states(s3_url: str) -> dict[str, str]:
    s3 = boto3.client("s3", endpoint_url=s3_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    states = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="markers/replays/"):
        for item in page.get("Contents", []):
            body = json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
            states[item["Key"].removeprefix("markers/replays/")] = body["state"]
    return states


def wait_for_requests(lam: CountingLambda, count: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while lam.requests < count:
        assert time.monotonic() < deadline, f"only {lam.requests} invocations, waited for {count}"
        time.sleep(0.005)


@pytest.mark.parametrize("seed", [1, 2])
def test_sigterm_and_sigint_at_random_moments_then_a_rerun_send_each_record_once(servers, seed):
    """CI cancelling a job (SIGTERM), an operator's Ctrl-C (SIGINT): the run stops claiming,
    lets what it sent answer, settles every claim it holds and says so; the rerun sends the rest."""
    s3_url, lam, env = servers
    fill_bucket(s3_url, 200)
    lam.delay = 0.02
    moments = random.Random(seed)
    for signum, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        run = replay_process(f"s3://{BUCKET}", env)
        wait_for_requests(lam, lam.requests + moments.randint(1, 80))
        run.send_signal(signum)
        stopped_code, stopped = finish(run)
        assert stopped_code == code, statuses(stopped)
        assert set(statuses(stopped)) <= {"replayed", "skipped", "not-sent"} and statuses(stopped).get("not-sent")
        assert "claimed" not in marker_states(s3_url).values()  # every claim it held is settled
        assert set(lam.received.values()) == {1}
        unsent = {o["key"] for o in stopped["outcomes"] if o["status"] == "not-sent"}
        assert not {k for k in unsent if payload(int(k[-4:])) in lam.received}  # "not sent" is true
    code, rerun = finish(replay_process(f"s3://{BUCKET}", env))
    assert code == 0 and set(statuses(rerun)) <= {"replayed", "skipped"}
    assert sorted(lam.received.values()) == [1] * 200  # each record sent exactly once
    assert set(marker_states(s3_url).values()) == {"done"}


def test_a_stop_settles_an_invoke_that_never_answers_as_uncertain_within_the_wait(servers):
    s3_url, lam, env = servers
    fill_bucket(s3_url, 40)
    lam.hang_at = 10
    run = replay_process(f"s3://{BUCKET}", env, "--concurrency", "2", "--stop-wait", "1")
    assert lam.hanging.wait(120)
    started = time.monotonic()
    run.send_signal(signal.SIGTERM)
    code, stopped = finish(run)
    assert code == 143 and time.monotonic() - started < 15
    uncertain = [o for o in stopped["outcomes"] if o["status"] == "uncertain"]
    assert len(uncertain) == 1 and "may have run" in uncertain[0]["detail"]
    states = marker_states(s3_url)
    assert "claimed" not in states.values() and states[uncertain[0]["key"]] == "uncertain"


def test_a_replay_without_credentials_sends_nothing_marks_nothing_and_exits_3(tmp_path, servers):
    _, lam, env = servers
    fill_folder(tmp_path, 5)
    bare = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    bare |= {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    run = replay_process(str(tmp_path), bare)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 3 and "no AWS credentials" in err and len(err.strip().splitlines()) == 1, err
    assert lam.requests == 0 and not (tmp_path / ".failctl").exists()
