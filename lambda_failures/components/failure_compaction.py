"""Compaction in AWS: a Parquet table of closed days filled by Athena itself, run daily by
EventBridge Scheduler through a small function, and the view the named queries read.

Raw records stay the source of truth: the function reads them through the raw table and
writes `compacted/athena/failed_events/` (zstd Parquet, partitioned by function and day) in
the same archive (its KMS key, its bucket policy). Each day is claimed once under
`markers/athena-compactions/`; a Glue table over those claims lets the view take a day from
the compacted table only once its claim says `done`, and from the raw table otherwise.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from lambda_failures.archive_format import (
    ASYNC_COLUMNS,
    ASYNC_PARTITIONS,
    ASYNC_PREFIX,
    ATHENA_COMPACTED_PREFIX,
    ATHENA_COMPACTION_MARKERS,
    ATHENA_EXPIRY_MARKERS,
    COMPACTION_MARKER_COLUMNS,
    Column,
)
from lambda_failures.components import iam_documents as docs
from lambda_failures.components.alarms import Alarm, AlarmTarget, create_alarms
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.glue_tables import PARQUET, async_table_parameters, columns_of, external_table
from lambda_failures.components.lambda_function import LambdaFunction, component_function, project_function
from lambda_failures.components.naming import AwsContext, function_arn, resource_name, role_arn
from lambda_failures.components.settings import PROJECT
from lambda_failures.queries import all_days_view_sql

# Daily, early UTC: yesterday's day is not closed yet, the day before is.
SCHEDULE = "cron(30 3 * * ? *)"
HIVE_TO_PRESTO = {"string": "varchar", "int": "integer", "bigint": "bigint", "double": "double", "boolean": "boolean"}
STRUCT = re.compile(r"^struct<(.*)>$")


def presto_type(hive_type: str) -> str:
    """A Glue/Hive type as a Presto view states it (struct<a:string> -> row(a varchar))."""
    match = STRUCT.match(hive_type)
    if not match:
        return HIVE_TO_PRESTO[hive_type]
    fields = [f.split(":", 1) for f in match.group(1).split(",")]
    return "row(" + ", ".join(f"{name} {presto_type(kind)}" for name, kind in fields) + ")"


def presto_view_text(sql: str, database: str, columns: tuple[Column, ...]) -> str:
    """What Athena stores as a view's original text: its definition, base64 in a comment."""
    definition = {
        "originalSql": sql,
        "catalog": "awsdatacatalog",
        "schema": database,
        "columns": [{"name": c.name, "type": presto_type(c.type)} for c in columns],
    }
    return "/* Presto View: " + base64.b64encode(json.dumps(definition).encode()).decode() + " */"


