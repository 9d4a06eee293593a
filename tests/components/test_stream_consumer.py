"""The stream consumer: table, mapping settings, grants and alarms."""

import json

import pytest
from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key
from support.pulumi_harness import ACCOUNT, REGION, one, policy_document, statement

from failure_guards.bounds import STREAM_MAX_RECORD_AGE_SECONDS as MAX_AGE
from failure_guards.bounds import STREAM_MAX_RETRY_ATTEMPTS as MAX_RETRIES
from lambda_failures.components.settings import ConfigError

ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
TABLE = "aws:dynamodb/table:Table"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET_ARN = f"arn:aws:s3:::lambda-failures-test-failures-{ACCOUNT}-{REGION}-an"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:lambda-failures-test-alerts"


def consumer_policy(synthesis):
    return policy_document(one(synthesis, ROLE_POLICY, "stream-consumer-consumer-role-policy"))


def test_table_is_on_demand_with_new_and_old_images(stack):
    table = one(stack, TABLE)
    assert table.props["billingMode"] == "PAY_PER_REQUEST", table.urn
    assert table.props["streamEnabled"] is True and table.props["streamViewType"] == "NEW_AND_OLD_IMAGES", table.urn


def test_table_is_encrypted_with_its_own_customer_key_and_recoverable(stack):
    table = one(stack, TABLE)
    assert table.props["serverSideEncryption"]["enabled"] is True, table.urn
    assert "kmsKeyArn" in table.props["serverSideEncryption"], table.urn
    assert table.props["pointInTimeRecovery"] == {"enabled": True}, table.urn
    assert table.props["deletionProtectionEnabled"] is True, table.urn


def test_deletion_protection_follows_config(program):
    table = one(program(tableDeletionProtection=False), TABLE)
    assert table.props["deletionProtectionEnabled"] is False, table.urn


def test_mapping_defaults_bound_retries_and_age(stack):
    mapping = one(stack, ESM)
    assert mapping.props["maximumRetryAttempts"] == 3.0, mapping.urn
    assert mapping.props["maximumRecordAgeInSeconds"] == 3600.0, mapping.urn


def test_mapping_bisects_reports_item_failures_and_archives_to_s3(stack):
    mapping = one(stack, ESM)
    assert mapping.props["bisectBatchOnFunctionError"] is True, mapping.urn
    assert mapping.props["functionResponseTypes"] == ["ReportBatchItemFailures"], mapping.urn
    assert mapping.props["destinationConfig"] == {"onFailure": {"destinationArn": BUCKET_ARN}}, mapping.urn
    assert mapping.props["functionName"] == "lambda-failures-test-stream-consumer", mapping.urn


def test_mapping_settings_come_from_config(program):
    patterns = [{"eventName": ["INSERT", "MODIFY"]}]
    mapping = one(
        program(
            streamMaxRetryAttempts=0,
            streamMaxRecordAgeSeconds=86400,
            streamBatchSize=10000,
            streamBatchingWindowSeconds=5,
            streamStartingPosition="TRIM_HORIZON",
            streamFilterPatterns=patterns,
        ),
        ESM,
    )
    props = mapping.props
    assert (props["maximumRetryAttempts"], props["maximumRecordAgeInSeconds"]) == (0.0, 86400.0)
    assert (props["batchSize"], props["maximumBatchingWindowInSeconds"]) == (10000.0, 5.0)
    assert props["startingPosition"] == "TRIM_HORIZON"
    assert [json.loads(f["pattern"]) for f in props["filterCriteria"]["filters"]] == patterns


