"""The S3 bucket that receives failure records, and the customer managed key that encrypts it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import iam_documents as docs
from components.naming import AwsContext, bucket_arn, bucket_name
from components.settings import PROJECT, ArchiveSettings


@dataclass
class FailureArchiveArgs:
    aws: AwsContext
    name_prefix: str
    settings: ArchiveSettings = field(default_factory=ArchiveSettings)
    tags: dict[str, str] = field(default_factory=dict)


class FailureArchive(pulumi.ComponentResource):
    """Encrypted, private, versioned, TLS-only bucket with lifecycle; protected by default.

    Name and ARN are derived (not computed by AWS) so every grant that names the bucket is
    known at preview. The key is granted through its alias for the same reason.
    """

    bucket_name: str
    bucket_arn: str
    key_alias: str
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FailureArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:FailureArchive", name, None, opts)
        self._args = args
        self.bucket_name = bucket_name(args.name_prefix, "failures", args.aws)
        self.bucket_arn = bucket_arn(self.bucket_name, args.aws)
        self.key_alias = f"alias/{args.name_prefix}-failure-archive"
        # Teardown must be asked for: the archive is the only copy of the failed events.
        self._keep = pulumi.ResourceOptions(parent=self, protect=not args.settings.allow_destroy)

        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts failure records in {self.bucket_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(docs.key_policy(args.aws)),
            tags=args.tags,
            opts=self._keep,
        )
        self.alias = aws.kms.Alias(
            f"{name}-key-alias",
            name=self.key_alias,
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=self.bucket_name,
            force_destroy=args.settings.allow_destroy,
            tags=args.tags,
            opts=self._keep,
        )
        self._encryption()
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
        self._lifecycle()
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.bucket,
            policy=json.dumps(docs.tls_only_bucket(self.bucket_arn)),
            # A bucket policy written while the public access block is still being set races it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.key_arn = self.key.arn
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "keyArn": self.key.arn,
                "keyAlias": self.key_alias,
            }
        )

    def _encryption(self) -> None:
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-encryption",
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

    def _lifecycle(self) -> None:
        s = self._args.settings
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-lifecycle",
            bucket=self.bucket.bucket,
            rules=[
                {
                    "id": "age-out-failure-records",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "transitions": [{"days": s.transition_days, "storage_class": "STANDARD_IA"}],
                    "expiration": {"days": s.expiration_days},
                    "noncurrent_version_expiration": {"noncurrent_days": s.noncurrent_expiration_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            # Lifecycle rules for noncurrent versions need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
