"""Stream event source mappings cannot retry a poison record forever.

Lambda's defaults for DynamoDB Streams, Kinesis, Amazon MSK and self-managed Kafka are
MaximumRetryAttempts -1 and MaximumRecordAgeInSeconds -1: one bad record blocks its shard or
partition until it expires (24 hours on DynamoDB, up to a year on Kinesis, the topic's retention
on Kafka). Kafka mappings accept the error-handling controls (retries, record age, bisection,
partial batch responses) only in provisioned mode (`ProvisionedPollerConfig`). SQS mappings are
not streams and are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
)

from .bounds import (
    LAMBDA_MAX_RECORD_AGE_SECONDS,
    LAMBDA_MAX_RETRY_ATTEMPTS,
    STREAM_MAX_RECORD_AGE_SECONDS,
    STREAM_MAX_RETRY_ATTEMPTS,
    STREAM_MIN_RECORD_AGE_SECONDS,
)
from .common import UnknownValueError, as_list, configured, is_true, number

ESM_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping"


def stream_kind(props: Mapping[str, Any]) -> str | None:
    """'dynamodb', 'kinesis', 'kafka' or None (SQS, MQ, DocumentDB...).

    The source ARN is unknown at preview when it comes from a table created in the same
    stack; a starting position (required for streams, refused for SQS) then decides.
    """
    try:
        arn = props["eventSourceArn"] if "eventSourceArn" in props else None
    except UnknownValueError:
        arn = None
        if "startingPosition" not in props:
            raise
    if isinstance(arn, str):
        if ":dynamodb:" in arn:
            return "dynamodb"
        if ":kinesis:" in arn:
            return "kinesis"
        if ":kafka:" in arn:
            return "kafka"
        return None
    if "selfManagedEventSource" in props or "amazonManagedKafkaEventSourceConfig" in props:
        return "kafka"
    if "startingPosition" in props:
        return "stream"
    return None


def _stream_props(args: ResourceValidationArgs) -> tuple[str, Mapping[str, Any]] | None:
    if args.resource_type != ESM_TYPE:
        return None
    kind = stream_kind(args.props)
    return (kind, args.props) if kind else None


def provisioned(props: Mapping[str, Any]) -> bool:
    """A Kafka mapping in provisioned mode (a poller config is set); unknown stays undecided."""
    config = props["provisionedPollerConfig"] if "provisionedPollerConfig" in props else None
    return isinstance(config, Mapping) and len(config) > 0


def _kafka_hint(found: tuple[str, Mapping[str, Any]]) -> str:
    """Kafka takes the bound only in provisioned mode: say so where it is missing."""
    if found[0] == "kafka" and not provisioned(found[1]):
        return " Kafka mappings accept it only in provisioned mode: set provisioned_poller_config too."
    return ""


def _config_number(args: ResourceValidationArgs, key: str, default: int) -> int:
    value = number(args.get_config().get(key))
    return int(value) if value is not None else default


def _check_bound(
    args: ResourceValidationArgs,
    report_violation: ReportViolation,
    prop: str,
    setting: str,
    lowest: int,
    config_key: str,
    default: int,
) -> None:
    """`prop` must be set (unset means -1, forever) and within lowest..the configured bound."""
    found = _stream_props(args)
    if not found:
        return
    limit = _config_number(args, config_key, default)
    value = number(found[1][prop] if prop in found[1] else None)
    hint = _kafka_hint(found)
    if value is None:
        report_violation(
            f"{prop} is not set, so Lambda retries a failing batch until its records expire (-1); "
            f"set {setting} between {lowest} and {limit}.{hint}",
            None,
        )
    elif not lowest <= value <= limit:
        report_violation(f"{prop} is {value:g}; set {setting} between {lowest} and {limit}.{hint}", None)


def validate_retries(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    _check_bound(
        args,
        report_violation,
        "maximumRetryAttempts",
        "maximum_retry_attempts",
        0,
        "maxRetryAttempts",
        STREAM_MAX_RETRY_ATTEMPTS,
    )


def validate_record_age(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    _check_bound(
        args,
        report_violation,
        "maximumRecordAgeInSeconds",
        "maximum_record_age_in_seconds",
        STREAM_MIN_RECORD_AGE_SECONDS,
        "maxRecordAgeSeconds",
        STREAM_MAX_RECORD_AGE_SECONDS,
    )


def _bisectable(args: ResourceValidationArgs) -> tuple[str, Mapping[str, Any]] | None:
    """Streams Lambda bisects: DynamoDB, Kinesis, and Kafka in provisioned mode (a Kafka mapping
    in on-demand mode takes no error-handling controls, which the retries policy reports)."""
    found = _stream_props(args)
    if not found or (found[0] == "kafka" and not provisioned(found[1])):
        return None
    return found


def validate_bisect(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    found = _bisectable(args)
    if not found:
        return
    raw = found[1]["bisectBatchOnFunctionError"] if "bisectBatchOnFunctionError" in found[1] else None
    if not is_true(raw):
        report_violation(
            "bisectBatchOnFunctionError is not true, so one bad record fails its whole batch on every "
            "retry; set bisect_batch_on_function_error=True.",
            None,
        )


def remediate_bisect(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    """Safe to fix in place: bisection only changes how a failing batch is retried."""
    if not _bisectable(args):
        return None
    if is_true(args.props["bisectBatchOnFunctionError"] if "bisectBatchOnFunctionError" in args.props else None):
        return None
    try:
        props = {key: _plain(args.props[key]) for key in args.props}
    except UnknownValueError:
        return None  # an unknown input cannot be written back; the validation still reports
    props["bisectBatchOnFunctionError"] = True
    return props


def _plain(value: Any) -> Any:
    """Unwrap the analyzer's proxies into plain dicts and lists it can serialize."""
    if isinstance(value, Mapping):
        return {key: _plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(value[i]) for i in range(len(value))]
    return value


def validate_failure_destination(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    found = _stream_props(args)
    if not found:
        return
    if not configured(found[1], "destinationConfig", "onFailure", "destinationArn"):
        report_violation(
            "destinationConfig.onFailure.destinationArn is not set, so records dropped after the last "
            "retry are lost; set destination_config={'on_failure': {'destination_arn': <S3 bucket, SQS "
            "queue or SNS topic ARN>}}.",
            None,
        )


def validate_partial_batch(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    found = _stream_props(args)
    if not found:
        return
    types = as_list(found[1]["functionResponseTypes"] if "functionResponseTypes" in found[1] else None)
    if "ReportBatchItemFailures" not in types:
        report_violation(
            "functionResponseTypes lacks ReportBatchItemFailures, so a batch with one bad record is retried "
            "whole; set function_response_types=['ReportBatchItemFailures'] and return batchItemFailures.",
            None,
        )


# The settings the bounds read from the pack config, as JSON schemas.
RETRIES_CONFIG = {
    "maxRetryAttempts": {
        "type": "integer",
        "minimum": 0,
        "maximum": LAMBDA_MAX_RETRY_ATTEMPTS,
        "default": STREAM_MAX_RETRY_ATTEMPTS,
    }
}
RECORD_AGE_CONFIG = {
    "maxRecordAgeSeconds": {
        "type": "integer",
        "minimum": STREAM_MIN_RECORD_AGE_SECONDS,
        "maximum": LAMBDA_MAX_RECORD_AGE_SECONDS,
        "default": STREAM_MAX_RECORD_AGE_SECONDS,
    }
}
