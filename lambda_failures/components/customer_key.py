"""A customer managed KMS key with rotation and an alias: every key in the stack is one."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.naming import AwsContext


def customer_key(
    name: str,
    alias: str,
    description: str,
    aws_ctx: AwsContext,
    parent: pulumi.Resource,
    tags: dict[str, str],
    service_principals: tuple[str, ...] = (),
    protect: bool = False,
    source_arn: str | None = None,
) -> tuple[aws.kms.Key, aws.kms.Alias]:
    """`{name}-key` and `{name}-key-alias`; grants elsewhere name the key by this alias."""
    key = aws.kms.Key(
        f"{name}-key",
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=json.dumps(docs.key_policy(aws_ctx, service_principals, source_arn)),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    key_alias = aws.kms.Alias(
        f"{name}-key-alias",
        name=alias,
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return key, key_alias
