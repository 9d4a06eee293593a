"""Data at rest is encrypted with KMS, on keys this account manages and rotates.

A key id that is unknown at preview comes from a key created in this same stack (invokes
and literals are known at preview; only resource outputs are not), so it is judged a
customer managed key. AWS managed keys are named by literal `alias/aws/...` references.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from .common import BUCKET_TYPES, UnknownValueError, as_list, attached_to, dig, is_true

# The resource types each check below judges (exemptions apply only to these).
QUEUE_TYPE = "aws:sqs/queue:Queue"
TOPIC_TYPE = "aws:sns/topic:Topic"
TABLE_TYPE = "aws:dynamodb/table:Table"
WORKGROUP_TYPE = "aws:athena/workgroup:Workgroup"
KEY_TYPE = "aws:kms/key:Key"
SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


# What each service does when no key is named (AWS documentation of each service's default).
UNSET_MEANS = {
    # S3 with sseAlgorithm aws:kms and no key id: the AWS managed key.
    "alias/aws/s3": "the AWS managed key alias/aws/s3 is used",
    # SQS: new queues default to SSE-SQS (SQS-owned keys) unless sqs_managed_sse_enabled is false.
    "alias/aws/sqs": "the queue is encrypted with SQS-owned keys (SSE-SQS, the default for new queues), "
    "or not at all with sqs_managed_sse_enabled false, never with a key you control",
    # SNS: no server-side encryption unless a key is named.
    "alias/aws/sns": "the topic is not encrypted at rest",
    "alias/aws/dynamodb": "the AWS managed key alias/aws/dynamodb is used",
}


def key_problem(container: Any, prop: str, aws_managed: str) -> str | None:
    """Why the key at `container[prop]` is not a customer managed key, or None if it is."""
    try:
        key = container[prop] if isinstance(container, Mapping) and prop in container else None
    except UnknownValueError:
        return None  # computed by a key resource in this stack
    if not isinstance(key, str) or not key.strip():
        return f"{prop} is not set, so {UNSET_MEANS.get(aws_managed, f'the AWS managed key {aws_managed} is used')}"
    if key.strip() == aws_managed or key.strip().endswith(f":{aws_managed}") or "alias/aws/" in key:
        return f"{prop} is the AWS managed key {key}"
    return None


# --- S3: a stack check, because default encryption is usually a separate resource. ---


def _sse_defaults(props: Any) -> list[Any]:
    """Every applyServerSideEncryptionByDefault block, in the v7 or the v6 (list) shape."""
    found: list[Any] = []
    for rule in as_list(dig(props, "rule")) + as_list(dig(props, "rules")):
        found.append(dig(rule, "applyServerSideEncryptionByDefault"))
    return found


def _inline_defaults(bucket_props: Any) -> list[Any]:
    found: list[Any] = []
    for config in as_list(dig(bucket_props, "serverSideEncryptionConfiguration")) + as_list(
        dig(bucket_props, "serverSideEncryptionConfigurations")
    ):
        found.extend(_sse_defaults(config))
    return found


def default_problem(default: Any) -> str | None:
    if not isinstance(default, Mapping):
        return "has no applyServerSideEncryptionByDefault block"
    algorithm = default["sseAlgorithm"] if "sseAlgorithm" in default else None
    if algorithm == "AES256":
        return "encrypts with sseAlgorithm 'AES256': S3-managed keys (SSE-S3), not KMS"
    if algorithm not in KMS_ALGORITHMS:
        return f"encrypts with sseAlgorithm {algorithm!r}, not aws:kms or aws:kms:dsse"
    return key_problem(default, "kmsMasterKeyId", "alias/aws/s3")


def validate_buckets(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    buckets = [r for r in args.resources if r.resource_type in BUCKET_TYPES]
    for bucket in buckets:
        defaults = _inline_defaults(bucket.props)
        for config in attached_to(bucket, args.resources, SSE_TYPES):
            defaults.extend(_sse_defaults(config.props))
        if not defaults:
            report_violation(
                f"bucket {bucket.name} names no default encryption, so S3 encrypts it with S3-managed keys "
                "(SSE-S3, every bucket's default), not KMS; add an aws.s3.BucketServerSideEncryptionConfiguration "
                "with sse_algorithm 'aws:kms' and kms_master_key_id set to a customer managed key.",
                bucket.urn,
            )
            continue
        for problem in filter(None, (default_problem(d) for d in defaults)):
            report_violation(
                f"bucket {bucket.name} default encryption {problem}; set sse_algorithm 'aws:kms' and "
                "kms_master_key_id to a customer managed key.",
                bucket.urn,
            )


# --- Per-resource checks. ---


def validate_queue(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    problem = key_problem(args.props, "kmsMasterKeyId", "alias/aws/sqs")
    if problem:
        report_violation(
            f"SQS queue {problem}; set kms_master_key_id to a customer managed key.",
            None,
        )


def validate_topic(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    problem = key_problem(args.props, "kmsMasterKeyId", "alias/aws/sns")
    if problem:
        report_violation(f"SNS topic {problem}; set kms_master_key_id to a customer managed key.", None)


def validate_table(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    sse = args.props["serverSideEncryption"] if "serverSideEncryption" in args.props else None
    if not is_true(dig(sse, "enabled")):
        report_violation(
            "DynamoDB table serverSideEncryption.enabled is not true, so an AWS owned key is used; "
            "set server_side_encryption={'enabled': True, 'kms_key_arn': <customer managed key>}.",
            None,
        )
        return
    problem = key_problem(sse, "kmsKeyArn", "alias/aws/dynamodb")
    if problem:
        report_violation(
            f"DynamoDB table serverSideEncryption.{problem}; set kms_key_arn to a customer managed key.",
            None,
        )


def validate_workgroup(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    configuration = args.props["configuration"] if "configuration" in args.props else None
    option = dig(configuration, "resultConfiguration", "encryptionConfiguration", "encryptionOption")
    if option not in ("SSE_KMS", "CSE_KMS"):
        report_violation(
            "Athena workgroup configuration.resultConfiguration.encryptionConfiguration.encryptionOption "
            f"is {option!r}; set it to SSE_KMS (or CSE_KMS) with kms_key_arn.",
            None,
        )
    enforce = dig(configuration, "enforceWorkgroupConfiguration")
    if enforce is not None and not is_true(enforce):
        report_violation(
            "Athena workgroup configuration.enforceWorkgroupConfiguration is false, so clients can "
            "override result encryption; set it to true.",
            None,
        )


def validate_key_rotation(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = args.props["customerMasterKeySpec"] if "customerMasterKeySpec" in args.props else None
    if spec not in (None, "SYMMETRIC_DEFAULT"):
        return  # only symmetric encryption keys can rotate
    if not is_true(args.props["enableKeyRotation"] if "enableKeyRotation" in args.props else None):
        report_violation("KMS key enableKeyRotation is not true; set enable_key_rotation=True.", None)
