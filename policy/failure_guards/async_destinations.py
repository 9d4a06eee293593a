"""Asynchronous invocations keep their failed events, and never aim at a FIFO target."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import dig, prop

INVOKE_CONFIG_TYPE = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
FUNCTION_TYPE = "aws:lambda/function:Function"
PERMISSION_TYPE = "aws:lambda/permission:Permission"
# Services that invoke Lambda asynchronously when they are granted lambda:InvokeFunction.
ASYNC_PRINCIPALS = ("s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com")


def validate_failure_destination(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != INVOKE_CONFIG_TYPE:
        return
    destination = dig(args.props, "destinationConfig", "onFailure", "destination")
    if not isinstance(destination, str) or not destination:
        report_violation(
            "destinationConfig.onFailure.destination is not set, so events that exhaust their retries "
            "or age out are dropped; set destination_config={'on_failure': {'destination': <S3 bucket, "
            "SQS queue, SNS topic, EventBridge bus or Lambda ARN>}}.",
            None,
        )


def _destinations(props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for side in ("onFailure", "onSuccess"):
        yield side, dig(props, "destinationConfig", side, "destination")


def validate_no_fifo(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != INVOKE_CONFIG_TYPE:
        return
    for side, destination in _destinations(args.props):
        if isinstance(destination, str) and destination.endswith(".fifo"):
            report_violation(
                f"destinationConfig.{side}.destination {destination} is a FIFO queue or topic, which Lambda "
                "cannot deliver to (DestinationDeliveryFailures); use a standard queue or topic.",
                None,
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
                if dig(resource.props, "destinationConfig", "onFailure", "destination"):
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


POLICIES = [
    ResourceValidationPolicy(
        name="lambda-async-invoke-has-failure-destination",
        description="Every FunctionEventInvokeConfig sends failed events to an on-failure destination.",
        validate=validate_failure_destination,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
    ),
    ResourceValidationPolicy(
        name="lambda-async-destinations-not-fifo",
        description="Asynchronous invocation destinations are standard queues and topics, never FIFO.",
        validate=validate_no_fifo,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
    ),
    StackValidationPolicy(
        name="lambda-async-functions-keep-failures",
        description="Functions invoked asynchronously keep failed events (on-failure destination or DLQ).",
        validate=validate_async_functions_keep_failures,
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.MEDIUM,
    ),
]
