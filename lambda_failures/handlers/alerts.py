"""Alerts for people: what failed, why, where the record is, how to replay that one record.

Pure functions over the archive format's FailureSummary; every alert fits SNS's limits.
"""

from __future__ import annotations

from typing import Any

from lambda_failures.archive_format import FailureSummary

# SNS: a subject is at most 100 printable ASCII characters, a message at most 256 KB.
SUBJECT_LIMIT = 100
MESSAGE_LIMIT = 256 * 1024
# Each free text in an alert (error message, payload excerpt) is cut to this many characters:
# the record in the archive keeps the whole of it.
FIELD_LIMIT = 2_000


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
