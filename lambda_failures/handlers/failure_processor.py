"""Alerts on every new failure record in the archive, exactly once per object; optionally
re-drives events that failed for reasons outside the code (age, throttling).

Triggered by S3 ObjectCreated notifications under aws/lambda/. Objects are never deleted.
Each object is claimed before it is alerted on, with a marker object created by an S3
conditional write (see claims.py): two invocations for the same object (a duplicate
notification, a retry, a concurrent run) cannot both alert, whatever tags the object has,
and even when the object was deleted before it could be read (alerted once as gone).

Each notification record is handled on its own: a bad one is reported and skipped; one
that fails for a transient reason does not stop the others, and the invocation then fails
(`RecordsNotProcessedError`) so Lambda retries it: the records already alerted are skipped
by their claims. Alerts always fit SNS's limits: long texts are cut, with a pointer to the
object that holds them in full.

Automatic replay happens at most once per original request, and never for a replay: the
request id is claimed before invoking, and the replay's own request id (from Lambda's
response) is recorded after, so a replay that fails again writes a record whose claim
fails. An invoke whose outcome cannot be known stays claimed: reported, never re-driven.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lambda_failures.archive_format import (
    ALERT_MARKERS,
    ALERTED_TAG,
    AUTO_REPLAY_MARKERS,
    RECORD_PREFIX,
    REPLAYED_TAG,
    NotAFailureRecordError,
    parse_record,
    summarize,
)
from lambda_failures.aws_errors import error_code
from lambda_failures.claims import NOT_FOUND, Claim, ClaimState, MarkerStore, now
from lambda_failures.handlers.alerts import alert, gone_alert, malformed_alert
from lambda_failures.handlers.tracing import traced, traced_handler
from lambda_failures.invoke_errors import Verdict, classify, describe

logger = Logger()
metrics = Metrics()
s3 = boto3.client("s3")
sns = boto3.client("sns")
# One attempt per invoke: a retried 5xx is how an event runs twice; the claim says what happened.
lambda_client = boto3.client("lambda", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))

S3_TAG_LIMIT = 10


class RecordsNotProcessedError(Exception):
    """Some objects of the notification could not be handled now; Lambda retries the event."""


def _stores(bucket: str) -> tuple[MarkerStore, MarkerStore]:
    owner = os.environ.get("ARCHIVE_ACCOUNT") or None
    return (
        MarkerStore(s3, bucket, ALERT_MARKERS, owner),
        MarkerStore(s3, bucket, AUTO_REPLAY_MARKERS, owner),
    )


def _version(version: str | None) -> dict[str, str]:
    """The object version, and the account that must own the bucket (a re-created bucket of
    the same name in another account is refused by S3, not read)."""
    owner = os.environ.get("ARCHIVE_ACCOUNT")
    return ({"VersionId": version} if version else {}) | ({"ExpectedBucketOwner": owner} if owner else {})


def _read(bucket: str, key: str, version: str | None) -> bytes | None:
    """The object's bytes, or None when it was deleted before it could be read.

    S3 answers 404 (NoSuchKey, NoSuchVersion) for a missing object only to a caller that may
    list the bucket; to others it answers 403 AccessDenied, the same answer as for a key
    policy, bucket policy or SCP that refuses the read, or a bucket now owned by another
    account (ExpectedBucketOwner). A 403 alone is therefore not read as gone: the listing of
    the key's versions must confirm the absence, else the error stands (and is retried)."""
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key, **_version(version))["Body"].read()
        return body
    except ClientError as error:
        if error_code(error) in NOT_FOUND:
            return None
        if error_code(error) in ("AccessDenied", "403") and _confirmed_absent(bucket, key, version):
            return None
        raise


def _confirmed_absent(bucket: str, key: str, version: str | None) -> bool:
    """Whether a listing of the key's versions shows it gone: the version read is not listed,
    or (read without a version) its latest version is a delete marker or there is none. A
    listing that fails confirms nothing."""
    owner = {"ExpectedBucketOwner": os.environ["ARCHIVE_ACCOUNT"]} if os.environ.get("ARCHIVE_ACCOUNT") else {}
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key, **owner)
        versions, latest_deleted = set(), False
        for page in pages:
            versions |= {v.get("VersionId") for v in page.get("Versions", []) if v.get("Key") == key}
            if version is None and any(v.get("Key") == key and v.get("IsLatest") for v in page.get("Versions", [])):
                return False
            latest_deleted |= any(m.get("Key") == key and m.get("IsLatest") for m in page.get("DeleteMarkers", []))
    except (ClientError, BotoCoreError) as error:
        logger.info("absence not confirmed", extra={"key": key, "reason": str(error)[:300]})
        return False
    return version not in versions if version is not None else latest_deleted or not versions


