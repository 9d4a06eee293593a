"""Every stream Lambda can archive to S3 on failure, and the one mapping all of them share.

DynamoDB Streams, Kinesis, Amazon MSK and self-managed Kafka all take an S3 bucket as the
on-failure destination of an event source mapping (Lambda API `DestinationConfig`), with
bounded retries and record age, batch bisection and partial batch responses. Kafka mappings
accept those error-handling controls only in provisioned mode, so a Kafka source always
carries a provisioned poller configuration. What differs per kind is how the source is named
and what the function's role needs to read it: one owner for both, used by `StreamConsumer`
(a function this program builds) and `FailureCapture` (a function that already exists).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.naming import AwsContext
from lambda_failures.components.settings import ConfigError, StreamSettings, StreamSourceKind

DYNAMODB_STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
# Standard (polling) consumers of a data stream.
KINESIS_STREAM_READ = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
]
# Enhanced fan-out: the mapping names a stream consumer, which Lambda subscribes to.
KINESIS_CONSUMER_READ = ["kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer"]
# Lambda Developer Guide, "Configuring Lambda permissions for Amazon MSK event source mappings".
# GetBootstrapBrokers has no resource-level permissions.
MSK_CLUSTER_READ = "kafka:DescribeClusterV2"
MSK_BROKERS = "kafka:GetBootstrapBrokers"
MSK_IAM_CLUSTER = ["kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"]
MSK_IAM_TOPIC = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
MSK_IAM_GROUP = ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"]
# Lambda's pollers reach a cluster in a VPC through network interfaces in its subnets. The
# describe actions have no resource-level permissions; `*` is the only valid resource there.
VPC_DESCRIBE = [
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
]

MSK_AUTH = ("SASL_SCRAM_512_AUTH", "CLIENT_CERTIFICATE_TLS_AUTH")
KAFKA_AUTH = (
    "BASIC_AUTH",
    "SASL_SCRAM_256_AUTH",
    "SASL_SCRAM_512_AUTH",
    "CLIENT_CERTIFICATE_TLS_AUTH",
    "SERVER_ROOT_CA_CERTIFICATE",
)
# Lambda API ProvisionedPollerConfig: MinimumPollers 1..200, MaximumPollers 1..2000 (the model allows up to 10000).
MIN_POLLERS = (1, 200)
MAX_POLLERS = (1, 2000)

_ARN = r"arn:(?P<partition>aws[a-z-]*):{service}:(?P<region>[a-z0-9-]+):(?P<account>\d{{12}}):"
DYNAMODB_STREAM = re.compile(_ARN.format(service="dynamodb") + r"table/(?P<table>[A-Za-z0-9_.-]{3,255})/stream/[^/\s]+")
KINESIS_STREAM = re.compile(
    _ARN.format(service="kinesis")
    + r"(?P<stream>stream/[A-Za-z0-9_.-]{1,128})(?P<consumer>/consumer/[A-Za-z0-9_.-]{1,128}:\d+)?"
)
MSK_CLUSTER = re.compile(
    _ARN.format(service="kafka") + r"cluster/(?P<cluster>[A-Za-z0-9-]{1,64})/(?P<uuid>[A-Za-z0-9-]+)"
)
SECRET = re.compile(_ARN.format(service="secretsmanager") + r"secret:[A-Za-z0-9/_+=.@-]+")
# Lambda API Endpoints (EndpointLists member): host:port.
BROKER = re.compile(
    r"(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]):[0-9]{1,5}"
)
# Kafka topic names: letters, digits, '.', '_', '-', at most 249 (Lambda API Topic).
TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
CONSUMER_GROUP = re.compile(r"[a-zA-Z0-9-/*:_+=.@]{1,200}")
SUBNET = re.compile(r"subnet-[0-9a-f]{8,17}")
SECURITY_GROUP = re.compile(r"sg-[0-9a-f]{8,17}")


class StreamKind(StrEnum):
    """Every stream source that can archive failed batches to S3."""

    DYNAMODB = "dynamodb"
    KINESIS = "kinesis"
    MSK = "msk"
    KAFKA = "kafka"


def refuse(prop: str, expected: str, got: Any) -> ConfigError:
    """The same shape of refusal as the stack's config: the property, what it takes, the value."""
    return ConfigError(f"{prop}: must be {expected}; got {got!r}", key=prop, reason=f"must be {expected}")