@dataclass
class FailureCompactionArgs:
    aws: AwsContext
    name_prefix: str
    archive: ArchiveTarget
    alarms: AlarmTarget
    database_name: pulumi.Input[str]
    database: str  # its name as text, for the documents and the view
    raw_table: str
    workgroup_name: str
    results_grant_arn: str
    results_key_alias: str
    function_names: list[str]
    projection_start: str = "2024/01/01"
    expire_raw_after_days: int = 0
    log_retention_days: int = 30
    powertools_layer_version: int = 27
    tags: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class FailureCompaction(pulumi.ComponentResource):
    compacted_table_name: str
    markers_table_name: str
    view_name: str
    function_name: str

    def __init__(self, name: str, args: FailureCompactionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:FailureCompaction", name, None, opts)
        self._name_ = name
        self._args = args
        self.compacted_table_name = f"{args.raw_table}_compacted"
        self.markers_table_name = f"{args.raw_table}_compactions"
        self.view_name = f"{args.raw_table}_all_days"
        self.function_name = resource_name(args.name_prefix, "compaction")
        self.compacted_table = self._compacted_table()
        self.markers_table = self._markers_table()
        self.view = self._view()
        self.lambda_ = self._function()
        self.schedule = self._schedule()
        self.alarms = create_alarms(name, self.function_name, self._alarm_list(), args.alarms, self)
        self.register_outputs(
            {
                "compactedTableName": self.compacted_table_name,
                "viewName": self.view_name,
                "functionName": self.function_name,
            }
        )

    def _location(self, prefix: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("s3://", self._args.archive.bucket_name, "/", prefix)

    def _compacted_table(self) -> aws.glue.CatalogTable:
        return external_table(
            f"{self._name_}-compacted-table",
            self,
            name=self.compacted_table_name,
            database_name=self._args.database_name,
            description="Closed days of failed_events as zstd Parquet, written by the compaction function",
            location=self._location(ATHENA_COMPACTED_PREFIX),
            columns=ASYNC_COLUMNS,
            storage=PARQUET,
            parameters={"classification": "parquet", "parquet.compression": "ZSTD"},
            partitions=ASYNC_PARTITIONS,
        )

    def _markers_table(self) -> aws.glue.CatalogTable:
        """The compaction claims, one JSON object per function and day, projected like the raw table."""
        a = self._args
        bucket = pulumi.Output.from_input(a.archive.bucket_name)
        return external_table(
            f"{self._name_}-markers-table",
            self,
            name=self.markers_table_name,
            database_name=a.database_name,
            description="Compaction claims: a day is read from the compacted table once its claim is done",
            location=self._location(ATHENA_COMPACTION_MARKERS),
            columns=COMPACTION_MARKER_COLUMNS,
            parameters=bucket.apply(
                lambda b: async_table_parameters(b, a.function_names, a.projection_start, ATHENA_COMPACTION_MARKERS)
            ),
            partitions=ASYNC_PARTITIONS,
        )

    def _view(self) -> aws.glue.CatalogTable:
        a = self._args
        columns = ASYNC_COLUMNS + ASYNC_PARTITIONS
        sql = all_days_view_sql(a.database, a.raw_table, self.compacted_table_name, self.markers_table_name)
        return aws.glue.CatalogTable(
            f"{self._name_}-view",
            name=self.view_name,
            database_name=a.database_name,
            table_type="VIRTUAL_VIEW",
            description="Every day of failed_events: compacted days from Parquet, the others raw",
            parameters={"presto_view": "true", "comment": "Presto View"},
            view_original_text=presto_view_text(sql, a.database, columns),
            view_expanded_text="/* Presto View */",
            storage_descriptor={"columns": columns_of(columns)},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.compacted_table, self.markers_table, *a.depends_on]
            ),
        )

    def _statements(self) -> list[docs.Statement]:
        a = self._args
        glue = [
            a.aws.arn("glue", "catalog"),
            a.aws.arn("glue", f"database/{a.database}"),
            a.aws.arn("glue", f"table/{a.database}/{a.raw_table}"),
            a.aws.arn("glue", f"table/{a.database}/{self.compacted_table_name}"),
        ]
        statements = [
            docs.allow(
                "RunCompactionStatements",
                ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryRuntimeStatistics"],
                a.aws.arn("athena", f"workgroup/{a.workgroup_name}"),
            ),
            docs.allow(
                "ReadTablesWriteCompactedPartitions",
                [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchCreatePartition",
                    "glue:CreatePartition",
                    "glue:DeletePartition",
                ],
                glue,
            ),
            # What Athena's documentation lists for a query that writes to a location, asked
            # under this role: the listing, the location, and multipart uploads.
            docs.list_archive(a.archive.grant_arn, a.aws)
            | {"Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]},
            docs.archive_objects("ReadRawRecords", "s3:GetObject", a.archive.grant_arn, a.aws, key_prefix=ASYNC_PREFIX),
            docs.archive_objects(
                "WriteCompactedDays",
                [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                a.archive.grant_arn,
                a.aws,
                key_prefix=ATHENA_COMPACTED_PREFIX,
            ),
            docs.archive_objects(
                "ClaimCompactions",
                ["s3:GetObject", "s3:PutObject"],
                a.archive.grant_arn,
                a.aws,
                key_prefix=ATHENA_COMPACTION_MARKERS,
            ),
            docs.use_key("UseArchiveKey", a.archive.key_alias, ["kms:Decrypt", "kms:GenerateDataKey"], a.aws, "s3"),
            {
                "Sid": "WriteQueryResults",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                    "s3:ListBucket",
                    "s3:GetBucketLocation",
                    "s3:ListBucketMultipartUploads",
                ],
                "Resource": [a.results_grant_arn, f"{a.results_grant_arn}/*"],
                "Condition": docs.resource_account(a.aws),
            },
            docs.use_key("UseResultsKey", a.results_key_alias, ["kms:Decrypt", "kms:GenerateDataKey"], a.aws, "s3"),
        ]
        if a.expire_raw_after_days > 0:
            statements += [
                docs.archive_objects(
                    "ExpireCompactedRawRecords", "s3:DeleteObject", a.archive.grant_arn, a.aws, key_prefix=ASYNC_PREFIX
                ),
                docs.archive_objects(
                    "ClaimExpirations",
                    ["s3:GetObject", "s3:PutObject"],
                    a.archive.grant_arn,
                    a.aws,
                    key_prefix=ATHENA_EXPIRY_MARKERS,
                ),
            ]
        return statements

    def _function(self) -> LambdaFunction:
        a = self._args
        return component_function(
            f"{self._name_}-function",
            self,
            a,
            project_function("lambda_failures.handlers.compaction"),
            function_name=self.function_name,
            statements=self._statements(),
            environment={
                "DATABASE": a.database,
                "RAW_TABLE": a.raw_table,
                "COMPACTED_TABLE": self.compacted_table_name,
                "WORKGROUP": a.workgroup_name,
                "ARCHIVE_BUCKET": a.archive.bucket_name,
                "ARCHIVE_ACCOUNT": a.aws.account_id,
                "FUNCTION_NAMES": json.dumps(a.function_names),
                "EXPIRE_RAW_AFTER_DAYS": str(a.expire_raw_after_days),
            },
            timeout_seconds=900,
            depends_on=[self.compacted_table, self.markers_table],
        )

    def _schedule(self) -> aws.scheduler.Schedule:
        a = self._args
        role_name = resource_name(a.name_prefix, "compaction-schedule")
        role = aws.iam.Role(
            f"{self._name_}-schedule-role",
            name=role_name,
            assume_role_policy=json.dumps(
                docs.document(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": a.aws.account_id}},
                    }
                )
            ),
            tags=a.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{self._name_}-schedule-policy",
            role=role.name,
            name=f"{role_name}-invoke",
            policy=json.dumps(
                docs.document(
                    docs.allow("InvokeCompaction", "lambda:InvokeFunction", function_arn(self.function_name, a.aws))
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.scheduler.Schedule(
            f"{self._name_}-schedule",
            name=resource_name(a.name_prefix, "compaction"),
            description="Compacts the archive's closed days in Athena",
            schedule_expression=SCHEDULE,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": self.lambda_.function.arn,
                "role_arn": role_arn(role_name, a.aws),
                "retry_policy": {"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 3600},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, role]),
        )

    def _alarm_list(self) -> list[Alarm]:
        dims = {"FunctionName": self.function_name}
        return [
            Alarm("errors", "Errors", "A compaction run failed: a day was not compacted (retried next run)", dims),
            Alarm(
                "days-not-compacted",
                "DaysNotCompacted",
                "A closed day failed to compact in Athena (it is still read raw; retried next run)",
                {"service": self.function_name},
                namespace=PROJECT,
            ),
            # The schedule gave up on a run (its retries spent): no run, so no Errors either.
            Alarm(
                "runs-dropped",
                "InvocationDroppedCount",
                "EventBridge Scheduler dropped a compaction run after its retries (schedules of the default group)",
                {"ScheduleGroup": "default"},
                namespace="AWS/Scheduler",
            ),
        ]
