"""Every stream kind Lambda archives to S3 on failure, behind a StreamConsumer the program builds:
the same bounded mapping, the grants its kind needs, the lag alarm its kind publishes."""

from __future__ import annotations

import json
import textwrap

import pytest
from support.pulumi_harness import ACCOUNT, REGION

from failctl.preview import gate
from failctl.preview.synth import synthesize
from lambda_failures.components.naming import AwsContext
from lambda_failures.components.settings import ConfigError
from lambda_failures.components.stream_sources import KafkaSource, MskSource, Pollers, arn_source, validate

CLUSTER = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/orders/7c2b1a3e-1111-2222-3333-444455556666-2"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:kafka/orders-AbCdEf"
CTX = AwsContext(ACCOUNT, REGION)

PROGRAM = f"""
import pulumi
from lambda_failures import (
    AlarmTarget, ArchiveTarget, FailureArchive, FailureArchiveArgs, KafkaSource, MskSource,
    StreamConsumer, StreamConsumerArgs, StreamSettings, aws_context,
)

ctx = aws_context()
archive = FailureArchive("archive", FailureArchiveArgs(aws=ctx, name_prefix="team"))
target = ArchiveTarget(archive.bucket_name, archive.bucket_arn, archive.grant_arn, archive.key_alias)
alarms = AlarmTarget("arn:aws:sns:{REGION}:{ACCOUNT}:team-alerts")
code = dict(code=pulumi.FileArchive("./consumer"), handler="index.handler", runtime="nodejs22.x")

payments = StreamConsumer("payments", StreamConsumerArgs(
    aws=ctx, name_prefix="team-payments", archive=target, alarms=alarms, **code,
    source=MskSource("{CLUSTER}", "payments"), settings=StreamSettings(max_retry_attempts=4)))
audit = StreamConsumer("audit", StreamConsumerArgs(
    aws=ctx, name_prefix="team-audit", archive=target, alarms=alarms, **code,
    source=KafkaSource(("b-1.kafka.example.com:9096",), "audit", secret_arn="{SECRET}")))
pulumi.export("PaymentsStreamArn", payments.stream_arn)
pulumi.export("AuditHasNoStreamArn", audit.stream_arn is None)
"""


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kafka")
    (folder / "Pulumi.yaml").write_text("name: kafka\nruntime: python\n")
    (folder / "consumer").mkdir()
    (folder / "consumer" / "index.mjs").write_text("export const handler = async () => ({batchItemFailures: []});\n")
    (folder / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    return synthesize("dev", project_dir=folder, account_id=ACCOUNT, region=REGION)


def test_kafka_consumers_pass_the_pack_fully_decided(kafka):
    verdict = gate.evaluate(gate.load_pack("policy"), kafka.resources)
    assert verdict.violations == [] and verdict.undecided == [], (verdict.violations, verdict.undecided)


def test_the_consumer_names_the_msk_cluster_it_reads_and_no_arn_for_self_managed_kafka(kafka):
    assert kafka.outputs["PaymentsStreamArn"] == CLUSTER
    assert kafka.outputs["AuditHasNoStreamArn"] is True


def test_kafka_mappings_are_provisioned_bounded_bisected_and_archived(kafka):
    mappings = {r.name: r.props for r in kafka.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")}
    payments, audit = mappings["payments-mapping"], mappings["audit-mapping"]
    assert payments["eventSourceArn"] == CLUSTER and payments["topics"] == ["payments"]
    assert audit["selfManagedEventSource"] == {"endpoints": {"KAFKA_BOOTSTRAP_SERVERS": "b-1.kafka.example.com:9096"}}
    assert audit["sourceAccessConfigurations"] == [{"type": "SASL_SCRAM_512_AUTH", "uri": SECRET}]
    for props in (payments, audit):
        assert props["provisionedPollerConfig"] == {"minimumPollers": 1, "maximumPollers": 2}
        assert props["bisectBatchOnFunctionError"] is True
        assert props["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["destinationConfig"]["onFailure"]["destinationArn"]
    assert payments["maximumRetryAttempts"] == 4


def test_each_role_reads_its_kind_and_alarms_on_offset_lag(kafka):
    policies = {r.name: json.loads(r.props["policy"]) for r in kafka.of_type("aws:iam/rolePolicy:RolePolicy")}
    payments = {s["Sid"] for s in policies["payments-consumer-role-policy"]["Statement"]}
    audit = {s["Sid"] for s in policies["audit-consumer-role-policy"]["Statement"]}
    assert {"DescribeKafkaCluster", "ConnectToKafkaCluster", "ReadKafkaTopic", "JoinKafkaConsumerGroup"} <= payments
    assert "ReadKafkaCredentials" in audit and "DescribeKafkaCluster" not in audit
    alarms = {r.props["name"]: r.props for r in kafka.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms["team-payments-stream-consumer-offset-lag"]["metricName"] == "OffsetLag"
    assert not any(name.endswith("iterator-age") for name in alarms)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (MskSource(CLUSTER.replace(REGION, "us-east-1"), "t"), "cluster_arn: must be an MSK cluster ARN in this"),
        (MskSource(CLUSTER, "bad topic"), "topic: must be a Kafka topic name"),
        (MskSource(CLUSTER, "t", auth="BASIC_AUTH"), "auth: must be SASL_SCRAM_512_AUTH or"),
        (MskSource(CLUSTER, "t", pollers=Pollers(0, 2)), "pollers.minimum: must be an integer from 1 to 200"),
        (MskSource(CLUSTER, "t", secret_arn="arn:aws:s3:::b"), "secret_arn: must be a Secrets Manager secret ARN"),
        (KafkaSource((), "t", secret_arn=SECRET), "bootstrap_servers: must be a non-empty list"),
        (KafkaSource(("k:9092",), "t", secret_arn=SECRET, offset_lag_alarm=0), "offset_lag_alarm: must be"),
        (KafkaSource(("k:9092",), "t", secret_arn=SECRET, subnets=("subnet-1",)), "security_groups: must be"),
    ],
)
def test_bad_sources_are_refused_naming_the_property(source, expected):
    with pytest.raises(ConfigError) as error:
        validate(source, CTX)
    assert expected in str(error.value)


def test_a_stream_arn_of_another_region_or_account_is_refused():
    with pytest.raises(ConfigError, match="in this stack's region"):
        arn_source("arn:aws:kinesis:us-east-1:123456789012:stream/clicks", CTX)
    with pytest.raises(ConfigError, match="in this stack's account"):
        arn_source(f"arn:aws:dynamodb:{REGION}:210987654321:table/orders/stream/2024-01-01T00:00:00.000", CTX)
    assert arn_source(f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/c/consumer/l:1", CTX).kind == "kinesis"
