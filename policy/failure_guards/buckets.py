"""Bucket hygiene: names nobody else can claim, no public access, TLS only, and failure
archives kept on teardown."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    StackValidationArgs,
)

from .common import (
    BUCKET_TYPES,
    MalformedDocumentError,
    as_list,
    attached_to,
    dig,
    is_true,
    known_or_sources,
    parse_document,
    prop,
    statements,
)

PAB_TYPES = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
DESTINATION_PATHS = {
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ("destinationConfig", "onFailure", "destination"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ("destinationConfig", "onFailure", "destinationArn"),
}


# Twelve digits not part of a longer number: an AWS account id in a bucket name.
ACCOUNT_ID_IN_NAME = re.compile(r"(?<!\d)\d{12}(?!\d)")


def _buckets(args: StackValidationArgs) -> list[Any]:
    return [r for r in args.resources if r.resource_type in BUCKET_TYPES]


def validate_public_access(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for bucket in _buckets(args):
        blocks = attached_to(bucket, args.resources, PAB_TYPES)
        missing = [f for f in PAB_FLAGS if not any(is_true(prop(b, f)) for b in blocks)]
        if missing:
            report_violation(
                f"bucket {bucket.name} does not block public access ({', '.join(missing)} not true); add an "
                "aws.s3.BucketPublicAccessBlock with all four settings true.",
                bucket.urn,
            )


def denies_insecure_transport(document: Mapping[str, Any]) -> bool:
    for _, statement in statements(document):
        secure = dig(statement, "Condition", "Bool")
        if statement.get("Effect") != "Deny" or not isinstance(secure, Mapping):
            continue
        values = [str(v).lower() for k, v in secure.items() if str(k).lower() == "aws:securetransport"]
        actions = [str(a).lower() for a in as_list(statement.get("Action"))]
        if "false" in values and ("s3:*" in actions or "*" in actions):
            return True
    return False


def validate_tls_only(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for bucket in _buckets(args):
        documents = []
        for policy in attached_to(bucket, args.resources, POLICY_TYPES):
            try:
                documents.append(parse_document(policy.props["policy"] if "policy" in policy.props else None))
            except MalformedDocumentError:
                continue
        if not any(denies_insecure_transport(d) for d in documents):
            report_violation(
                f"bucket {bucket.name} accepts requests without TLS; add a bucket policy that denies s3:* when "
                "aws:SecureTransport is false.",
                bucket.urn,
            )


def validate_claimable_names(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """A name with an account id in it is predictable: in the global namespace anyone can
    create it first (deploy fails) or re-create it after a delete (and receive what was
    meant for us). Only the account-regional namespace reserves such names for the account."""
    for bucket in _buckets(args):
        name = prop(bucket, "bucket")
        if not isinstance(name, str) or not ACCOUNT_ID_IN_NAME.search(name):
            continue
        if prop(bucket, "bucketNamespace") == "account-regional":
            continue
        report_violation(
            f"bucket {bucket.name} is named {name}, which embeds an account id and so can be guessed and "
            "claimed by another account in the global namespace; set bucket_namespace='account-regional' "
            "(name ending -<account>-<region>-an), or drop the account id for a random suffix.",
            bucket.urn,
        )


def _archive_buckets(args: StackValidationArgs) -> tuple[set[str], set[str]]:
    """(names, urns) of buckets that failure destinations point at, by ARN or, when the ARN is
    unknown at preview, by the bucket resources it is computed from."""
    names: set[str] = set()
    urns: set[str] = set()
    for resource in args.resources:
        path = DESTINATION_PATHS.get(resource.resource_type)
        if path is None:
            continue
        arn, sources = known_or_sources(resource, *path, stack=args.resources)
        if isinstance(arn, str) and arn.startswith("arn:") and ":s3:::" in arn:
            names.add(arn.split(":::", 1)[1].split("/", 1)[0])
        urns.update(source.urn for source in sources if source.resource_type in BUCKET_TYPES)
    return names, urns


def validate_archive_protected(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    names, urns = _archive_buckets(args)
    for bucket in _buckets(args):
        name = prop(bucket, "bucket")
        if bucket.urn not in urns and not (isinstance(name, str) and name in names):
            continue
        if not bucket.opts.protect or is_true(prop(bucket, "forceDestroy")):
            report_violation(
                f"bucket {bucket.name} holds failure records but can be destroyed with them (protect is off or "
                "forceDestroy is on); deploy with protect=True and force_destroy=False "
                "(config allowDestroy: false).",
                bucket.urn,
            )
