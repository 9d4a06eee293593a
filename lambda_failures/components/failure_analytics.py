"""Glue tables over the failure archive and an Athena workgroup with the named queries."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from lambda_failures.archive_format import ASYNC_COLUMNS, ASYNC_PARTITIONS, ASYNC_PREFIX, STREAM_COLUMNS, STREAM_PREFIX
from lambda_failures.components.alarms import AlarmTarget
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.failure_compaction import FailureCompaction, FailureCompactionArgs
from lambda_failures.components.glue_tables import async_table_parameters, external_table
from lambda_failures.components.naming import AwsContext, key_alias, resource_name
from lambda_failures.components.private_bucket import Lifecycle, PrivateBucket, PrivateBucketArgs
from lambda_failures.components.settings import PROJECT, AnalyticsSettings
from lambda_failures.queries import named_queries


@dataclass
class FailureAnalyticsArgs:
    aws: AwsContext
    name_prefix: str
    archive_bucket: pulumi.Input[str]
    function_names: list[str]
    stream_mapping_uuid: pulumi.Input[str] | None = None
    settings: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    allow_destroy: bool = False
    namespace: str = "account-regional"
    tags: dict[str, str] = field(default_factory=dict)
    # With both (and settings.compaction), closed days are compacted in Athena and the named
    # queries read the view of compacted plus raw days.
    archive: ArchiveTarget | None = None
    alarms: AlarmTarget | None = None
    log_retention_days: int = 30
    powertools_layer_version: int = 27


class FailureAnalytics(pulumi.ComponentResource):
    database_name: str
    table_name: str
    stream_table_name: str
    workgroup_name: str
    results_bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: FailureAnalyticsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:FailureAnalytics", name, None, opts)
        self._name_ = name
        self._args = args
        s = args.settings
        self.database_name = s.database_name
        self.table_name = s.table_name
        self.stream_table_name = s.stream_table_name
        self.workgroup_name = resource_name(args.name_prefix, "failures", 128)
        self.results = self._results_bucket()
        self.results_bucket_name = self.results.bucket_name
        self.database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=s.database_name,
            description=f"Failure records of {args.name_prefix}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.async_table = self._async_table()
        self.stream_table = self._stream_table()
        self.workgroup = self._workgroup()
        self.compaction = self._compaction()
        self.query_table_name = self.compaction.view_name if self.compaction else self.table_name
        self._named_queries()
        self.register_outputs(
            {
                "databaseName": self.database_name,
                "tableName": self.table_name,
                "queryTableName": self.query_table_name,
                "workgroupName": self.workgroup_name,
                "resultsBucketName": self.results_bucket_name,
            }
        )

    def _compaction(self) -> FailureCompaction | None:
        a = self._args
        if not (a.settings.compaction and a.archive and a.alarms):
            return None
        return FailureCompaction(
            f"{self._name_}-compaction",
            FailureCompactionArgs(
                aws=a.aws,
                name_prefix=a.name_prefix,
                archive=a.archive,
                alarms=a.alarms,
                database_name=self.database.name,
                database=self.database_name,
                raw_table=self.table_name,
                workgroup_name=self.workgroup_name,
                results_grant_arn=self.results.grant_arn,
                results_key_alias=self.results.key_alias,
                function_names=a.function_names,
                projection_start=a.settings.projection_start,
                expire_raw_after_days=a.settings.expire_raw_after_days,
                log_retention_days=a.log_retention_days,
                powertools_layer_version=a.powertools_layer_version,
                tags=a.tags,
                depends_on=[self.async_table],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.workgroup]),
        )

    def _results_bucket(self) -> PrivateBucket:
        a = self._args
        return PrivateBucket(
            f"{self._name_}-results",
            PrivateBucketArgs(
                aws=a.aws,
                name_prefix=a.name_prefix,
                role="athena-results",
                key_alias=key_alias(a.name_prefix, "athena-results"),
                purpose="Athena query results",
                lifecycle=Lifecycle(expiration_days=a.settings.results_expiration_days, noncurrent_expiration_days=1),
                namespace=a.namespace,
                # Results can be recomputed from the archive: they never block a teardown.
                protect=False,
                tags=a.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _async_table(self) -> aws.glue.CatalogTable:
        a = self._args
        return external_table(
            f"{self._name_}-async-table",
            self,
            name=a.settings.table_name,
            database_name=self.database.name,
            description="Asynchronous invocation records (on-failure destination)",
            location=pulumi.Output.concat("s3://", a.archive_bucket, "/", ASYNC_PREFIX),
            columns=ASYNC_COLUMNS,
            parameters=pulumi.Output.from_input(a.archive_bucket).apply(
                lambda bucket: async_table_parameters(bucket, a.function_names, a.settings.projection_start)
            ),
            partitions=ASYNC_PARTITIONS,
        )

    def _stream_table(self) -> aws.glue.CatalogTable:
        a = self._args
        # aws/lambda/<esm-uuid>/: the UUID is assigned by AWS when the mapping is created.
        location = pulumi.Output.concat(
            "s3://", a.archive_bucket, "/", STREAM_PREFIX, a.stream_mapping_uuid or "no-stream-mapping", "/"
        )
        return external_table(
            f"{self._name_}-stream-table",
            self,
            name=a.settings.stream_table_name,
            database_name=self.database.name,
            description="Stream batch failure records of the event source mapping (read recursively)",
            location=location,
            columns=STREAM_COLUMNS,
        )

    def _workgroup(self) -> aws.athena.Workgroup:
        a = self._args
        return aws.athena.Workgroup(
            f"{self._name_}-workgroup",
            name=self.workgroup_name,
            description="Queries over the Lambda failure archive",
            force_destroy=a.allow_destroy,
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": a.settings.bytes_scanned_cutoff,
                "engine_version": {"selected_engine_version": "Athena engine version 3"},
                "result_configuration": {
                    "output_location": pulumi.Output.concat("s3://", self.results.bucket_name, "/results/"),
                    # Athena writes results only if the bucket is still this account's.
                    "expected_bucket_owner": a.aws.account_id,
                    "encryption_configuration": {"encryption_option": "SSE_KMS", "kms_key_arn": self.results.key_arn},
                },
            },
            tags=a.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _named_queries(self) -> None:
        for query in named_queries(self.query_table_name, self.stream_table_name):
            aws.athena.NamedQuery(
                f"{self._name_}-{query.name}",
                name=query.name,
                description=query.description,
                database=self.database.name,
                workgroup=self.workgroup.name,
                query=query.sql,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[self.async_table, self.stream_table, *([self.compaction] if self.compaction else [])],
                ),
            )
