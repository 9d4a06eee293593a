"""A DynamoDB Streams (or Kinesis) consumer that cannot be blocked by one poison record."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.alarms import AlarmTarget, create_alarms, stream_alarms
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.customer_key import customer_key
from lambda_failures.components.function_spec import FunctionSpec, check_component_args, spec_of
from lambda_failures.components.lambda_function import component_function
from lambda_failures.components.naming import AwsContext, key_alias, resource_name, table_arn
from lambda_failures.components.settings import PROJECT, StreamSettings, StreamSourceKind
from lambda_failures.components.stream_sources import (
    DYNAMODB_STREAM_READ,
    AnySource,
    KafkaSource,
    StreamSource,
    arn_source,
    lag_alarm,
    read_statements,
    stream_mapping,
    validate,
)

__all__ = ["StreamConsumer", "StreamConsumerArgs", "StreamSource"]


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
    # Instead of settings.source_arn: an ARN given as an output (the component package), or an
    # Amazon MSK or self-managed Kafka topic (stream_sources).
    source: AnySource | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_component_args(self)


class StreamConsumer(pulumi.ComponentResource):
    """Table (or existing stream), consumer function, bounded event source mapping, alarms.

    Retries, record age, bisection, partial batch responses and the S3 on-failure
    destination are literals, so the stream policies decide them at preview.
    """

    table_name: str | None
    function_name: str
    stream_arn: pulumi.Output[str] | None
    """The stream consumed, or the MSK cluster; None for a self-managed Kafka cluster, which has no ARN."""
    mapping_uuid: pulumi.Output[str]

    def __init__(self, name: str, args: StreamConsumerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:StreamConsumer", name, None, opts)
        self._args = args
        s = args.settings
        self.function_name = resource_name(args.name_prefix, "stream-consumer")
        self.table_name = None

        statements = docs.deliver_to_archive(args.archive.grant_arn, args.archive.key_alias, args.aws)
        source = args.source or (arn_source(s.source_arn, args.aws, "streamSourceArn") if s.source_arn else None)
        source_statements = []
        if source is None:
            statements += self._table()
            source = StreamSource(self.table.stream_arn, StreamSourceKind.DYNAMODB)
        else:
            validate(source, args.aws)
            source_statements = read_statements(source, args.aws)
            if not isinstance(source, StreamSource) or isinstance(source.arn, str):
                statements, source_statements = statements + source_statements, []
        self._source = source
        if isinstance(source, KafkaSource):
            self.stream_arn = None
        else:
            arn = source.arn if isinstance(source, StreamSource) else source.cluster_arn
            self.stream_arn = pulumi.Output.from_input(arn)

        self.lambda_ = component_function(
            f"{name}-consumer", self, args, spec_of(args), function_name=self.function_name, statements=statements
        )
        grants = [self.lambda_.role_policy, *self._source_policy(source_statements)]
        self.mapping = stream_mapping(
            f"{name}-mapping",
            self.lambda_.function.name,
            source,
            s,
            args.archive.bucket_arn,
            self,
            grants,
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
        table_key_alias = key_alias(a.name_prefix, "stream-table")
        self.table_key, alias = customer_key(
            f"{self._name}-table",
            table_key_alias,
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
        streams = f"{table_arn(self.table_name, a.aws)}/stream/*"
        return [
            docs.allow("ReadTableStream", DYNAMODB_STREAM_READ, streams),
            # ListStreams has no resource-level permissions.
            docs.allow("ListTableStreams", "dynamodb:ListStreams", "*"),
            docs.use_key("DecryptTableStream", table_key_alias, ["kms:Decrypt"], a.aws, "dynamodb"),
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

    def _alarms(self) -> None:
        alarms = stream_alarms(self.function_name, lag_alarm(self._source, self._args.settings.iterator_age_alarm_ms))
        self.alarms = create_alarms(self._name, self.function_name, alarms, self._args.alarms, self)