def check_arn(prop: str, pattern: re.Pattern[str], what: str, value: Any, ctx: AwsContext) -> re.Match[str]:
    """An ARN of the expected shape, in this stack's partition, account and region."""
    match = pattern.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise refuse(prop, what, value)
    for part, expected in (("partition", ctx.partition), ("account", ctx.account_id), ("region", ctx.region)):
        if match[part] != expected:
            raise refuse(prop, f"{what} in this stack's {part} ({expected})", value)
    return match


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB or Kinesis stream to consume whose ARN may be another resource's output (known
    only once it is created): its kind is then said, since the role's permissions depend on it."""

    arn: pulumi.Input[str]
    kind: StreamSourceKind


@dataclass(frozen=True)
class Pollers:
    """Provisioned mode: the only mode in which Lambda bounds retries on a Kafka mapping."""

    minimum: int = 1
    maximum: int = 2

    def validate(self, prop: str) -> None:
        for name, value, (lo, hi) in (("minimum", self.minimum, MIN_POLLERS), ("maximum", self.maximum, MAX_POLLERS)):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise refuse(f"{prop}.{name}", f"an integer from {lo} to {hi}", value)
        if self.maximum < self.minimum:
            raise refuse(f"{prop}.maximum", f"at least minimum ({self.minimum})", self.maximum)


@dataclass(frozen=True)
class MskSource:
    """A topic of an Amazon MSK cluster. Without `secret_arn` Lambda authenticates with IAM
    (the role gets the `kafka-cluster:` actions on this topic and group); with one, SASL/SCRAM
    or mTLS (`auth`) with that Secrets Manager secret."""

    cluster_arn: str
    topic: str
    consumer_group_id: str | None = None
    secret_arn: str | None = None
    auth: str = "SASL_SCRAM_512_AUTH"
    pollers: Pollers = field(default_factory=Pollers)
    offset_lag_alarm: int = 10_000


@dataclass(frozen=True)
class KafkaSource:
    """A topic of a self-managed Apache Kafka cluster. `subnets` and `security_groups` place
    Lambda's pollers in the cluster's VPC (both or neither); `secret_arn` holds the credentials
    for `auth`."""

    bootstrap_servers: tuple[str, ...]
    topic: str
    consumer_group_id: str | None = None
    secret_arn: str | None = None
    auth: str = "SASL_SCRAM_512_AUTH"
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    pollers: Pollers = field(default_factory=Pollers)
    offset_lag_alarm: int = 10_000


AnySource = StreamSource | MskSource | KafkaSource


def kind_of(source: AnySource) -> StreamKind:
    if isinstance(source, MskSource):
        return StreamKind.MSK
    if isinstance(source, KafkaSource):
        return StreamKind.KAFKA
    return StreamKind(source.kind.value)


def arn_source(arn: str, ctx: AwsContext, prop: str = "source") -> StreamSource:
    """A known DynamoDB or Kinesis ARN (stream, or Kinesis stream consumer), checked."""
    kind = StreamSourceKind.KINESIS if isinstance(arn, str) and arn.split(":")[2:3] == ["kinesis"] else None
    pattern = KINESIS_STREAM if kind else DYNAMODB_STREAM
    check_arn(prop, pattern, "a DynamoDB stream ARN or a Kinesis stream (or stream consumer) ARN", arn, ctx)
    return StreamSource(arn, kind or StreamSourceKind.DYNAMODB)


