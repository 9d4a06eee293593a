"""A failure archive written the way Lambda writes it, from the real processor's failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from failctl.emulation.lambda_writer import (
    async_failure_key,
    async_failure_record,
    stream_failure_key,
    stream_failure_record,
)
from lambda_failures.archive_format import ASYNC_PREFIX, day_path
from lambda_failures.handlers import async_function as processor

FUNCTION = "lambda-failures-test-processor"
FUNCTION_ARN = f"arn:aws:lambda:eu-west-1:123456789012:function:{FUNCTION}"
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/lambda-failures-test-orders/stream/2026-11-01T00:00:00.000"
MAPPING = "a1b2c3d4-0000-4000-8000-000000000001"
SHARD = "shardId-00000001763000000000-abcdef01"
DAY_ONE = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)

# Every failure the processor can produce, one event each.
FAILING_EVENTS: list[Any] = [
    {"action": "process", "value": -3},
    {"action": "process", "value": "5"},
    {"action": "validate", "value": ""},
    {"action": "validate", "value": 7},
    {"action": "calculate", "value": []},
    {"action": "calculate", "value": [1, "x"]},
    {"action": "refund", "value": 1},
    {"forceError": True},
    {},
    ["not", "an", "object"],
    "just a string",
]


def failure_of(event: Any) -> BaseException:
    try:
        processor.handle_event(event)
    except processor.ProcessorError as error:
        return error
    raise AssertionError(f"{event!r} does not fail")


def write(root: Path, key: str, record: Any) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(record if isinstance(record, str) else json.dumps(record))


def build_archive(root: Path, days: int = 3) -> dict[str, Any]:
    """Each day: every failing event once; day i also repeats forceError i times. Plus one
    EventAgeExceeded record (never ran), a stream batch failure, and malformed objects."""
    expected: dict[str, Any] = {"per_day": []}
    for day in range(days):
        moment = DAY_ONE + timedelta(days=day)
        events = FAILING_EVENTS + [{"forceError": True}] * day
        for n, event in enumerate(events):
            at = moment + timedelta(seconds=n)
            record = async_failure_record(FUNCTION_ARN, event, at, failure_of(event))
            write(root, async_failure_key(FUNCTION, at), record)
        expected["per_day"].append(len(events))
    aged = DAY_ONE + timedelta(hours=2)
    write(
        root,
        async_failure_key(FUNCTION, aged),
        async_failure_record(FUNCTION_ARN, {"action": "process", "value": 1}, aged, None, "EventAgeExceeded", 0),
    )
    batch = [
        {
            "eventID": "1",
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "ApproximateCreationDateTime": 1763458200,
                "Keys": {"pk": {"S": "order#1"}},
                "NewImage": {"pk": {"S": "order#1"}, "amount": {"N": "-5"}, "status": {"S": "PENDING"}},
                "SequenceNumber": "800000000003126276362",
                "SizeBytes": 40,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": STREAM_ARN,
        }
    ]
    write(
        root,
        stream_failure_key(MAPPING, SHARD, DAY_ONE),
        stream_failure_record(FUNCTION_ARN, STREAM_ARN, SHARD, batch, DAY_ONE, 4),
    )
    malformed_day = f"{ASYNC_PREFIX}{FUNCTION}/{day_path(DAY_ONE)}"
    write(root, f"{malformed_day}/not-json", "this is not json")
    write(root, f"{malformed_day}/truncated", '{"version": "1.0", "timest')
    write(root, f"{malformed_day}/two-documents", '{"a": 1}\n{"b": 2}')
    return expected
