"""Asynchronous invocations keep their failed events, and never aim at a FIFO target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from .common import configured, dig, is_true, known_or_sources, prop

INVOKE_CONFIG_TYPE = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
FUNCTION_TYPE = "aws:lambda/function:Function"
PERMISSION_TYPE = "aws:lambda/permission:Permission"
# Services that invoke Lambda asynchronously when they are granted lambda:InvokeFunction.
ASYNC_PRINCIPALS = ("s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com")


def validate_failure_destination(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not configured(args.props, "destinationConfig", "onFailure", "destination"):
        report_violation(
            "destinationConfig.onFailure.destination is not set, so events that exhaust their retries "
            "or age out are dropped; set destination_config={'on_failure': {'destination': <S3 bucket, "
            "SQS queue, SNS topic, EventBridge bus or Lambda ARN>}}.",
            None,
        )


FIFO_FLAGS = {"aws:sqs/queue:Queue": "fifoQueue", "aws:sns/topic:Topic": "fifoTopic"}


def is_fifo_arn(arn: Any) -> bool:
    """An SQS queue or SNS topic ARN whose name ends in .fifo (a bucket named so is not one)."""
    if not isinstance(arn, str):
        return False
    parts = arn.split(":")
    return len(parts) >= 6 and parts[2] in ("sqs", "sns") and parts[-1].endswith(".fifo")


def _is_fifo_resource(resource: Any) -> bool:
    flag = FIFO_FLAGS.get(resource.resource_type)
    if flag is None:
        return False
    name = prop(resource, "name")
    return is_true(prop(resource, flag)) or (isinstance(name, str) and name.endswith(".fifo"))


def _fifo_destinations(config: Any, stack: Any) -> Iterator[tuple[str, str]]:
    """(side, what) for each destination that is a FIFO queue or topic; an ARN unknown at
    preview is judged by the resources it is computed from."""
    for side in ("onFailure", "onSuccess"):
        arn, sources = known_or_sources(config, "destinationConfig", side, "destination", stack=stack)
        if is_fifo_arn(arn):
            yield side, arn
        for source in sources:
            if _is_fifo_resource(source) and source.urn:
                yield side, f"{source.name} (a FIFO {source.resource_type.split(':')[-1]})"


def validate_no_fifo(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for config in args.resources:
        if config.resource_type != INVOKE_CONFIG_TYPE:
            continue
        for side, what in _fifo_destinations(config, args.resources):
            report_violation(
                f"destinationConfig.{side}.destination {what} is a FIFO queue or topic, which Lambda "
                "cannot deliver to (DestinationDeliveryFailures); use a standard queue or topic.",
                config.urn,
            )


def _function_name(value: Any) -> str | None:
    """A function name from a name, a function ARN or a qualified ARN."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else None
    return value.split(":")[0]


def validate_async_functions_keep_failures(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Functions invoked asynchronously (an invoke config, or a permission for S3/SNS/EventBridge)
    need an on-failure destination or a dead-letter queue."""
    handled: set[str] = set()
    invoked_async: set[str] = set()
    for resource in args.resources:
        if resource.resource_type == INVOKE_CONFIG_TYPE:
            name = _function_name(prop(resource, "functionName"))
            if name:
                invoked_async.add(name)
                if configured(resource.props, "destinationConfig", "onFailure", "destination"):
                    handled.add(name)
        elif resource.resource_type == PERMISSION_TYPE and prop(resource, "principal") in ASYNC_PRINCIPALS:
            name = _function_name(prop(resource, "function"))
            if name:
                invoked_async.add(name)
    for resource in args.resources:
        if resource.resource_type != FUNCTION_TYPE:
            continue
        name = _function_name(prop(resource, "name"))
        if name not in invoked_async or name in handled:
            continue
        if dig(resource.props, "deadLetterConfig", "targetArn"):
            continue
        report_violation(
            f"function {name} is invoked asynchronously but has neither an on-failure destination nor a "
            "dead-letter queue; add an aws.lambda_.FunctionEventInvokeConfig with "
            "destination_config.on_failure, or dead_letter_config.",
            resource.urn,
        )
