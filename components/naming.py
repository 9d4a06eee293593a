"""Deterministic names and ARNs, so that every fact the policy pack checks is known at preview.

Random suffixes (pulumi-random) or provider-computed ARNs are unknown on a fresh stack's
preview, and anything built from them (an IAM document, a destination ARN) would be too.
Names here are derived from the stack's prefix, the account and the region instead, which
keeps bucket names globally unique and every ARN computable before anything exists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


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


def _fit(name: str, limit: int) -> str:
    """Shorten a name over the service's limit, keeping it unique with a stable hash."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


def bucket_name(prefix: str, role: str, aws: AwsContext) -> str:
    """Globally unique per account and region, at most 63 characters."""
    return _fit(f"{prefix}-{role}-{aws.account_id}-{aws.region}", 63)


def resource_name(prefix: str, role: str, limit: int = 64) -> str:
    """A regional resource name (function, role, queue, topic, table) under its limit."""
    return _fit(f"{prefix}-{role}", limit)


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
