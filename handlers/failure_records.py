"""Reading failure records (async invocation records and stream batch records) for people.

Shared by the failure processor (alerts) and packaged with it; pure functions only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# SNS: a subject is at most 100 printable ASCII characters, a message at most 256 KB.
SUBJECT_LIMIT = 100
MESSAGE_LIMIT = 256 * 1024
# Each free text in an alert (error message, payload excerpt) is cut to this many characters:
# the record in the archive keeps the whole of it.
FIELD_LIMIT = 2_000

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
    except RecursionError:
        raise NotAFailureRecordError("JSON nested too deeply to read") from None
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


def _cut(value: Any, limit: int = FIELD_LIMIT) -> str:
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters in the record)"


def subject_line(text: str) -> str:
    """What SNS accepts as a subject: printable ASCII, no line breaks, under 100 characters."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in text).strip() or "Lambda failure"
    return printable[: SUBJECT_LIMIT - 1]


def fit_message(lines: list[str], pointer: str) -> str:
    """Join lines, cutting the message (with a pointer to the record) if it would pass SNS's limit."""
    message = "\n".join(lines)
    encoded = message.encode()
    if len(encoded) <= MESSAGE_LIMIT:
        return message
    tail = f"\n... cut to fit an SNS message; the whole record is at {pointer}"
    room = MESSAGE_LIMIT - len(tail.encode())
    return encoded[:room].decode(errors="ignore") + tail


def alert(summary: FailureSummary, bucket: str) -> tuple[str, str]:
    """(subject, message): what failed, why, where the record is, how to replay it."""
    what = _cut(summary.error_type or summary.condition, 80)
    subject = subject_line(f"[{_cut(summary.function, 64)}] {summary.kind} failure: {what}")
    lines = [f"Function:  {_cut(summary.function, 300)}", f"Condition: {_cut(summary.condition, 300)}"]
    if summary.kind == "async":
        lines += [
            f"Error:     {_cut(summary.error_type or '-', 200)}: {_cut(summary.error_message or '-')}",
            f"Request:   {_cut(summary.request_id or '-', 200)}",
        ]
    else:
        lines += [
            f"Shard:     {_cut(summary.shard_id, 300)} sequence {_cut(summary.sequence_range, 300)} "
            f"({_cut(summary.batch_size, 30)} records)",
            f"Source:    {_cut(summary.source_arn, 300)}",
        ]
    lines += [
        f"Record:    s3://{bucket}/{summary.key}",
        f"Replay:    failctl replay --source s3://{bucket} --key {summary.key} --execute   (dry run without --execute)",
    ]
    return subject, fit_message(lines, f"s3://{bucket}/{summary.key}")


def malformed_alert(key: str, bucket: str, reason: str) -> tuple[str, str]:
    return (
        "Unreadable object in the failure archive",
        f"Object:  s3://{bucket}/{key}\nProblem: {_cut(reason)}\nThe object was kept; inspect it by hand.",
    )


def gone_alert(key: str, bucket: str) -> tuple[str, str]:
    return (
        "Failure record deleted before it was read",
        f"Object:  s3://{bucket}/{key}\nThe object was deleted (or its version expired) before the failure "
        "processor could read it: the failure it recorded is lost unless another copy exists.",
    )
