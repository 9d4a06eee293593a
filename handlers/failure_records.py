"""Reading failure records (async invocation records and stream batch records) for people.

Shared by the failure processor (alerts) and packaged with it; pure functions only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Conditions where the event never ran to completion for a reason outside the code
# (throttling, age): re-driving it unchanged can succeed. Function errors cannot.
RETRYABLE_CONDITIONS = ("EventAgeExceeded", "ZeroReservedConcurrency")


class NotAFailureRecordError(ValueError):
    """The object is not a failure record this stack writes."""


@dataclass
class FailureSummary:
    kind: str  # "async" or "stream"
    key: str
    function: str
    condition: str
    error_type: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    shard_id: str | None = None
    sequence_range: str | None = None
    batch_size: int | None = None
    source_arn: str | None = None
    request_payload: Any = None
    batch: list[dict[str, Any]] = field(default_factory=list)

    @property
    def retryable(self) -> bool:
        return self.kind == "async" and self.condition in RETRYABLE_CONDITIONS


def _function_name(arn: Any) -> str:
    """`arn:aws:lambda:region:acct:function:name[:qualifier]` -> name."""
    if not isinstance(arn, str):
        return "unknown"
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 else arn


def parse_json_record(body: bytes) -> dict[str, Any]:
    try:
        record = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotAFailureRecordError(f"not JSON ({error})") from None
    if not isinstance(record, dict):
        raise NotAFailureRecordError(f"a JSON {type(record).__name__}, not a record")
    return record


def summarize(key: str, record: dict[str, Any]) -> FailureSummary:
    context = record.get("requestContext")
    if not isinstance(context, dict):
        raise NotAFailureRecordError("no requestContext object")
    common = {
        "key": key,
        "function": _function_name(context.get("functionArn")),
        "condition": str(context.get("condition") or "unknown"),
        "request_id": context.get("requestId"),
    }
    batch_info = record.get("DDBStreamBatchInfo") or record.get("KinesisBatchInfo")
    if isinstance(batch_info, dict):
        return FailureSummary(
            kind="stream",
            shard_id=batch_info.get("shardId"),
            sequence_range=f"{batch_info.get('startSequenceNumber')}..{batch_info.get('endSequenceNumber')}",
            batch_size=batch_info.get("batchSize"),
            source_arn=batch_info.get("streamArn"),
            batch=_batch(record.get("payload")),
            **common,
        )
    if "requestPayload" not in record:
        raise NotAFailureRecordError("neither requestPayload nor stream batch info")
    response = record.get("responsePayload")
    response = response if isinstance(response, dict) else {}
    return FailureSummary(
        kind="async",
        error_type=response.get("errorType"),
        error_message=response.get("errorMessage"),
        request_payload=record.get("requestPayload"),
        **common,
    )


def _batch(payload: Any) -> list[dict[str, Any]]:
    """The stored batch: `payload` is a JSON string holding {"Records": [...]}."""
    if not isinstance(payload, str):
        return []
    try:
        decoded = json.loads(payload)
    except json.JSONDecodeError:
        return []
    records = decoded.get("Records") if isinstance(decoded, dict) else None
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def alert(summary: FailureSummary, bucket: str) -> tuple[str, str]:
    """(subject, message): what failed, why, where the record is, how to replay it."""
    what = f"{summary.error_type or summary.condition}"
    subject = f"[{summary.function}] {summary.kind} failure: {what}"[:100]
    lines = [f"Function:  {summary.function}", f"Condition: {summary.condition}"]
    if summary.kind == "async":
        lines += [
            f"Error:     {summary.error_type or '-'}: {summary.error_message or '-'}",
            f"Request:   {summary.request_id or '-'}",
        ]
    else:
        lines += [
            f"Shard:     {summary.shard_id} sequence {summary.sequence_range} ({summary.batch_size} records)",
            f"Source:    {summary.source_arn}",
        ]
    lines += [
        f"Record:    s3://{bucket}/{summary.key}",
        "Replay:    failctl replay --source s3://"
        f"{bucket} --function {summary.function} --execute   (dry run without --execute)",
    ]
    return subject, "\n".join(lines)


def malformed_alert(key: str, bucket: str, reason: str) -> tuple[str, str]:
    return (
        "Unreadable object in the failure archive"[:100],
        f"Object:  s3://{bucket}/{key}\nProblem: {reason}\nThe object was kept; inspect it by hand.",
    )
