"""Stream mapping policies: compliant fixture, then one test per broken property."""

import pytest
from pulumi_policy.proxy import UnknownValueError
from support.policy_harness import BY_NAME, UNKNOWN, resource_args, violations

from failure_guards.bounds import STREAM_MAX_RECORD_AGE_SECONDS, STREAM_MAX_RETRY_ATTEMPTS

ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"


def mapping(**overrides):
    props = {
        "eventSourceArn": STREAM,
        "functionName": "consumer",
        "startingPosition": "LATEST",
        "maximumRetryAttempts": 3,
        "maximumRecordAgeInSeconds": 3600,
        "bisectBatchOnFunctionError": True,
        "functionResponseTypes": ["ReportBatchItemFailures"],
        "destinationConfig": {"onFailure": {"destinationArn": "arn:aws:s3:::archive"}},
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


STREAM_POLICIES = [
    "stream-mapping-retries-bounded",
    "stream-mapping-record-age-bounded",
    "stream-mapping-bisects-batches",
    "stream-mapping-has-failure-destination",
    "stream-mapping-reports-batch-item-failures",
]


@pytest.mark.parametrize("policy", STREAM_POLICIES)
def test_compliant_mapping_passes(policy):
    assert violations(policy, ESM, mapping()) == []


@pytest.mark.parametrize(
    ("policy", "override", "expected"),
    [
        ("stream-mapping-retries-bounded", {"maximumRetryAttempts": None}, "maximumRetryAttempts is not set"),
        ("stream-mapping-retries-bounded", {"maximumRetryAttempts": -1}, "maximumRetryAttempts is -1"),
        (
            "stream-mapping-retries-bounded",
            {"maximumRetryAttempts": STREAM_MAX_RETRY_ATTEMPTS + 1},
            f"between 0 and {STREAM_MAX_RETRY_ATTEMPTS}",
        ),
        ("stream-mapping-record-age-bounded", {"maximumRecordAgeInSeconds": None}, "is not set"),
        ("stream-mapping-record-age-bounded", {"maximumRecordAgeInSeconds": -1}, "maximumRecordAgeInSeconds is -1"),
        (
            "stream-mapping-record-age-bounded",
            {"maximumRecordAgeInSeconds": STREAM_MAX_RECORD_AGE_SECONDS + 1},
            f"between 60 and {STREAM_MAX_RECORD_AGE_SECONDS}",
        ),
        (
            "stream-mapping-bisects-batches",
            {"bisectBatchOnFunctionError": False},
            "bisectBatchOnFunctionError is not true",
        ),
        ("stream-mapping-has-failure-destination", {"destinationConfig": None}, "onFailure.destinationArn is not set"),
        ("stream-mapping-reports-batch-item-failures", {"functionResponseTypes": None}, "ReportBatchItemFailures"),
    ],
)
def test_each_broken_property_is_reported(policy, override, expected):
    (message,) = violations(policy, ESM, mapping(**override))
    assert expected in message


def test_bounds_come_from_config():
    props = mapping(maximumRetryAttempts=50, maximumRecordAgeInSeconds=200000)
    assert violations("stream-mapping-retries-bounded", ESM, props, {"maxRetryAttempts": 100}) == []
    assert violations("stream-mapping-record-age-bounded", ESM, props, {"maxRecordAgeSeconds": 604800}) == []


def test_kinesis_and_kafka_are_streams():
    kinesis = mapping(eventSourceArn="arn:aws:kinesis:eu-west-1:123456789012:stream/clicks", maximumRetryAttempts=None)
    assert len(violations("stream-mapping-retries-bounded", ESM, kinesis)) == 1
    self_managed = {"selfManagedEventSource": {"endpoints": {"KAFKA_BOOTSTRAP_SERVERS": "b:9092"}}, "topics": ["t"]}
    assert len(violations("stream-mapping-has-failure-destination", ESM, self_managed)) == 1


MSK = "arn:aws:kafka:eu-west-1:123456789012:cluster/c/1"
POLLERS = {"minimumPollers": 1, "maximumPollers": 2}
SELF_MANAGED = {"selfManagedEventSource": {"endpoints": {"KAFKA_BOOTSTRAP_SERVERS": "b:9092"}}, "topics": ["t"]}


@pytest.mark.parametrize("source", [{"eventSourceArn": MSK, "topics": ["t"]}, SELF_MANAGED])
def test_provisioned_kafka_mappings_must_bisect(source):
    """The Lambda API documents BisectBatchOnFunctionError for MSK and self-managed Kafka, in
    provisioned mode (ProvisionedPollerConfig)."""
    props = mapping(**({"eventSourceArn": None} | source), provisionedPollerConfig=POLLERS)
    assert violations("stream-mapping-bisects-batches", ESM, props) == []
    (message,) = violations("stream-mapping-bisects-batches", ESM, props | {"bisectBatchOnFunctionError": False})
    assert "bisect_batch_on_function_error=True" in message
    remediated = BY_NAME["stream-mapping-bisects-batches"].remediate(
        resource_args(ESM, props | {"bisectBatchOnFunctionError": False})
    )
    assert remediated["bisectBatchOnFunctionError"] is True


@pytest.mark.parametrize("source", [{"eventSourceArn": MSK, "topics": ["t"]}, SELF_MANAGED])
def test_on_demand_kafka_is_told_to_use_provisioned_mode(source):
    """On-demand Kafka takes no retry bounds or bisection: the retries policy says how to get them."""
    props = mapping(**({"eventSourceArn": None} | source), maximumRetryAttempts=None, bisectBatchOnFunctionError=None)
    assert violations("stream-mapping-bisects-batches", ESM, props) == []
    assert BY_NAME["stream-mapping-bisects-batches"].remediate(resource_args(ESM, props)) is None
    (message,) = violations("stream-mapping-retries-bounded", ESM, props)
    assert "provisioned_poller_config" in message
    (message,) = violations("stream-mapping-retries-bounded", ESM, props | {"provisionedPollerConfig": POLLERS})
    assert "provisioned_poller_config" not in message


def test_unknown_poller_config_on_kafka_is_undecided():
    props = mapping(eventSourceArn=MSK, provisionedPollerConfig=UNKNOWN, bisectBatchOnFunctionError=None)
    with pytest.raises(UnknownValueError):
        violations("stream-mapping-bisects-batches", ESM, props)


def test_sqs_mappings_are_not_streams():
    sqs = {"eventSourceArn": "arn:aws:sqs:eu-west-1:123456789012:jobs", "functionName": "worker"}
    for policy in STREAM_POLICIES:
        assert violations(policy, ESM, sqs) == []


def test_unknown_source_with_starting_position_is_still_a_stream():
    assert (
        len(
            violations(
                "stream-mapping-retries-bounded", ESM, mapping(eventSourceArn=UNKNOWN, maximumRetryAttempts=None)
            )
        )
        == 1
    )


def test_unknown_source_without_starting_position_is_undecided():
    with pytest.raises(UnknownValueError):
        violations("stream-mapping-retries-bounded", ESM, {"eventSourceArn": UNKNOWN})


def test_bisection_is_remediated_in_place():
    fixed = BY_NAME["stream-mapping-bisects-batches"].remediate(
        resource_args(ESM, mapping(bisectBatchOnFunctionError=False))
    )
    assert fixed["bisectBatchOnFunctionError"] is True
    assert fixed["destinationConfig"] == {"onFailure": {"destinationArn": "arn:aws:s3:::archive"}}
    assert BY_NAME["stream-mapping-bisects-batches"].remediate(resource_args(ESM, mapping())) is None
