"""A private S3 bucket on its own customer managed key: the hardening every bucket here gets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.customer_key import customer_key
from lambda_failures.components.naming import (
    RANDOM_SUFFIX_BYTES,
    AwsContext,
    bucket_arn,
    bucket_name,
    random_bucket_name_prefix,
)
from lambda_failures.components.settings import NO_ACCOUNT_REGIONAL_NAMESPACE, PROJECT


@dataclass
class Lifecycle:
    """Expiry only: failure records are small (mostly under 128 KB), and S3 neither moves
    objects that small to STANDARD_IA by default nor bills them below 128 KB there."""

    expiration_days: int
    noncurrent_expiration_days: int = 30


@dataclass
class PrivateBucketArgs:
    aws: AwsContext
    name_prefix: str
    role: str
    key_alias: str
    purpose: str
    lifecycle: Lifecycle
    namespace: str = "account-regional"  # or "global": a random suffix instead
    protect: bool = True
    tags: dict[str, str] = field(default_factory=dict)


def effective_namespace(requested: str, aws_ctx: AwsContext) -> str:
    """The account-regional namespace where S3 offers it; the global one elsewhere."""
    if requested == "account-regional" and aws_ctx.region in NO_ACCOUNT_REGIONAL_NAMESPACE:
        return "global"
    return requested


class PrivateBucket(pulumi.ComponentResource):
    """Rotating KMS key, aws:kms default encryption with bucket keys, all public access
    blocked, BucketOwnerEnforced, versioning, TLS-only policy, lifecycle.

    In the account-regional namespace the name is `<prefix>-<role>-<account>-<region>-an`:
    known at preview and creatable by this account only. In the global namespace it ends in
    a random suffix (unknown until created), and `grant_arn` names the prefix with `*`, so
    grants stay known at preview either way; the key is granted through its alias for the
    same reason. `bucket_name`/`bucket_arn` are outputs of the bucket resource, so whatever
    uses them is created after it and destroyed before it.
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    grant_arn: str
    namespace: str
    key_alias: str
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:PrivateBucket", name, None, opts)
        self._args = args
        self.namespace = effective_namespace(args.namespace, args.aws)
        self.key_alias = args.key_alias
        requested_name = self._requested_name(name)
        self.key, self.alias = customer_key(
            name,
            args.key_alias,
            f"Encrypts {args.purpose} in the {args.name_prefix}-{args.role} bucket",
            args.aws,
            self,
            args.tags,
            protect=args.protect,
        )
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=requested_name,
            bucket_namespace=self.namespace,
            force_destroy=not args.protect,
            tags=args.tags,
            # Teardown must be asked for: the bucket may hold the only copy of what it keeps.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.bucket.apply(lambda bucket: bucket_arn(bucket, args.aws))
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.bucket,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.bucket,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.bucket,
            versioning_configuration={"status": "Enabled"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._lifecycle(name)
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.bucket,
            policy=self.bucket_arn.apply(lambda arn: json.dumps(docs.tls_only_bucket(arn))),
            # A bucket policy written while the public access block is still being set races it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.key_arn = self.key.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn, "keyArn": self.key.arn})

    def _requested_name(self, name: str) -> pulumi.Input[str]:
        """The bucket's name in its namespace; sets `grant_arn` to what IAM grants name."""
        a = self._args
        if self.namespace == "account-regional":
            fixed = bucket_name(a.name_prefix, a.role, a.aws)
            self.grant_arn = bucket_arn(fixed, a.aws)
            return fixed
        prefix = random_bucket_name_prefix(a.name_prefix, a.role)
        self.grant_arn = bucket_arn(f"{prefix}*", a.aws)
        suffix = random.RandomId(
            f"{name}-name-suffix",
            byte_length=RANDOM_SUFFIX_BYTES,
            prefix=prefix,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return suffix.hex

    def _lifecycle(self, name: str) -> None:
        life = self._args.lifecycle
        rule: aws.s3.BucketLifecycleConfigurationRuleArgsDict = {
            "id": "expire",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": {"days": life.expiration_days},
            "noncurrent_version_expiration": {"noncurrent_days": life.noncurrent_expiration_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        }
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.bucket,
            rules=[rule],
            # Lifecycle rules for noncurrent versions need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
