"""A DynamoDB Streams (or Kinesis) consumer that cannot be blocked by one poison record."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.alarms import Alarm, AlarmTarget, create_alarms
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.customer_key import customer_key
from lambda_failures.components.function_spec import FunctionSpec, spec_of
from lambda_failures.components.lambda_function import LambdaFunction, LambdaFunctionArgs
from lambda_failures.components.naming import AwsContext, resource_name, table_arn
from lambda_failures.components.settings import PROJECT, StreamSettings, StreamSourceKind, stream_source_kind

DYNAMODB_STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
# Standard (polling) consumers; kinesis:SubscribeToShard applies only to enhanced fan-out
# consumer ARNs (<stream>/consumer/*), which this mapping does not use.
KINESIS_STREAM_READ = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
]


@dataclass(frozen=True)
class StreamSource:
    """A stream to consume whose ARN may be another resource's output (known only once it is
    created): its kind is then said, since the role's permissions depend on it."""

    arn: pulumi.Input[str]
    kind: StreamSourceKind


@dataclass(kw_only=True)
class StreamConsumerArgs(FunctionSpec):
    """The caller's consumer function (FunctionSpec: code, runtime and every Lambda setting),
    the stream it reads and how its failed batches reach the archive."""

    aws: AwsContext
    name_prefix: str
    archive: ArchiveTarget
    alarms: AlarmTarget
    settings: StreamSettings = field(default_factory=StreamSettings)
    tags: dict[str, str] = field(default_factory=dict)
    # Instead of settings.source_arn, for an ARN given as an output (the component package).
    source: StreamSource | None = None


class StreamConsumer(pulumi.ComponentResource):
    """Table (or existing stream), consumer function, bounded event source mapping, alarms.

    Retries, record age, bisection, partial batch responses and the S3 on-failure
    destination are literals, so the stream policies decide them at preview.
    """

    table_name: str | None
    function_name: str
    stream_arn: pulumi.Output[str]
    mapping_uuid: pulumi.Output[str]

    def __init__(self, name: str, args: StreamConsumerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:StreamConsumer", name, None, opts)
        self._args = args
        s = args.settings
        self.function_name = resource_name(args.name_prefix, "stream-consumer")
        self.table_name = None

        statements = docs.deliver_to_archive(args.archive.grant_arn, args.archive.key_alias, args.aws)
        source = args.source or (
            StreamSource(s.source_arn, stream_source_kind(s.source_arn)) if s.source_arn is not None else None
        )
        source_statements = []
        if source is None:
            statements += self._table()
        else:
            self.stream_arn = pulumi.Output.from_input(source.arn)
            source_statements = self._existing_stream(source)
            if isinstance(source.arn, str):
                statements, source_statements = statements + source_statements, []

        self.lambda_ = LambdaFunction(
            f"{name}-consumer",
            LambdaFunctionArgs(
                **spec_of(args),
                aws=args.aws,
                function_name=self.function_name,
                statements=statements,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        grants = [self.lambda_.role_policy, *self._source_policy(source_statements)]
        self.mapping = aws.lambda_.EventSourceMapping(
            f"{name}-mapping",
            event_source_arn=self.stream_arn,
            function_name=self.lambda_.function.name,
            starting_position=s.starting_position,
            batch_size=s.batch_size,
            maximum_batching_window_in_seconds=s.batching_window_seconds,
            maximum_retry_attempts=s.max_retry_attempts,
            maximum_record_age_in_seconds=s.max_record_age_seconds,
            bisect_batch_on_function_error=True,
            function_response_types=["ReportBatchItemFailures"],
            destination_config={"on_failure": {"destination_arn": args.archive.bucket_arn}},
            filter_criteria=({"filters": [{"pattern": p} for p in s.filter_patterns]} if s.filter_patterns else None),
            # Lambda validates stream and destination access when the mapping is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        self.mapping_uuid = self.mapping.uuid
        self._alarms()
        self.register_outputs(
            {
                "tableName": self.table_name,
                "functionName": self.function_name,
                "eventSourceMappingUuid": self.mapping.uuid,
            }
        )

    def _table(self) -> list[docs.Statement]:
        a, s = self._args, self._args.settings
        self.table_name = resource_name(a.name_prefix, "orders", 255)
        key_alias = f"alias/{a.name_prefix}-stream-table"
        self.table_key, alias = customer_key(
            f"{self._name}-table",
            key_alias,
            f"Encrypts the {self.table_name} table and its stream",
            a.aws,
            self,
            a.tags,
        )
        self.table = aws.dynamodb.Table(
            f"{self._name}-table",
            name=self.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[{"name": "pk", "type": "S"}],
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            server_side_encryption={"enabled": True, "kms_key_arn": self.table_key.arn},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=s.table_deletion_protection,
            tags=a.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[alias]),
        )
        self.stream_arn = self.table.stream_arn
        streams = f"{table_arn(self.table_name, a.aws)}/stream/*"
        return [
            docs.allow("ReadTableStream", DYNAMODB_STREAM_READ, streams),
            # ListStreams has no resource-level permissions.
            docs.allow("ListTableStreams", "dynamodb:ListStreams", "*"),
            docs.use_key("DecryptTableStream", key_alias, ["kms:Decrypt"], a.aws, "dynamodb"),
        ]

    def _source_policy(self, statements: list[docs.Statement]) -> list[aws.iam.RolePolicy]:
        """A stream known only once created is read under its own role policy, so the policy
        that delivers to the archive stays known at preview (and judged by the pack)."""
        if not statements:
            return []
        policy = aws.iam.RolePolicy(
            f"{self._name}-source-policy",
            role=self.lambda_.role.name,
            name=f"{self.function_name}-read-source",
            policy=pulumi.Output.json_dumps(docs.document(*statements)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [policy]

    def _existing_stream(self, source: StreamSource) -> list[docs.Statement]:
        arn = source.arn
        if source.kind == StreamSourceKind.KINESIS:
            return [
                docs.allow("ReadKinesisStream", KINESIS_STREAM_READ, arn),
                docs.allow("ListKinesisStreams", "kinesis:ListStreams", "*"),
            ]
        return [
            docs.allow("ReadTableStream", DYNAMODB_STREAM_READ, arn),
            docs.allow("ListTableStreams", "dynamodb:ListStreams", "*"),
        ]

    def _alarms(self) -> None:
        dims = {"FunctionName": self.function_name}
        alarms = [
            Alarm(
                "iterator-age",
                "IteratorAge",
                "The consumer is falling behind its stream",
                dims,
                statistic="Maximum",
                threshold=self._args.settings.iterator_age_alarm_ms,
                evaluation_periods=5,
            ),
            Alarm("errors", "Errors", "The consumer's invocations are failing", dims),
            Alarm(
                "destination-failures",
                "DestinationDeliveryFailures",
                "Failed batches could not be written to the failure archive",
                dims,
            ),
        ]
        self.alarms = create_alarms(self._name, self.function_name, alarms, self._args.alarms, self)