def validate(source: AnySource, ctx: AwsContext, prop: str = "source") -> None:
    """Every name and ARN of a source, before anything is registered."""
    if not isinstance(source, StreamSource | MskSource | KafkaSource):
        raise refuse(prop, "a StreamSource, MskSource or KafkaSource", source)
    if isinstance(source, StreamSource):
        if isinstance(source.arn, str):
            found = arn_source(source.arn, ctx, f"{prop}.arn")
            if found.kind != source.kind:
                raise refuse(f"{prop}.kind", f"{found.kind}, the kind the ARN names", source.kind)
        return
    _check(f"{prop}.topic", TOPIC, "a Kafka topic name (letters, digits, '.', '_', '-')", source.topic)
    if source.consumer_group_id is not None:
        _check(f"{prop}.consumer_group_id", CONSUMER_GROUP, "a consumer group id", source.consumer_group_id)
    if source.secret_arn is not None:
        check_arn(f"{prop}.secret_arn", SECRET, "a Secrets Manager secret ARN", source.secret_arn, ctx)
    source.pollers.validate(f"{prop}.pollers")
    lag = source.offset_lag_alarm
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 1:
        raise refuse(f"{prop}.offset_lag_alarm", "a positive number of records", lag)
    if isinstance(source, MskSource):
        check_arn(f"{prop}.cluster_arn", MSK_CLUSTER, "an MSK cluster ARN", source.cluster_arn, ctx)
        if source.auth not in MSK_AUTH:
            raise refuse(f"{prop}.auth", " or ".join(MSK_AUTH), source.auth)
        return
    if not source.bootstrap_servers or isinstance(source.bootstrap_servers, str):
        raise refuse(f"{prop}.bootstrap_servers", "a non-empty list of host:port", source.bootstrap_servers)
    for server in source.bootstrap_servers:
        _check(f"{prop}.bootstrap_servers", BROKER, "host:port", server)
    if source.auth not in KAFKA_AUTH:
        raise refuse(f"{prop}.auth", ", ".join(KAFKA_AUTH), source.auth)
    if source.auth != "SERVER_ROOT_CA_CERTIFICATE" and source.secret_arn is None and not source.subnets:
        raise refuse(f"{prop}.secret_arn", "set (a cluster outside a VPC needs credentials)", None)
    if bool(source.subnets) != bool(source.security_groups):
        raise refuse(f"{prop}.security_groups", "given with subnets (both or neither)", source.security_groups)
    for subnet in source.subnets:
        _check(f"{prop}.subnets", SUBNET, "a subnet id (subnet-...)", subnet)
    for group in source.security_groups:
        _check(f"{prop}.security_groups", SECURITY_GROUP, "a security group id (sg-...)", group)


def _check(prop: str, pattern: re.Pattern[str], what: str, value: Any) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise refuse(prop, what, value)


def read_statements(source: AnySource, ctx: AwsContext) -> list[docs.Statement]:
    """What the function's role needs so the mapping can read its source."""
    if isinstance(source, StreamSource):
        return _arn_read(source)
    statements: list[docs.Statement] = []
    if source.secret_arn is not None:
        statements.append(docs.allow("ReadKafkaCredentials", "secretsmanager:GetSecretValue", source.secret_arn))
    if isinstance(source, MskSource):
        statements.append(docs.allow("DescribeKafkaCluster", MSK_CLUSTER_READ, source.cluster_arn))
        statements.append(docs.allow("FindKafkaBrokers", MSK_BROKERS, "*"))
        statements += _poller_interfaces(ctx)
        if source.secret_arn is None:
            statements += _msk_iam(source)
    elif source.subnets:
        statements += _poller_interfaces(ctx, source.subnets, source.security_groups)
    return statements


def _poller_interfaces(
    ctx: AwsContext, subnets: tuple[str, ...] = (), security_groups: tuple[str, ...] = ()
) -> list[docs.Statement]:
    """Network interfaces for the pollers, in the given subnets and groups (an MSK cluster's are
    not named to us: any in this account and region)."""
    interfaces = ctx.arn("ec2", "network-interface/*")
    placed = [ctx.arn("ec2", f"subnet/{s}") for s in subnets or ("*",)]
    placed += [ctx.arn("ec2", f"security-group/{g}") for g in security_groups or ("*",)]
    return [
        docs.allow("CreatePollerInterfaces", "ec2:CreateNetworkInterface", [interfaces, *placed]),
        docs.allow("DeletePollerInterfaces", "ec2:DeleteNetworkInterface", interfaces),
        docs.allow("DescribePollerNetwork", VPC_DESCRIBE, "*"),
    ]