def _tag_alerted(bucket: str, key: str, version: str | None, when: str, replayed: bool) -> None:
    """Tags are a courtesy for people browsing the bucket; the claim is what counts."""
    try:
        tags = {
            t["Key"]: t["Value"]
            for t in s3.get_object_tagging(Bucket=bucket, Key=key, **_version(version)).get("TagSet", [])
        }
        tags[ALERTED_TAG] = when
        if replayed:
            tags[REPLAYED_TAG] = when
        if len(tags) > S3_TAG_LIMIT:
            logger.info("object has no room for more tags", extra={"key": key})
            return
        s3.put_object_tagging(
            Bucket=bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
            **_version(version),
        )
    except (ClientError, BotoCoreError) as error:
        logger.info("object not tagged", extra={"key": key, "reason": str(error)})


@traced
def replay_once(replays: MarkerStore, summary: Any) -> str:
    """Re-drive the original event unless this request (or the one it replays) was replayed:
    "replayed", "already-replayed", or "uncertain" (a claim whose outcome is unknown).

    The claim is settled on what the error proves (invoke_errors): `failed` when nothing
    ran (the error is raised so Lambda retries the notification, which may claim it again),
    `uncertain` when the request may have been accepted (never re-driven automatically)."""
    if not summary.request_id:
        return "not-replayed"
    address = summary.function_address
    here = (os.environ.get("AWS_REGION"), os.environ.get("ARCHIVE_ACCOUNT"))
    if address is not None and any(mine and theirs != mine for theirs, mine in zip(address[:2], here, strict=True)):
        # Another account's or region's function: its namesake here is not the one that failed.
        logger.info("function elsewhere, not replayed", extra={"key": summary.key, "function": address[2]})
        return "not-replayed"
    claim = replays.claim(f"{summary.function}/{summary.request_id}", {"record": summary.key})
    if not isinstance(claim, Claim):
        logger.info("replay already claimed", extra={"request_id": summary.request_id, "state": claim.value})
        return "uncertain" if claim is ClaimState.UNCERTAIN else "already-replayed"
    try:
        response = lambda_client.invoke(
            FunctionName=summary.function, InvocationType="Event", Payload=json.dumps(summary.request_payload)
        )
    except (ClientError, BotoCoreError) as error:
        if classify(error) is Verdict.UNCERTAIN:
            replays.settle(claim, ClaimState.UNCERTAIN, {"record": summary.key, "error": describe(error)[:500]})
            logger.warning("replay outcome unknown", extra={"key": summary.key, "reason": describe(error)})
            return "uncertain"
        replays.settle(claim, ClaimState.FAILED, {"record": summary.key, "error": describe(error)[:500]})
        raise
    replay_id = (response.get("ResponseMetadata") or {}).get("RequestId")
    replays.settle(claim, ClaimState.DONE, {"record": summary.key, "replayId": replay_id})
    if replay_id:
        lineage = replays.claim(f"{summary.function}/{replay_id}", {"replayOf": summary.request_id})
        if isinstance(lineage, Claim):
            replays.settle(lineage, ClaimState.DONE, {"replayOf": summary.request_id, "record": summary.key})
    return "replayed"


def _message(bucket: str, key: str, body: bytes | None) -> tuple[str, str, Any]:
    """(subject, message, summary or None) for one object."""
    if body is None:
        subject, message = gone_alert(key, bucket)
        return subject, message, None
    try:
        summary = summarize(key, parse_record(body))
        subject, message = alert(summary, bucket)
    except NotAFailureRecordError as error:
        subject, message = malformed_alert(key, bucket, str(error))
        return subject, message, None
    except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as error:
        # A shape no check foresaw: the operator still hears of the object, once.
        subject, message = malformed_alert(key, bucket, f"could not be summarized ({type(error).__name__})")
        return subject, message, None
    return subject, message, summary