def test_consumer_reads_only_this_tables_streams(stack):
    read = statement(consumer_policy(stack), "ReadTableStream")
    assert read["Resource"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/lambda-failures-test-orders/stream/*"
    assert read["Action"] == ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]


def test_consumer_writes_failed_batches_with_resource_account(stack):
    doc = consumer_policy(stack)
    for sid in ("WriteFailureRecords", "ListFailureArchive"):
        assert statement(doc, sid)["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}


def test_consumer_uses_the_table_key_and_the_archive_key_only(stack):
    doc = consumer_policy(stack)
    table_key = statement(doc, "DecryptTableStream")
    assert table_key["Action"] == ["kms:Decrypt"]
    assert table_key["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": "alias/lambda-failures-test-stream-table"
    }
    archive_key = statement(doc, "EncryptFailureRecords")
    assert archive_key["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": "alias/lambda-failures-test-failure-archive"
    }


def test_existing_kinesis_stream_is_consumed_without_a_table(program):
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"
    synthesis = program(streamSourceArn=arn)
    assert synthesis.of_type(TABLE) == []
    assert one(synthesis, ESM).props["eventSourceArn"] == arn
    assert statement(consumer_policy(synthesis), "ReadKinesisStream")["Resource"] == arn
    assert "StreamTableName" not in synthesis.outputs


def test_consumer_can_be_left_out(program):
    synthesis = program(streamConsumer=False)
    assert synthesis.of_type(ESM) == [] and "StreamConsumerFunctionName" not in synthesis.outputs


@pytest.mark.parametrize(
    ("suffix", "metric", "statistic", "threshold"),
    [
        ("stream-consumer-iterator-age-alarm", "IteratorAge", "Maximum", 60000.0),
        ("stream-consumer-errors-alarm", "Errors", "Sum", 0.0),
        ("stream-consumer-destination-failures-alarm", "DestinationDeliveryFailures", "Sum", 0.0),
    ],
)
def test_alarms_watch_the_consumer_and_notify_the_encrypted_topic(stack, suffix, metric, statistic, threshold):
    alarm = one(stack, ALARM, suffix)
    assert alarm.props["metricName"] == metric and alarm.props["statistic"] == statistic, alarm.urn
    assert alarm.props["threshold"] == threshold, alarm.urn
    assert alarm.props["dimensions"] == {"FunctionName": "lambda-failures-test-stream-consumer"}, alarm.urn
    assert alarm.props["alarmActions"] == [TOPIC_ARN], alarm.urn
    topic = one(stack, "aws:sns/topic:Topic", "alerts-topic")
    assert "kmsMasterKeyId" in topic.props, topic.urn


def test_alert_key_lets_cloudwatch_publish_for_this_account_only(stack):
    key = one(stack, "aws:kms/key:Key", "alerts-key")
    service = statement(policy_document(key), "ServicesUseKeyForThisAccount")
    assert service["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert service["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{TOPIC_ARN.split(':')[3]}:{ACCOUNT}:alarm:*"},
    }


def test_alarm_email_subscribes_to_the_topic(program):
    subscription = one(program(alarmEmail="oncall@example.com"), "aws:sns/topicSubscription:TopicSubscription")
    assert subscription.props["protocol"] == "email"
    # The engine's secret wrapper: the address never shows in state or a preview.
    assert subscription.props["endpoint"] == {_special_sig_key: _special_secret_sig, "value": "oncall@example.com"}


def test_outputs_name_the_table_function_and_mapping(stack):
    assert stack.outputs["StreamTableName"] == "lambda-failures-test-orders"
    assert stack.outputs["StreamConsumerFunctionName"] == "lambda-failures-test-stream-consumer"
    assert "EventSourceMappingUuid" in stack.outputs


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("streamMaxRetryAttempts", -1, f"streamMaxRetryAttempts must be an integer from 0 to {MAX_RETRIES}"),
        # The pack's default bound: the program never accepts what its own pack blocks.
        ("streamMaxRetryAttempts", MAX_RETRIES + 1, f"from 0 to {MAX_RETRIES};"),
        ("streamMaxRecordAgeSeconds", -1, f"streamMaxRecordAgeSeconds must be an integer from 60 to {MAX_AGE}"),
        ("streamMaxRecordAgeSeconds", MAX_AGE + 1, f"from 60 to {MAX_AGE}"),
        ("streamMaxRecordAgeSeconds", 59, f"from 60 to {MAX_AGE}"),
        ("streamBatchSize", 0, "streamBatchSize must be an integer from 1 to 10000"),
        ("streamStartingPosition", "AT_TIMESTAMP", "one of LATEST, TRIM_HORIZON"),
        ("streamFilterPatterns", "[not json", "a JSON list of filter patterns"),
        ("streamSourceArn", "arn:aws:sqs:eu-west-1:123456789012:q", "a DynamoDB stream ARN or a Kinesis stream ARN"),
    ],
)
def test_bad_stream_config_stops_the_program(program, key, value, expected):
    with pytest.raises(ConfigError) as raised:
        program(**{key: value})
    assert expected in str(raised.value)
