"""Invocation records exactly as Lambda writes them to an S3 on-failure destination.

Used to emulate Lambda offline (local runs, tests, benchmarks) from the documented formats;
where they go is the archive format's (async_failure_key, stream_failure_key).
"""

from __future__ import annotations

import json
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from lambda_failures.archive_format import async_failure_key, stream_failure_key

__all__ = ["async_failure_key", "async_failure_record", "error_payload", "stream_failure_key", "stream_failure_record"]


def _utc(moment: datetime) -> datetime:
    """Lambda stamps UTC with `Z`: an aware moment is converted, a naive one is taken as UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    moment = _utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """What the Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__) if error.__traceback__ else [],
    }


def async_failure_record(
    function_arn: str,
    event: Any,
    moment: datetime,
    error: BaseException | None,
    condition: str = "RetriesExhausted",
    invoke_count: int = 3,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An async invocation record; without an error (the event never ran) it has no response payload."""
    request_id = request_id or str(uuid.uuid4())
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _stamp(moment),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
    }
    if error is not None:
        record["responseContext"]["functionError"] = "Unhandled"
        record["responsePayload"] = error_payload(error, request_id)
    return record


def stream_failure_record(
    function_arn: str,
    stream_arn: str,
    shard_id: str,
    records: list[dict[str, Any]],
    moment: datetime,
    invoke_count: int,
    condition: str = "RetryAttemptsExhausted",
) -> dict[str, Any]:
    """A DynamoDB Streams batch record; `payload` is the original batch as a JSON string."""
    sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
    arrivals = [
        # The epoch seconds DynamoDB stamps, written in UTC whatever the machine's zone.
        datetime.fromtimestamp(r["dynamodb"].get("ApproximateCreationDateTime", moment.timestamp()), UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        for r in records
    ]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": _stamp(moment),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": min(sequences),
            "endSequenceNumber": max(sequences),
            "approximateArrivalOfFirstRecord": min(arrivals),
            "approximateArrivalOfLastRecord": max(arrivals),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
        "payload": json.dumps({"Records": records}),
    }
