"""Compacts closed days of the archive in Athena, each exactly once; optionally expires the raw
records of days compacted long enough ago.

Run daily by EventBridge Scheduler. For each function and each closed day of the last
`LOOKBACK_DAYS` (a day is closed two days after it starts: Lambda stamps a record with the
day its event failed and delivers it at most 6 hours later), it claims
`markers/athena-compactions/<function>/YYYY/MM/DD/claim` with an S3 conditional write (the
claims replay uses), so two runs cannot both compact a day; clears whatever a dead run left
in that day's partition; runs `INSERT INTO <compacted> SELECT ... FROM <raw>` for the day in
the workgroup and waits for it; and settles the claim `done` (with the rows written) or
`failed` (retried by the next run). A claim left by a run that died is taken over once its
lease has passed. The view the named queries read takes a day from the compacted table only
once its claim says `done`.

With `EXPIRE_RAW_AFTER_DAYS` > 0, the raw objects of a day compacted that many days ago are
deleted, but only when the day's compacted rows equal its raw objects (a mismatch keeps
them and is counted), once (claimed under `markers/athena-expirations/`). Versioning keeps deleted objects
as noncurrent versions for the archive's noncurrent expiration.

Any day that fails makes the invocation fail (the function's Errors alarm) and is counted in
the `DaysNotCompacted` metric.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from lambda_failures.archive_format import (
    ASYNC_PREFIX,
    ATHENA_COMPACTED_PREFIX,
    ATHENA_COMPACTION_MARKERS,
    ATHENA_EXPIRY_MARKERS,
    day_path,
)
from lambda_failures.aws_errors import error_code
from lambda_failures.claims import Claim, ClaimState, MarkerStore, written_at
from lambda_failures.handlers.tracing import traced, traced_handler
from lambda_failures.queries import compaction_statement

logger = Logger()
metrics = Metrics()
athena = boto3.client("athena")
glue = boto3.client("glue")
s3 = boto3.client("s3")

CLOSED_AFTER_DAYS = 2
# Longer than Athena's DML timeout: a claim this old belongs to a run that is gone.
LEASE_SECONDS = 3 * 3600
POLL_SECONDS = 2.0
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")
sleep = time.sleep  # tests replace it


class DaysNotCompactedError(Exception):
    """At least one day failed to compact; the next run retries it."""


@dataclass(frozen=True)
class Config:
    database: str
    raw_table: str
    compacted_table: str
    workgroup: str
    bucket: str
    account: str
    functions: tuple[str, ...]
    lookback_days: int = 7
    expire_after_days: int = 0

    @classmethod
    def from_environment(cls) -> Config:
        env = os.environ
        return cls(
            database=env["DATABASE"],
            raw_table=env["RAW_TABLE"],
            compacted_table=env["COMPACTED_TABLE"],
            workgroup=env["WORKGROUP"],
            bucket=env["ARCHIVE_BUCKET"],
            account=env["ARCHIVE_ACCOUNT"],
            functions=tuple(json.loads(env["FUNCTION_NAMES"])),
            lookback_days=int(env.get("LOOKBACK_DAYS", "7")),
            expire_after_days=int(env.get("EXPIRE_RAW_AFTER_DAYS", "0")),
        )

    @property
    def owner(self) -> dict[str, str]:
        return {"ExpectedBucketOwner": self.account}


def markers(config: Config) -> MarkerStore:
    return MarkerStore(s3, config.bucket, ATHENA_COMPACTION_MARKERS, config.account)


def claim_name(function: str, day: date) -> str:
    """A day's compaction claim: one object in the day's folder, which the Glue table of claims projects."""
    return f"{function}/{day_path(day)}/claim"


def expirations(config: Config) -> MarkerStore:
    """Apart from the compaction claims, which the Glue table of claims reads."""
    return MarkerStore(s3, config.bucket, ATHENA_EXPIRY_MARKERS, config.account)


def closed_days(today: date, lookback: int, after: int = 0) -> list[date]:
    """The `lookback` newest closed days, `after` days further back, oldest first."""
    newest = today - timedelta(days=CLOSED_AFTER_DAYS + after)
    return [newest - timedelta(days=i) for i in reversed(range(lookback))]


def _raw_keys(config: Config, function: str, day: date, limit: int | None = None) -> list[str]:
    keys: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    prefix = f"{ASYNC_PREFIX}{function}/{day_path(day)}/"
    for page in paginator.paginate(Bucket=config.bucket, Prefix=prefix, **config.owner):
        keys += [item["Key"] for item in page.get("Contents", [])]
        if limit is not None and len(keys) >= limit:
            break
    return keys


def _delete(config: Config, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        chunk = [{"Key": k} for k in keys[start : start + 1000]]
        answer = s3.delete_objects(Bucket=config.bucket, Delete={"Objects": chunk, "Quiet": True}, **config.owner)
        if answer.get("Errors"):
            raise RuntimeError(f"{len(answer['Errors'])} objects not deleted: {answer['Errors'][0]}")


def clear_partition(config: Config, function: str, day: date) -> None:
    """Remove what an earlier attempt wrote for the day (files and partition), so that the
    INSERT that follows is the day's only data."""
    try:
        partition = glue.get_partition(
            DatabaseName=config.database,
            TableName=config.compacted_table,
            PartitionValues=[function, day_path(day)],
        )["Partition"]
    except ClientError as error:
        if error_code(error) == "EntityNotFoundException":
            return
        raise
    location = partition["StorageDescriptor"]["Location"]
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    if bucket != config.bucket or not prefix.startswith(ATHENA_COMPACTED_PREFIX):
        raise RuntimeError(f"partition location {location} is not under the compacted table")
    paginator = s3.get_paginator("list_objects_v2")
    keys = [
        item["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/", **config.owner)
        for item in page.get("Contents", [])
    ]
    _delete(config, keys)
    glue.delete_partition(
        DatabaseName=config.database, TableName=config.compacted_table, PartitionValues=[function, day_path(day)]
    )


