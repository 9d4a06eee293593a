"""Physical names claimed once: two resources of a stack given the same name would fight over it.

The update fails part-way for most kinds (the second create is refused after the first
succeeded); for CloudWatch alarms PutMetricAlarm overwrites, so one alarm silently replaces the
other and a loss it watched for goes unseen. Reusing a component (two functions given one
name prefix) is the usual way in.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    ReportViolation,
    StackValidationArgs,
)

from .common import BUCKET_TYPES, prop

# Types whose name is unique per account and region, and the property holding it. Names
# scoped to a parent (role policies, permissions) are not listed.
REGIONAL_NAMES = {
    "aws:lambda/function:Function": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:sqs/queue:Queue": "name",
    "aws:sns/topic:Topic": "name",
    "aws:kms/alias:Alias": "name",
    "aws:dynamodb/table:Table": "name",
    "aws:cloudwatch/eventBus:EventBus": "name",
    "aws:glue/catalogDatabase:CatalogDatabase": "name",
    "aws:athena/workgroup:Workgroup": "name",
}
# IAM role names are per account, whatever the region, and compared without case.
ACCOUNT_NAMES = {"aws:iam/role:Role": "name"}
# Bucket names share one namespace across both bucket types; an account-regional name carries
# its account and region, so equal names are one bucket either way.


def _region(resource: Any) -> str | None:
    """The region of the provider a resource is created with (None: the default provider's)."""
    provider = getattr(resource, "provider", None)
    region = prop(provider, "region") if provider is not None and getattr(provider, "props", None) else None
    return region if isinstance(region, str) else None


def _claim(resource: Any) -> tuple[str, str, str, str | None] | None:
    """(namespace, field, name, region) the resource's physical name lives in, or None."""
    kind = resource.resource_type
    if kind in BUCKET_TYPES:
        name = prop(resource, "bucket")
        return ("s3 bucket", "bucket", name, None) if isinstance(name, str) and name else None
    if kind in ACCOUNT_NAMES:
        name = prop(resource, "name")
        return (kind, "name", name.lower(), None) if isinstance(name, str) and name else None
    field = REGIONAL_NAMES.get(kind)
    if field is None:
        return None
    name = prop(resource, field)
    if not isinstance(name, str) or not name:
        return None  # unnamed (the provider picks one) or unknown at preview
    return (kind, field, name, _region(resource))


def validate_unique_names(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    first: dict[tuple[str, str, str, str | None], str] = {}
    for resource in args.resources:
        claim = _claim(resource)
        if claim is None:
            continue
        if claim not in first:
            first[claim] = resource.urn
            continue
        kind = resource.resource_type.split(":")[-1]
        _, field, name, _ = claim
        report_violation(
            f"{kind} {resource.name} takes the {field} {name!r}, already taken by {first[claim]}; one of them "
            "would fail to create (an alarm would silently replace the other). Give each its own name "
            "(for the lambda-failures components, its own namePrefix).",
            resource.urn,
        )
