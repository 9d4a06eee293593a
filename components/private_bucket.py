"""A private S3 bucket on its own customer managed key: the hardening every bucket here gets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import iam_documents as docs
from components.customer_key import customer_key
from components.naming import AwsContext, bucket_arn
from components.settings import PROJECT


@dataclass
class Lifecycle:
    expiration_days: int
    transition_days: int | None = None  # to STANDARD_IA
    noncurrent_expiration_days: int = 30


@dataclass
class PrivateBucketArgs:
    aws: AwsContext
    bucket_name: str
    key_alias: str
    purpose: str
    lifecycle: Lifecycle
    protect: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class PrivateBucket(pulumi.ComponentResource):
    """Rotating KMS key, aws:kms default encryption with bucket keys, all public access
    blocked, BucketOwnerEnforced, versioning, TLS-only policy, lifecycle.

    Name and ARN are given, not computed by AWS, so grants naming the bucket are known at
    preview; the key is granted through its alias for the same reason.
    """

    bucket_name: str
    bucket_arn: str
    key_alias: str
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:PrivateBucket", name, None, opts)
        self._args = args
        self.bucket_name = args.bucket_name
        self.bucket_arn = bucket_arn(args.bucket_name, args.aws)
        self.key_alias = args.key_alias
        # Teardown must be asked for: the bucket may hold the only copy of what it keeps.
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect)

        self.key, self.alias = customer_key(
            name,
            args.key_alias,
            f"Encrypts {args.purpose} in {args.bucket_name}",
            args.aws,
            self,
            args.tags,
            protect=args.protect,
        )
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            force_destroy=not args.protect,
            tags=args.tags,
            opts=keep,
        )
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
            policy=json.dumps(docs.tls_only_bucket(self.bucket_arn)),
            # A bucket policy written while the public access block is still being set races it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.key_arn = self.key.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn, "keyArn": self.key.arn})

    def _lifecycle(self, name: str) -> None:
        life = self._args.lifecycle
        rule: dict = {
            "id": "expire",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": {"days": life.expiration_days},
            "noncurrent_version_expiration": {"noncurrent_days": life.noncurrent_expiration_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        }
        if life.transition_days is not None:
            rule["transitions"] = [{"days": life.transition_days, "storage_class": "STANDARD_IA"}]
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.bucket,
            rules=[rule],
            # Lifecycle rules for noncurrent versions need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
