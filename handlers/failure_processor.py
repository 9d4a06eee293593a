"""Alerts on every new failure record in the archive, once per object; optionally re-drives
events that failed for reasons outside the code (age, throttling).

Triggered by S3 ObjectCreated notifications under aws/lambda/. Objects are never deleted;
an object tag marks the ones already alerted on, so a duplicate notification is a no-op.
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
from failure_records import NotAFailureRecordError, alert, malformed_alert, parse_json_record, summarize

logger = Logger()
metrics = Metrics()
s3 = boto3.client("s3")
sns = boto3.client("sns")
lambda_client = boto3.client("lambda")

ALERTED_TAG = "failure-alerted"
REPLAYED_TAG = "failure-replayed"


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
        lambda_client.invoke(
            FunctionName=summary.function, InvocationType="Event", Payload=json.dumps(summary.request_payload)
        )
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
