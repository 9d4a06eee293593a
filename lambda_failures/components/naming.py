"""Deterministic names and ARNs, so that every fact the policy pack checks is known at preview.

Random suffixes (pulumi-random) or provider-computed ARNs are unknown on a fresh stack's
preview, and anything built from them (an IAM document, a destination ARN) would be too.
Names here are derived from the stack's prefix, the account and the region instead. Bucket
names are safe to predict only in S3's account-regional namespace (no other account can
create them); where that namespace is not offered the buckets take a random suffix instead,
and grants name the known prefix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsContext:
    """Where the stack deploys: known at preview from the provider's invokes."""

    account_id: str
    region: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        account_id = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region}:{account_id}:{resource}"

    def service_host(self, service: str) -> str:
        """The endpoint host that kms:ViaService names for a service in this region."""
        return f"{service}.{self.region}.amazonaws.com"


def aws_context(invoke: pulumi.InvokeOptions | None = None) -> AwsContext:
    """Account, region and partition of the AWS provider the invokes go through (a component's
    parent passes its own): the program, the consumer stack and the component package alike."""
    return AwsContext(
        account_id=aws.get_caller_identity(opts=invoke).account_id,
        region=aws.get_region(opts=invoke).region,
        partition=aws.get_partition(opts=invoke).partition,
    )


BUCKET_NAME_LIMIT = 63
ACCOUNT_REGIONAL_SUFFIX = "-an"
# pulumi-random's RandomId gives 2 hex characters per byte.
RANDOM_SUFFIX_BYTES = 6


def _fit(name: str, limit: int) -> str:
    """Shorten a name over the service's limit, keeping it unique with a stable hash."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


def account_regional_suffix(aws: AwsContext) -> str:
    """The suffix S3 requires of a bucket in the account-regional namespace: `-<account>-<region>-an`."""
    return f"-{aws.account_id}-{aws.region}{ACCOUNT_REGIONAL_SUFFIX}"


def bucket_name(prefix: str, role: str, aws: AwsContext) -> str:
    """`<prefix>-<role>-<account>-<region>-an`, at most 63 characters.

    Only this account can create a name in its account-regional namespace, so the name can
    be predictable without anyone else claiming it. When it is too long, the prefix part is
    shortened (with a stable hash); the suffix S3 checks is never cut.
    """
    suffix = account_regional_suffix(aws)
    return _fit(f"{prefix}-{role}", BUCKET_NAME_LIMIT - len(suffix)) + suffix


def random_bucket_name_prefix(prefix: str, role: str) -> str:
    """`<prefix>-<role>-` before a random suffix, for the global namespace: nobody can guess
    the full name to claim it first, and IAM grants name this prefix with `*`."""
    return _fit(f"{prefix}-{role}", BUCKET_NAME_LIMIT - 2 * RANDOM_SUFFIX_BYTES - 1) + "-"


def resource_name(prefix: str, role: str, limit: int = 64) -> str:
    """A regional resource name (function, role, queue, topic, table) under its limit."""
    return _fit(f"{prefix}-{role}", limit)


# A customer managed key's alias (KMS CreateAlias: AliasName 1..256 characters); `alias/aws/` names
# AWS managed keys.
KEY_ALIAS = re.compile(r"alias/(?!aws/)[A-Za-z0-9/_-]{1,250}")


def key_alias(prefix: str, role: str) -> str:
    """`alias/<prefix>-<role>`: grants name each key by its alias, known at preview."""
    return f"alias/{prefix}-{role}"


def bucket_arn(name: str, aws: AwsContext) -> str:
    return aws.arn("s3", name, regional=False, account=False)


def function_arn(name: str, aws: AwsContext) -> str:
    return aws.arn("lambda", f"function:{name}")


def log_group_arn(name: str, aws: AwsContext) -> str:
    return aws.arn("logs", f"log-group:{name}")


def queue_arn(name: str, aws: AwsContext) -> str:
    return aws.arn("sqs", name)


def topic_arn(name: str, aws: AwsContext) -> str:
    return aws.arn("sns", name)


def event_bus_arn(name: str, aws: AwsContext) -> str:
    return aws.arn("events", f"event-bus/{name}")


def table_arn(name: str, aws: AwsContext) -> str:
    return aws.arn("dynamodb", f"table/{name}")


def role_arn(name: str, aws: AwsContext) -> str:
    return aws.arn("iam", f"role/{name}", regional=False)