def _arn_read(source: StreamSource) -> list[docs.Statement]:
    arn = source.arn
    if source.kind == StreamSourceKind.DYNAMODB:
        # The table's streams: a stream label holds colons, and a table re-enabling its stream
        # gets a new label that the mapping (re-created) would need.
        streams = f"{arn.split('/stream/')[0]}/stream/*" if isinstance(arn, str) else arn
        return [
            docs.allow("ReadTableStream", DYNAMODB_STREAM_READ, streams),
            # ListStreams has no resource-level permissions.
            docs.allow("ListTableStreams", "dynamodb:ListStreams", "*"),
        ]
    stream_arn: pulumi.Input[str] = arn
    statements = []
    if isinstance(arn, str) and "/consumer/" in arn:
        stream_arn = arn.split("/consumer/")[0]
        statements.append(docs.allow("SubscribeToStreamConsumer", KINESIS_CONSUMER_READ, arn))
    return [
        docs.allow("ReadKinesisStream", KINESIS_STREAM_READ, stream_arn),
        docs.allow("ListKinesisStreams", "kinesis:ListStreams", "*"),
        *statements,
    ]


def _msk_iam(source: MskSource) -> list[docs.Statement]:
    """IAM access control: the cluster, this topic, and the consumer group (Lambda names the
    group after the mapping's UUID, unknown until created, when none is given)."""
    head, cluster = source.cluster_arn.split(":cluster/", 1)
    group = source.consumer_group_id or "*"
    return [
        docs.allow("ConnectToKafkaCluster", MSK_IAM_CLUSTER, source.cluster_arn),
        docs.allow("ReadKafkaTopic", MSK_IAM_TOPIC, f"{head}:topic/{cluster}/{source.topic}"),
        docs.allow("JoinKafkaConsumerGroup", MSK_IAM_GROUP, f"{head}:group/{cluster}/{group}"),
    ]


def _kind_args(source: AnySource) -> dict[str, Any]:
    """The mapping arguments that name the source, per kind."""
    if isinstance(source, StreamSource):
        return {"event_source_arn": source.arn}
    pollers = {"minimum_pollers": source.pollers.minimum, "maximum_pollers": source.pollers.maximum}
    access = [{"type": source.auth, "uri": source.secret_arn}] if source.secret_arn is not None else []
    group = {"consumer_group_id": source.consumer_group_id} if source.consumer_group_id else None
    args: dict[str, Any] = {"topics": [source.topic], "provisioned_poller_config": pollers}
    if isinstance(source, MskSource):
        return args | {
            "event_source_arn": source.cluster_arn,
            "amazon_managed_kafka_event_source_config": group,
            "source_access_configurations": access or None,
        }
    access += [{"type": "VPC_SUBNET", "uri": f"subnet:{s}"} for s in source.subnets]
    access += [{"type": "VPC_SECURITY_GROUP", "uri": f"security_group:{g}"} for g in source.security_groups]
    return args | {
        "self_managed_event_source": {"endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ",".join(source.bootstrap_servers)}},
        "self_managed_kafka_event_source_config": group,
        "source_access_configurations": access or None,
    }


def stream_mapping(
    name: str,
    function_name: pulumi.Input[str],
    source: AnySource,
    settings: StreamSettings,
    archive_bucket_arn: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
) -> aws.lambda_.EventSourceMapping:
    """Bounded retries and record age, bisection, partial batch responses and the archive as the
    on-failure destination: literals, so the stream policies decide them at preview."""
    return aws.lambda_.EventSourceMapping(
        name,
        function_name=function_name,
        starting_position=settings.starting_position,
        batch_size=settings.batch_size,
        maximum_batching_window_in_seconds=settings.batching_window_seconds,
        maximum_retry_attempts=settings.max_retry_attempts,
        maximum_record_age_in_seconds=settings.max_record_age_seconds,
        bisect_batch_on_function_error=True,
        function_response_types=["ReportBatchItemFailures"],
        destination_config={"on_failure": {"destination_arn": archive_bucket_arn}},
        filter_criteria=(
            {"filters": [{"pattern": p} for p in settings.filter_patterns]} if settings.filter_patterns else None
        ),
        **_kind_args(source),
        # Lambda validates source and destination access when the mapping is created.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )


def lag_alarm(source: AnySource, iterator_age_ms: float) -> tuple[str, str, str, float]:
    """The alarm that says a consumer falls behind: IteratorAge (ms) on DynamoDB and Kinesis,
    OffsetLag (records) on Kafka."""
    if isinstance(source, StreamSource):
        return "iterator-age", "IteratorAge", "The consumer is falling behind its stream", iterator_age_ms
    return "offset-lag", "OffsetLag", "The consumer is falling behind its Kafka topic", source.offset_lag_alarm
