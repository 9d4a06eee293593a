"""Alerts on every new failure record in the archive, once per object; optionally re-drives
events that failed for reasons outside the code (age, throttling).

Triggered by S3 ObjectCreated notifications under aws/lambda/. Objects are never deleted;
an object tag marks the ones already alerted on, so a duplicate notification is a no-op.

Automatic replay happens at most once per original request, and never for a replay: before
invoking, the processor creates a marker object named by the record's request id, only if
it does not exist yet (S3 conditional write, `If-None-Match: *`); after invoking, it creates
one named by the replay's own request id. A replay that fails again writes a new record
with that id, whose claim then fails, so it is alerted on and never re-driven. Markers live
outside aws/lambda/, so they trigger nothing.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from failure_records import NotAFailureRecordError, alert, malformed_alert, parse_json_record, summarize

logger = Logger()
metrics = Metrics()
s3 = boto3.client("s3")
sns = boto3.client("sns")
lambda_client = boto3.client("lambda")

ALERTED_TAG = "failure-alerted"
REPLAYED_TAG = "failure-replayed"
# S3's answers when an If-None-Match write finds the object already there (or racing).
MARKER_EXISTS = ("PreconditionFailed", "ConditionalRequestConflict")


def _marker_prefix() -> str:
    return os.environ.get("REPLAY_MARKER_PREFIX", "replay-markers/")


def create_marker(bucket: str, function: str, request_id: str, body: dict[str, Any]) -> bool:
    """Create `<prefix><function>/<request id>` only if absent; True when this call created it."""
    try:
        s3.put_object(
            Bucket=bucket,
            Key=f"{_marker_prefix()}{function}/{request_id}",
            Body=json.dumps(body).encode(),
            IfNoneMatch="*",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in MARKER_EXISTS:
            return False
        raise
    return True


def replay_once(bucket: str, summary: Any, now: str) -> bool:
    """Re-drive the original event unless this request (or the request it replays) was replayed."""
    if not summary.request_id:
        return False
    if not create_marker(bucket, summary.function, summary.request_id, {"replayedAt": now, "record": summary.key}):
        logger.info("replay already claimed, not re-driven", extra={"request_id": summary.request_id})
        return False
    response = lambda_client.invoke(
        FunctionName=summary.function, InvocationType="Event", Payload=json.dumps(summary.request_payload)
    )
    replay_id = (response.get("ResponseMetadata") or {}).get("RequestId")
    if replay_id:
        create_marker(bucket, summary.function, replay_id, {"replayOf": summary.request_id, "record": summary.key})
    return True


def _tags(bucket: str, key: str, version: str | None) -> dict[str, str]:
    extra = {"VersionId": version} if version else {}
    response = s3.get_object_tagging(Bucket=bucket, Key=key, **extra)
    return {t["Key"]: t["Value"] for t in response.get("TagSet", [])}


def _tag(bucket: str, key: str, version: str | None, tags: dict[str, str]) -> None:
    extra = {"VersionId": version} if version else {}
    s3.put_object_tagging(
        Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}, **extra
    )


def process_object(bucket: str, key: str, version: str | None, topic_arn: str, auto_replay: bool) -> str:
    """Alert on one object; returns what was done: alerted, malformed, duplicate, replayed."""
    tags = _tags(bucket, key, version)
    if ALERTED_TAG in tags:
        logger.info("already alerted, skipped", extra={"key": key})
        return "duplicate"
    extra = {"VersionId": version} if version else {}
    body = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
    outcome = "alerted"
    try:
        summary = summarize(key, parse_json_record(body))
        subject, message = alert(summary, bucket)
    except NotAFailureRecordError as error:
        subject, message = malformed_alert(key, bucket, str(error))
        outcome, summary = "malformed", None
    sns.publish(TopicArn=topic_arn, Subject=subject, Message=message)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    tags[ALERTED_TAG] = now
    if summary is not None and auto_replay and summary.retryable and REPLAYED_TAG not in tags:
        if replay_once(bucket, summary, now):
            tags[REPLAYED_TAG] = now
            outcome = "replayed"
    _tag(bucket, key, version, tags)
    logger.info("failure record processed", extra={"key": key, "outcome": outcome})
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    topic_arn = os.environ["ALERT_TOPIC_ARN"]
    auto_replay = os.environ.get("AUTO_REPLAY", "false").lower() == "true"
    counts: dict[str, int] = {}
    for record in event.get("Records", []):
        s3_info = record["s3"]
        key = unquote_plus(s3_info["object"]["key"])
        outcome = process_object(
            s3_info["bucket"]["name"], key, s3_info["object"].get("versionId"), topic_arn, auto_replay
        )
        counts[outcome] = counts.get(outcome, 0) + 1
    for outcome, count in counts.items():
        metrics.add_metric(name=f"Failures{outcome.capitalize()}", unit=MetricUnit.Count, value=count)
    return counts
