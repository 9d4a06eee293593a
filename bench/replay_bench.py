"""`failctl replay --execute` next to the floor: the same requests per record (read the record,
claim it, invoke, record the outcome), made by a bare pool of the same size, in the same run.

S3 is moto's server in its own process; Lambda is the counting loopback stand-in. Both floors
and ours pay the same server costs, so the ratio is what failctl adds. BENCH_REPLAY_RECORDS
sets the records per run (default 1,000).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from common import pair
from support.servers import ACCOUNT, REGION, CountingLambda, aws_env, moto_server

from failctl.archive import replay
from failctl.archive.stores import S3Store
from failctl.emulation.lambda_writer import async_failure_record
from lambda_failures.archive_format import async_failure_key

BUCKET = f"bench-failures-{ACCOUNT}-{REGION}-an"
ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench"
CONCURRENCY = replay.DEFAULT_CONCURRENCY
RECORDS = int(os.environ.get("BENCH_REPLAY_RECORDS", "1000"))


def _clients(s3_url: str, lambda_url: str) -> tuple:
    keys = {"aws_access_key_id": "t", "aws_secret_access_key": "t", "region_name": REGION}
    s3 = boto3.client("s3", endpoint_url=s3_url, **keys)
    lam = boto3.client("lambda", endpoint_url=lambda_url, **keys)
    return s3, lam


def _fill(s3, prefix: str, count: int) -> list[str]:
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 18, tzinfo=UTC)
    keys = []
    for i in range(count):
        key = async_failure_key(f"{prefix}fn", moment, f"r{i:05d}")
        record = async_failure_record(ARN, {"action": "refund", "value": i}, moment, RuntimeError("x"))
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(record))
        keys.append(key)
    return keys


def _floor(s3, lam, keys: list[str]) -> None:
    """Per record: GET it, PUT a claim if absent, invoke, PUT the outcome; CONCURRENCY at a time."""

    def one(key: str) -> None:
        body = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        claim = s3.put_object(Bucket=BUCKET, Key=f"floor/{key}", Body=b"{}", IfNoneMatch="*")
        lam.invoke(FunctionName="bench", InvocationType="Event", Payload=json.dumps(body["requestPayload"]))
        s3.put_object(Bucket=BUCKET, Key=f"floor/{key}", Body=b"{}", IfMatch=claim["ETag"])

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, keys))


def _ours(s3, lam, prefix: str) -> None:
    store = S3Store(f"s3://{BUCKET}", s3, ACCOUNT)
    report = replay.ReplayReport()
    plan = list(replay.select(store, replay.Selection(function=f"{prefix}fn"), report, with_state=False))
    replay.execute(store, lam, plan, report, progress=False, concurrency=CONCURRENCY)
    assert report.count("replayed") == len(plan), report.outcomes[:3]


def main() -> None:
    with moto_server() as s3_url, CountingLambda() as counting:
        os.environ.update(aws_env(s3=s3_url, **{"lambda": counting.url}))
        s3, lam = _clients(s3_url, counting.url)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        print(f"failctl replay --execute, {CONCURRENCY} at a time (moto's server, loopback Lambda)")
        for count in (RECORDS,):
            ours, floor = [], []
            for run in range(3):
                keys = _fill(s3, f"f{run}", count)
                start = time.perf_counter()
                _floor(s3, lam, keys)
                floor.append(time.perf_counter() - start)
                _fill(s3, f"o{run}", count)
                start = time.perf_counter()
                _ours(s3, lam, f"o{run}")
                ours.append(time.perf_counter() - start)
            print(pair(f"{count} records", (min(ours), sorted(ours)[1]), (min(floor), sorted(floor)[1])))


if __name__ == "__main__":
    main()