def run_statement(config: Config, sql: str, deadline: float) -> tuple[str, str, str]:
    """(final state, reason, query id); RUNNING when the deadline came first."""
    query_id = athena.start_query_execution(
        QueryString=sql, WorkGroup=config.workgroup, QueryExecutionContext={"Database": config.database}
    )["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] in FINISHED:
            return status["State"], str(status.get("StateChangeReason", "")), query_id
        if time.monotonic() + POLL_SECONDS > deadline:
            return "RUNNING", "", query_id
        sleep(POLL_SECONDS)


def _rows_written(query_id: str) -> int | None:
    try:
        statistics = athena.get_query_runtime_statistics(QueryExecutionId=query_id)["QueryRuntimeStatistics"]
        return int(statistics["Rows"]["OutputRows"])
    except (ClientError, BotoCoreError, KeyError, TypeError, ValueError):
        return None


@traced
def compact_day(config: Config, function: str, day: date, deadline: float) -> str:
    """compacted, empty, skipped (done, or another run holds it), running (left claimed) or failed."""
    store = markers(config)
    name = claim_name(function, day)
    claim = store.claim(name, {"function": function}, retry_uncertain=True, lease_seconds=LEASE_SECONDS)
    if not isinstance(claim, Claim):
        return "skipped"
    try:
        if not _raw_keys(config, function, day, limit=1):
            store.settle(claim, ClaimState.DONE, {"rows": 0})
            return "empty"
        clear_partition(config, function, day)
        sql = compaction_statement(config.database, config.raw_table, config.compacted_table, function, day_path(day))
        state, reason, query_id = run_statement(config, sql, deadline)
    except (ClientError, BotoCoreError, RuntimeError) as error:
        store.settle(claim, ClaimState.FAILED, {"detail": str(error)[:500]})
        logger.error("day not compacted", extra={"function": function, "day": str(day), "reason": str(error)})
        return "failed"
    if state == "SUCCEEDED":
        store.settle(claim, ClaimState.DONE, {"rows": _rows_written(query_id), "query": query_id})
        return "compacted"
    if state == "RUNNING":
        logger.warning("compaction still running; its claim stays", extra={"function": function, "query": query_id})
        return "running"
    store.settle(claim, ClaimState.FAILED, {"detail": reason[:500], "query": query_id})
    logger.error("day not compacted", extra={"function": function, "day": str(day), "reason": reason})
    return "failed"


@traced
def expire_day(config: Config, function: str, day: date, now: datetime) -> str:
    """Delete a compacted day's raw objects, once, when it was compacted `expire_after_days`
    ago and holds as many rows as the day has objects: expired, kept, or skipped."""
    store = markers(config)
    state, _, body = store.read(claim_name(function, day))
    if state is not ClaimState.DONE:
        return "skipped"
    settled = written_at(body)
    if settled is None or now - settled < timedelta(days=config.expire_after_days):
        return "skipped"
    expiry = expirations(config)
    claim = expiry.claim(f"{function}/{day_path(day)}", {"function": function})
    if not isinstance(claim, Claim):
        return "skipped"
    keys = _raw_keys(config, function, day)
    if body.get("rows") != len(keys):
        expiry.settle(claim, ClaimState.FAILED, {"detail": f"{body.get('rows')} rows, {len(keys)} objects"})
        return "kept"
    _delete(config, keys)
    expiry.settle(claim, ClaimState.DONE, {"objects": len(keys)})
    return "expired"


def run(config: Config, today: date, deadline: float, now: datetime | None = None) -> dict[str, list[str]]:
    outcomes: dict[str, list[str]] = {}
    for function in config.functions:
        for day in closed_days(today, config.lookback_days):
            outcome = compact_day(config, function, day, deadline)
            outcomes.setdefault(outcome, []).append(f"{function} {day}")
        if config.expire_after_days > 0:
            for day in closed_days(today, config.lookback_days, after=config.expire_after_days):
                outcome = expire_day(config, function, day, now or datetime.now(UTC))
                outcomes.setdefault(outcome, []).append(f"{function} {day}")
    return outcomes


@traced_handler
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    config = Config.from_environment()
    # Stop starting statements a minute before Lambda's timeout: a running one keeps its claim.
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - 60
    outcomes = run(config, datetime.now(UTC).date(), deadline)
    metrics.add_metric(name="DaysCompacted", unit=MetricUnit.Count, value=len(outcomes.get("compacted", [])))
    failed = outcomes.get("failed", [])
    metrics.add_metric(name="DaysNotCompacted", unit=MetricUnit.Count, value=len(failed))
    metrics.add_metric(name="RawDaysKept", unit=MetricUnit.Count, value=len(outcomes.get("kept", [])))
    logger.info("compaction run", extra={"outcomes": {k: len(v) for k, v in outcomes.items()}})
    if failed:
        raise DaysNotCompactedError(f"{len(failed)} days not compacted: {', '.join(failed[:10])}")
    return {k: len(v) for k, v in outcomes.items()}
