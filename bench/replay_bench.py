"""`failctl replay --execute` next to the floor: the same requests per record (read the record,
claim it, invoke, record the outcome), made by a bare pool of the same size, in the same run.

S3 is moto's server in its own process, counting what it is asked; Lambda is the counting
loopback stand-in. Each side must have made exactly one record GET, one conditional create,
one invoke and one settling PUT per record it was given, and replayed every record selected
(and more than none), or the benchmark fails. Ours and the floor run in turn, each first
every other round. BENCH_REPLAY_RECORDS sets the records per run (default 1,000).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
from common import pair
from support.servers import ACCOUNT, REGION, CountingLambda, aws_env, moto_server

from failctl.archive import replay
from failctl.archive.stores import S3Store
from failctl.emulation.lambda_writer import async_failure_record
from lambda_failures.archive_format import async_failure_key

BUCKET = f"bench-failures-{ACCOUNT}-{REGION}-an"
CONCURRENCY = replay.DEFAULT_CONCURRENCY
RECORDS = int(os.environ.get("BENCH_REPLAY_RECORDS", "1000"))
ROUNDS = 3


def s3_counts(url: str, reset: bool = False) -> dict[str, int]:
    request = urllib.request.Request(f"{url}/_bench/counts", method="POST" if reset else "GET")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def _clients(s3_url: str, lambda_url: str) -> tuple:
    keys = {"aws_access_key_id": "t", "aws_secret_access_key": "t", "region_name": REGION}
    return boto3.client("s3", endpoint_url=s3_url, **keys), boto3.client("lambda", endpoint_url=lambda_url, **keys)


def _fill(s3, function: str, count: int) -> list[str]:
    """`count` async failure records of `function`, in the archive's key layout."""
    moment = datetime(2026, 11, 18, tzinfo=UTC)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    keys = []
    for i in range(count):
        key = async_failure_key(function, moment, f"r{i:05d}")
        record = async_failure_record(arn, {"action": "refund", "value": i}, moment, RuntimeError("x"))
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(record))
        keys.append(key)
    return keys


def _floor(s3, lam, keys: list[str]) -> int:
    """Per record: GET it, PUT a claim if absent, invoke, PUT the outcome; CONCURRENCY at a time."""

    def one(key: str) -> None:
        body = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        claim = s3.put_object(Bucket=BUCKET, Key=f"floor/{key}", Body=b"{}", IfNoneMatch="*")
        function = body["requestContext"]["functionArn"].split(":")[6]
        lam.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(body["requestPayload"]))
        s3.put_object(Bucket=BUCKET, Key=f"floor/{key}", Body=b"{}", IfMatch=claim["ETag"])

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, keys))
    return len(keys)


def _ours(s3, lam, function: str) -> int:
    store = S3Store(f"s3://{BUCKET}", s3, ACCOUNT)
    report = replay.ReplayReport()
    plan = list(replay.select(store, replay.Selection(function=function), report, with_state=False))
    replay.execute(store, lam, plan, report, progress=False, concurrency=CONCURRENCY)
    assert len(plan) > 0 and report.count("replayed") == len(plan), (len(plan), report.outcomes[:3])
    return len(plan)


def _checked(side: str, s3_url: str, counting: CountingLambda, run, expected: int) -> float:
    """Time one run of one side, then prove it did the work: its requests, counted at the servers."""
    s3_counts(s3_url, reset=True)
    invokes_before = counting.requests
    start = time.perf_counter()
    done = run()
    seconds = time.perf_counter() - start
    counts, invokes = s3_counts(s3_url), counting.requests - invokes_before
    per_record = {k: counts.get(k, 0) for k in ("GET object", "PUT create", "PUT settle")}
    assert done == expected and invokes == expected, f"{side}: {done} replayed, {invokes} invokes of {expected}"
    assert all(n == expected for n in per_record.values()), f"{side}: {per_record} for {expected} records"
    return seconds


def main() -> None:
    with moto_server((str(Path(__file__).with_name("counting_moto.py")),)) as s3_url, CountingLambda() as counting:
        os.environ.update(aws_env(s3=s3_url, **{"lambda": counting.url}))
        s3, lam = _clients(s3_url, counting.url)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        # Another function's records in the same bucket: a selection by function must not read them.
        _fill(s3, "bystander", RECORDS // 4)
        print(f"failctl replay --execute, {CONCURRENCY} at a time (moto's server, loopback Lambda, counted)")
        ours, floor = [], []
        for run in range(ROUNDS):
            floor_keys = _fill(s3, f"floor{run}fn", RECORDS)
            _fill(s3, f"ours{run}fn", RECORDS)
            sides = [
                ("floor", floor, lambda k=floor_keys: _floor(s3, lam, k)),
                ("ours", ours, lambda r=run: _ours(s3, lam, f"ours{r}fn")),
            ]
            for side, samples, work in sides if run % 2 == 0 else reversed(sides):
                samples.append(_checked(side, s3_url, counting, work, RECORDS))
        middle = ROUNDS // 2
        print(pair(f"{RECORDS} records", (min(ours), sorted(ours)[middle]), (min(floor), sorted(floor)[middle])))
        print(f"  each side, every run: {RECORDS} record GETs, creates, invokes and settles, counted at the servers")


if __name__ == "__main__":
    main()
