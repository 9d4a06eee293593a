"""Bad configuration stops the program with a message naming the key and what it accepts."""

import pytest

from lambda_failures.components.settings import (
    ArchiveSettings,
    AsyncSettings,
    ConfigError,
    StreamSettings,
    load_settings,
)


def settings_from(**values):
    return load_settings(lambda key: values.get(key), "test")


def test_defaults_are_safe():
    s = settings_from()
    assert s.name_prefix == "lambda-failures-test"
    assert s.function.max_retry_attempts == 2
    assert s.archive.allow_destroy is False
    assert s.stream.max_retry_attempts == 3 and s.stream.max_record_age_seconds == 3600


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("maxRetryAttempts", "3", "lambda-failures:maxRetryAttempts must be an integer from 0 to 2"),
        ("maxRetryAttempts", "-1", "from 0 to 2"),
        ("maxRetryAttempts", "two", "from 0 to 2"),
        ("maxEventAgeSeconds", "59", "lambda-failures:maxEventAgeSeconds must be an integer from 60 to 21600"),
        ("maxEventAgeSeconds", "21601", "from 60 to 21600"),
        ("successDestination", "kafka", "one of none, sqs, sns, eventbridge, lambda"),
        ("reservedConcurrency", "-2", "lambda-failures:reservedConcurrency must be an integer from -1 to 10000"),
        ("logRetentionDays", "10", "lambda-failures:logRetentionDays must be one of 1, 3, 5"),
        ("allowDestroy", "maybe", "lambda-failures:allowDestroy must be true or false"),
        ("namePrefix", "Bad_Prefix!", "lambda-failures:namePrefix must be 1 to 40 characters"),
        ("archiveExpirationDays", "0", "archiveExpirationDays must be an integer from 1"),
        ("bucketNamespace", "shared", "lambda-failures:bucketNamespace must be one of account-regional, global"),
        ("alarmEmail", "not-an-address", "lambda-failures:alarmEmail must be an e-mail address"),
    ],
)
def test_bad_values_name_the_key_and_the_allowed_values(key, value, expected):
    with pytest.raises(ConfigError, match=None) as raised:
        settings_from(**{key: value})
    assert expected in str(raised.value)
    assert repr(value) in str(raised.value) or value.lower() in str(raised.value)


def test_pulumi_yaml_defaults_read_as_unset():
    """The project file gives optional keys a default ("" or -1) so the engine never asks for them."""
    s = settings_from(namePrefix="", alarmEmail="", reservedConcurrency="-1", streamSourceArn="", glueDatabaseName="")
    assert s.name_prefix == "lambda-failures-test" and s.alarm_email is None
    assert s.size.reserved_concurrency is None and s.stream.source_arn is None
    assert s.analytics.database_name == "lambda_failures_test"


def test_glue_database_follows_the_prefix_so_stacks_do_not_collide():
    assert settings_from(namePrefix="orders-prod").analytics.database_name == "orders_prod"
    assert settings_from(glueDatabaseName="shared_db").analytics.database_name == "shared_db"


def test_program_stops_on_bad_config(program):
    with pytest.raises(ConfigError, match="maxRetryAttempts"):
        program(maxRetryAttempts=5)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # S3 refuses bucket names starting with these, and every bucket name starts with the prefix.
        ("namePrefix", "xn--orders", "must be a prefix S3 accepts for bucket names"),
        ("namePrefix", "sthree-orders", "must be a prefix S3 accepts for bucket names"),
        # Lambda's filter rule syntax wants a list for every field's value.
        ("streamFilterPatterns", '[{"eventName": "INSERT"}]', "field 'eventName' is not"),
        ("streamFilterPatterns", '[{"dynamodb": {"NewImage": {"status": {"S": "PAID"}}}}]', "field 'S' is not"),
        ("glueStreamTableName", "failed_events", "must be a name other than glueTableName"),
        # As Pulumi's own config reads a boolean.
        ("allowDestroy", "yes", "lambda-failures:allowDestroy must be true or false"),
        ("analytics", "1", "lambda-failures:analytics must be true or false"),
    ],
)
def test_values_aws_or_pulumi_would_refuse_are_refused_first(key, value, expected):
    with pytest.raises(ConfigError) as raised:
        settings_from(**{key: value})
    assert expected in str(raised.value)


def test_nested_filter_patterns_with_lists_are_accepted():
    pattern = '[{"dynamodb": {"NewImage": {"status": {"S": ["PAID"]}}}}]'
    assert settings_from(streamFilterPatterns=pattern).stream.filter_patterns


def test_a_megabyte_value_is_refused_without_being_echoed():
    with pytest.raises(ConfigError) as raised:
        settings_from(namePrefix="a" * 1_000_000)
    assert "namePrefix" in str(raised.value) and len(str(raised.value)) < 400


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: AsyncSettings(max_retry_attempts=5), "AsyncSettings.max_retry_attempts must be an integer from 0"),
        (lambda: AsyncSettings(success_destination="kafka"), "AsyncSettings.success_destination must be one of none"),
        (lambda: StreamSettings(max_retry_attempts=-1), "StreamSettings.max_retry_attempts must be an integer from 0"),
        (lambda: StreamSettings(batch_size=True), "StreamSettings.batch_size must be an integer"),
        (lambda: ArchiveSettings(allow_destroy="yes"), "ArchiveSettings.allow_destroy must be true or false"),
        (lambda: StreamSettings(source_arn="arn:aws:sqs:eu-west-1:1:q"), "StreamSettings.source_arn must be a Dynamo"),
    ],
)
def test_settings_built_in_python_meet_the_rules_config_meets(build, expected):
    with pytest.raises(ConfigError) as raised:
        build()
    assert expected in str(raised.value)