@traced
def process_object(bucket: str, key: str, version: str | None, topic_arn: str, auto_replay: bool) -> str:
    """Alert on one object, once: alerted, malformed, gone, replayed, duplicate or uncertain."""
    alerts, replays = _stores(bucket)
    name = key if not version else f"{key}#version={version}"
    claim = alerts.claim(name, {"record": key})
    if not isinstance(claim, Claim):
        outcome = "duplicate" if claim is ClaimState.DONE else "uncertain"
        if claim is ClaimState.DONE and auto_replay and _replay_pending(bucket, key, version, replays):
            outcome = "replayed"
        logger.info("already claimed, skipped", extra={"key": key, "outcome": outcome})
        return outcome
    try:
        body = _read(bucket, key, version)
        subject, message, summary = _message(bucket, key, body)
        response = sns.publish(TopicArn=topic_arn, Subject=subject, Message=message)
    except BaseException as error:
        # Not published (the request failed or was refused, or this attempt broke before it):
        # the next attempt may alert. Whatever broke, the claim is never left `claimed`.
        alerts.settle(claim, ClaimState.FAILED, {"record": key, "error": f"{type(error).__name__}: {error}"[:500]})
        raise
    alerts.settle(claim, ClaimState.DONE, {"record": key, "messageId": response.get("MessageId")})
    outcome = "gone" if body is None else "malformed" if summary is None else "alerted"
    if summary is not None and auto_replay and summary.retryable and replay_once(replays, summary) == "replayed":
        outcome = "replayed"
    if body is not None:
        _tag_alerted(bucket, key, version, now(), outcome == "replayed")
    logger.info("failure record processed", extra={"key": key, "outcome": outcome})
    return outcome


def _replay_pending(bucket: str, key: str, version: str | None, replays: MarkerStore) -> bool:
    """A retried notification whose alert went out: re-drive the event if its replay claim
    failed earlier (Lambda refused or throttled it). The replay claim keeps it once."""
    body = _read(bucket, key, version)
    try:
        summary = summarize(key, parse_record(body)) if body is not None else None
    except NotAFailureRecordError:
        return False
    return summary is not None and summary.retryable and replay_once(replays, summary) == "replayed"


def _notification_target(record: Any) -> tuple[str, str, str | None]:
    """(bucket, key, version) of one S3 notification record, or ValueError. The key arrives
    URL-encoded, spaces as '+' (S3 event message structure)."""
    try:
        s3_record = S3EventRecord(record).s3
        bucket, key = s3_record.bucket.name, unquote_plus(s3_record.get_object.key)
        version = s3_record.get_object.version_id
    except (KeyError, TypeError, AttributeError):
        raise ValueError("not an S3 notification record") from None
    if not isinstance(bucket, str) or not isinstance(key, str) or not (version is None or isinstance(version, str)):
        raise ValueError("bucket, key or versionId is not a string")
    return bucket, key, version


def process_notification(event: Any, topic_arn: str, auto_replay: bool) -> dict[str, int]:
    """Every record of the notification on its own; RecordsNotProcessedError if any must retry."""
    records = event.get("Records") if isinstance(event, dict) else None
    counts: dict[str, int] = {}
    retry: list[str] = []
    for record in records if isinstance(records, list) else [event]:
        try:
            bucket, key, version = _notification_target(record)
        except ValueError as error:
            logger.warning("notification record skipped", extra={"reason": str(error)})
            counts["invalid"] = counts.get("invalid", 0) + 1
            continue
        if not key.startswith(RECORD_PREFIX):  # not a failure record: never claimed, never alerted
            logger.warning("notification outside the archive prefix skipped", extra={"key": key[:300]})
            counts["ignored"] = counts.get("ignored", 0) + 1
            continue
        try:
            outcome = process_object(bucket, key, version, topic_arn, auto_replay)
        except Exception as error:  # one record that breaks, however, must not stop the others
            reason = describe(error) if isinstance(error, ClientError | BotoCoreError) else type(error).__name__
            logger.warning("failure record not processed", extra={"key": key, "reason": f"{reason}: {error}"[:500]})
            retry.append(key)
            outcome = "failed"
        counts[outcome] = counts.get(outcome, 0) + 1
    for outcome, count in counts.items():
        metrics.add_metric(name=f"Failures{outcome.capitalize()}", unit=MetricUnit.Count, value=count)
    if retry:
        raise RecordsNotProcessedError(f"{len(retry)} object(s) not processed, first {retry[0]}; retried by Lambda")
    return counts


@traced_handler
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> dict[str, int]:
    topic_arn = os.environ["ALERT_TOPIC_ARN"]
    auto_replay = os.environ.get("AUTO_REPLAY", "false").lower() == "true"
    return process_notification(event, topic_arn, auto_replay)
