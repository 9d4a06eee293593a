"""Physical names claimed once: two resources of a stack given the same name would fight over it.

The update fails part-way for most kinds (the second create is refused after the first
succeeded); for CloudWatch alarms PutMetricAlarm overwrites, so one alarm silently replaces the
other and a loss it watched for goes unseen. Reusing a component (two functions given one
name prefix) is the usual way in.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import fail_closed, prop

# Types whose name is unique per account and region (per account for IAM), and the property
# holding it. Names scoped to a parent (role policies, permissions) are not listed.
NAMED_TYPES = {
    "aws:lambda/function:Function": "name",
    "aws:iam/role:Role": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:sqs/queue:Queue": "name",
    "aws:sns/topic:Topic": "name",
    "aws:kms/alias:Alias": "name",
    "aws:dynamodb/table:Table": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:cloudwatch/eventBus:EventBus": "name",
    "aws:glue/catalogDatabase:CatalogDatabase": "name",
    "aws:athena/workgroup:Workgroup": "name",
}


def validate_unique_names(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    first: dict[tuple[str, str], str] = {}
    for resource in args.resources:
        field = NAMED_TYPES.get(resource.resource_type)
        name = prop(resource, field) if field else None
        if not isinstance(name, str) or not name:
            continue  # unnamed (the provider picks one) or unknown at preview
        key = (resource.resource_type, name)
        if key not in first:
            first[key] = resource.urn
            continue
        kind = resource.resource_type.split(":")[-1]
        report_violation(
            f"{kind} {resource.name} takes the {field} {name!r}, already taken by {first[key]}; one of them "
            "would fail to create (an alarm would silently replace the other). Give each its own name "
            "(for the lambda-failures components, its own namePrefix).",
            resource.urn,
        )


POLICIES = [
    StackValidationPolicy(
        name="physical-names-unique",
        description="No two resources of one type in the stack take the same physical name.",
        validate=fail_closed(validate_unique_names, "physical-names-unique"),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
    ),
]
