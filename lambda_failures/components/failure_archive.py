"""The S3 bucket that receives failure records, and the customer managed key that encrypts it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from lambda_failures.components.naming import AwsContext, key_alias
from lambda_failures.components.private_bucket import Lifecycle, PrivateBucket, PrivateBucketArgs
from lambda_failures.components.settings import PROJECT, ArchiveSettings


@dataclass
class FailureArchiveArgs:
    aws: AwsContext
    name_prefix: str
    settings: ArchiveSettings = field(default_factory=ArchiveSettings)
    namespace: str = "account-regional"
    tags: dict[str, str] = field(default_factory=dict)


class FailureArchive(pulumi.ComponentResource):
    """The on-failure destination: a PrivateBucket kept (protected) unless allowDestroy."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    grant_arn: str
    key_alias: str
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FailureArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:FailureArchive", name, None, opts)
        s = args.settings
        self.storage = PrivateBucket(
            name,
            PrivateBucketArgs(
                aws=args.aws,
                name_prefix=args.name_prefix,
                role="failures",
                key_alias=key_alias(args.name_prefix, "failure-archive"),
                purpose="failure records",
                lifecycle=Lifecycle(
                    expiration_days=s.expiration_days,
                    noncurrent_expiration_days=s.noncurrent_expiration_days,
                ),
                namespace=args.namespace,
                protect=not s.allow_destroy,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket_name = self.storage.bucket_name
        self.bucket_arn = self.storage.bucket_arn
        self.grant_arn = self.storage.grant_arn
        self.key_alias = self.storage.key_alias
        self.key_arn = self.storage.key_arn
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "keyArn": self.key_arn,
                "keyAlias": self.key_alias,
            }
        )
