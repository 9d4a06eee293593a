"""The failure processor against moto: async, stream and malformed records, duplicates, replay."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from support.lambda_context import LambdaContext

from failctl.emulation.lambda_writer import (
    async_failure_key,
    async_failure_record,
    stream_failure_key,
    stream_failure_record,
)

BUCKET = "archive-test"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:lambda-failures-test-processor"
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-01T00:00:00.000"
MOMENT = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


CONTEXT = LambdaContext("failure-processor")


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        sns = boto3.client("sns", region_name="eu-west-1")
        sqs = boto3.client("sqs", region_name="eu-west-1")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
        from lambda_failures.handlers import failure_processor  # clients are created at import: after moto starts

        monkeypatch.setattr(failure_processor, "s3", s3)
        monkeypatch.setattr(failure_processor, "sns", sns)
        invoked = []

        def invoke(**kwargs):
            # Lambda answers an async invoke with the request id the new invocation runs under.
            invoked.append(kwargs)
            return {"StatusCode": 202, "ResponseMetadata": {"RequestId": f"replay-{len(invoked)}"}}

        monkeypatch.setattr(failure_processor.lambda_client, "invoke", invoke)
        yield {"s3": s3, "sqs": sqs, "queue": queue, "handler": failure_processor.handler, "invoked": invoked}


def put(aws, key, body):
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=body if isinstance(body, str) else json.dumps(body))


def notify(aws, *keys):
    records = [{"s3": {"bucket": {"name": BUCKET}, "object": {"key": key.replace(":", "%3A")}}} for key in keys]
    return aws["handler"]({"Records": records}, CONTEXT)


def alerts(aws):
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def tags(aws, key):
    return {t["Key"]: t["Value"] for t in aws["s3"].get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]}


def test_async_record_alert_names_function_error_request_and_replay(aws):
    key = async_failure_key("lambda-failures-test-processor", MOMENT)
    error = ValueError("value must be >= 0, got -3")
    record = async_failure_record(FUNCTION_ARN, {"action": "process", "value": -3}, MOMENT, error, request_id="req-1")
    record["responsePayload"]["errorType"] = "NegativeNumberError"
    put(aws, key, record)
    assert notify(aws, key) == {"alerted": 1}
    (alert,) = alerts(aws)
    assert alert["Subject"] == "[lambda-failures-test-processor] async failure: NegativeNumberError"
    for expected in (
        "Condition: RetriesExhausted",
        "value must be >= 0, got -3",
        "Request:   req-1",
        key,
        f"failctl replay --source s3://{BUCKET} --key {key} --execute",
    ):
        assert expected in alert["Message"]
    assert "failure-alerted" in tags(aws, key)


def test_stream_record_alert_names_shard_and_sequence_range(aws):
    batch = [
        {
            "eventID": "1",
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": "800000000003126276362", "ApproximateCreationDateTime": 1763458200},
        }
    ]
    key = stream_failure_key("esm-1", "shardId-0001", MOMENT)
    put(aws, key, stream_failure_record(FUNCTION_ARN, STREAM_ARN, "shardId-0001", batch, MOMENT, 4))
    notify(aws, key)
    (alert,) = alerts(aws)
    assert "stream failure" in alert["Subject"]
    assert "shardId-0001 sequence 800000000003126276362..800000000003126276362 (1 records)" in alert["Message"]


def test_malformed_object_is_alerted_and_kept(aws):
    key = "aws/lambda/async/fn/2026/11/18/broken"
    put(aws, key, "{not json")
    assert notify(aws, key) == {"malformed": 1}
    (alert,) = alerts(aws)
    assert alert["Subject"] == "Unreadable object in the failure archive" and "not JSON" in alert["Message"]
    assert aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"{not json"


def test_duplicate_notification_sends_one_alert(aws):
    key = async_failure_key("fn", MOMENT)
    put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    assert notify(aws, key) == {"alerted": 1}
    assert notify(aws, key) == {"duplicate": 1}
    assert len(alerts(aws)) == 1


def test_auto_replay_redrives_only_retryable_conditions(aws, monkeypatch):
    monkeypatch.setenv("AUTO_REPLAY", "true")
    aged = async_failure_key("fn", MOMENT, "aged")
    put(
        aws,
        aged,
        async_failure_record(FUNCTION_ARN, {"action": "process", "value": 1}, MOMENT, None, "EventAgeExceeded", 0),
    )
    broken = async_failure_key("fn", MOMENT, "broken")
    put(aws, broken, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    # With a short maximum event age, code that failed on its first attempt ends as
    # EventAgeExceeded too: it ran (invoke count 1), so it is not re-driven.
    ran = async_failure_key("fn", MOMENT, "ran")
    put(
        aws,
        ran,
        async_failure_record(
            FUNCTION_ARN, {"action": "process", "value": -1}, MOMENT, RuntimeError("x"), "EventAgeExceeded", 1
        ),
    )
    assert notify(aws, aged, broken, ran) == {"replayed": 1, "alerted": 2}
    (invocation,) = aws["invoked"]
    assert invocation["FunctionName"] == "lambda-failures-test-processor"
    assert invocation["InvocationType"] == "Event"
    assert json.loads(invocation["Payload"]) == {"action": "process", "value": 1}
    assert "failure-replayed" in tags(aws, aged) and "failure-replayed" not in tags(aws, broken)


def test_auto_replay_runs_once_per_request_and_never_replays_a_replay(aws, monkeypatch):
    """A replay that ages out again writes a new record under the replay's request id: that
    record is alerted on, never re-driven, so autoReplay cannot loop."""
    monkeypatch.setenv("AUTO_REPLAY", "true")
    payload = {"action": "process", "value": 1}
    first = async_failure_key("fn", MOMENT, "first")
    put(aws, first, async_failure_record(FUNCTION_ARN, payload, MOMENT, None, "EventAgeExceeded", 0, request_id="r-1"))
    assert notify(aws, first) == {"replayed": 1}
    # The same record re-delivered with its tags lost (a copy of the object): the claim holds.
    again = async_failure_key("fn", MOMENT, "again")
    put(aws, again, async_failure_record(FUNCTION_ARN, payload, MOMENT, None, "EventAgeExceeded", 0, request_id="r-1"))
    assert notify(aws, again) == {"alerted": 1}
    # The replay itself (request id replay-1, from the invoke response) ages out again.
    second = async_failure_key("fn", MOMENT, "second")
    put(
        aws,
        second,
        async_failure_record(FUNCTION_ARN, payload, MOMENT, None, "EventAgeExceeded", 0, request_id="replay-1"),
    )
    assert notify(aws, second) == {"alerted": 1}
    assert len(aws["invoked"]) == 1
    markers = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="markers/auto-replays/")["Contents"]
    assert sorted(m["Key"] for m in markers) == [
        "markers/auto-replays/lambda-failures-test-processor/r-1",
        "markers/auto-replays/lambda-failures-test-processor/replay-1",
    ]


def test_deeply_nested_json_is_alerted_as_unreadable(aws):
    key = "aws/lambda/async/fn/2026/11/18/deep"
    put(aws, key, "[" * 100_000 + "]" * 100_000)
    assert notify(aws, key) == {"malformed": 1}
    (alert,) = alerts(aws)
    assert "nested too deeply" in alert["Message"]


def test_a_huge_error_message_still_alerts_within_the_sns_limit(aws):
    key = async_failure_key("fn", MOMENT)
    put(aws, key, async_failure_record(FUNCTION_ARN, {"x": 1}, MOMENT, RuntimeError("E" * 300_000)))
    assert notify(aws, key) == {"alerted": 1}
    (alert,) = alerts(aws)
    assert len(alert["Message"].encode()) <= 256 * 1024
    assert "more characters in the record" in alert["Message"] and key in alert["Message"]


def test_an_object_deleted_before_it_is_read_alerts_once_as_gone(aws):
    key = async_failure_key("fn", MOMENT, "deleted")
    assert notify(aws, key) == {"gone": 1}
    assert notify(aws, key) == {"duplicate": 1}
    (alert,) = alerts(aws)
    assert alert["Subject"] == "Failure record deleted before it was read" and key in alert["Message"]


def test_each_notification_record_is_handled_on_its_own(aws):
    key = async_failure_key("fn", MOMENT, "good")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    event = {"Records": [{"s3": {"bucket": {}}}, "junk", {"s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]}
    assert aws["handler"](event, CONTEXT) == {"invalid": 2, "alerted": 1}
    assert len(alerts(aws)) == 1


def test_an_object_with_ten_tags_is_still_alerted_only_once(aws):
    key = async_failure_key("fn", MOMENT, "tagged")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    aws["s3"].put_object_tagging(
        Bucket=BUCKET, Key=key, Tagging={"TagSet": [{"Key": f"t{i}", "Value": "v"} for i in range(10)]}
    )
    assert notify(aws, key) == {"alerted": 1}
    assert notify(aws, key) == {"duplicate": 1}
    assert len(alerts(aws)) == 1


def test_a_refused_publish_fails_the_invocation_and_the_retry_alerts_once(aws, monkeypatch):
    from botocore.exceptions import ClientError

    from lambda_failures.handlers import failure_processor

    key = async_failure_key("fn", MOMENT, "retry")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    real_publish = failure_processor.sns.publish

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Publish")

    monkeypatch.setattr(failure_processor.sns, "publish", throttled)
    with pytest.raises(failure_processor.RecordsNotProcessedError):
        notify(aws, key)
    monkeypatch.setattr(failure_processor.sns, "publish", real_publish)
    assert notify(aws, key) == {"alerted": 1}
    assert notify(aws, key) == {"duplicate": 1}
    assert len(alerts(aws)) == 1


@pytest.fixture
def atomic_conditional_writes(monkeypatch):
    """S3 evaluates If-None-Match/If-Match atomically with the write; moto checks, then writes,
    and is not thread-safe on object reads and writes. One lock around moto's object requests
    gives the per-request atomicity S3 documents, so the test judges our protocol, not moto."""
    import threading

    from moto.s3.responses import S3Response

    lock = threading.Lock()
    original = S3Response.key_response

    def key_response(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(S3Response, "key_response", key_response)


def test_concurrent_invocations_for_the_same_objects_alert_each_once(aws, atomic_conditional_writes):
    from concurrent.futures import ThreadPoolExecutor

    keys = [async_failure_key("fn", MOMENT, f"c{i}") for i in range(20)]
    for key in keys:
        put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: notify(aws, *keys), range(4)))
    alerted = sum(r.get("alerted", 0) for r in results)
    assert alerted == len(keys), results
    received = []
    while batch := alerts(aws):
        received += batch
    assert len(received) == len(keys)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=12,
    )
)
def test_any_event_gives_counts_or_a_named_error(aws, event):
    try:
        counts = aws["handler"](event, CONTEXT)
    except Exception as error:
        from lambda_failures.handlers import failure_processor

        assert isinstance(error, failure_processor.RecordsNotProcessedError), repr(error)
        return
    assert all(isinstance(v, int) for v in counts.values())


def marker_state(aws, prefix, name):
    return json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=f"{prefix}{name}")["Body"].read())["state"]


def notify_version(aws, key, version):
    record = {"s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "versionId": version}}}
    return aws["handler"]({"Records": [record]}, CONTEXT)


def test_a_version_deleted_between_notification_and_read_alerts_once_as_gone(aws):
    """Read by the version the notification names: S3 answers NoSuchVersion once it is deleted."""
    aws["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = async_failure_key("fn", MOMENT, "versioned")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    version = aws["s3"].head_object(Bucket=BUCKET, Key=key)["VersionId"]
    aws["s3"].delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert notify_version(aws, key, version) == {"gone": 1}
    assert notify_version(aws, key, version) == {"duplicate": 1}
    (alert,) = alerts(aws)
    assert alert["Subject"] == "Failure record deleted before it was read"


def access_denied_reads(monkeypatch):
    """What S3 answers a reader without s3:ListBucket for a missing object (and what any
    reader gets from a key policy or bucket policy refusing the read): 403 AccessDenied."""
    from botocore.exceptions import ClientError

    from lambda_failures.handlers import failure_processor

    real = failure_processor.s3.get_object

    def get_object(**request):
        if request["Key"].startswith("aws/lambda/"):
            raise ClientError(
                {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetObject"
            )
        return real(**request)

    monkeypatch.setattr(failure_processor.s3, "get_object", get_object)


def test_a_403_on_an_object_the_listing_shows_deleted_is_read_as_gone(aws, monkeypatch):
    aws["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = async_failure_key("fn", MOMENT, "deleted-403")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    version = aws["s3"].head_object(Bucket=BUCKET, Key=key)["VersionId"]
    aws["s3"].delete_object(Bucket=BUCKET, Key=key)  # a delete marker: the latest is gone
    access_denied_reads(monkeypatch)
    assert notify(aws, key) == {"gone": 1}
    # The version the notification named is still listed: a 403 on it is not "gone".
    with pytest.raises(Exception, match="not processed"):
        notify_version(aws, key, version)
    aws["s3"].delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert notify_version(aws, key, version) == {"gone": 1}  # failed earlier: claimed again


def test_a_403_on_an_object_that_is_there_is_not_gone_and_is_retried(aws, monkeypatch):
    """A 403 alone is ambiguous (a key policy or bucket policy refusing the read, a bucket
    now owned by another account): without a listing that confirms the absence it stands."""
    key = async_failure_key("fn", MOMENT, "denied")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    access_denied_reads(monkeypatch)
    with pytest.raises(Exception, match="not processed"):
        notify(aws, key)
    assert marker_state(aws, "markers/alerts/", key) == "failed" and alerts(aws) == []


def test_a_stream_payload_nested_5000_deep_is_alerted_and_its_claim_settled(aws):
    key = stream_failure_key("esm", "shard-1", MOMENT, "deep")
    deep = "[" * 5000 + "]" * 5000
    record = {
        "requestContext": {"requestId": "r", "functionArn": FUNCTION_ARN, "condition": "RetryAttemptsExhausted"},
        "DDBStreamBatchInfo": {"shardId": "shard-1", "batchSize": 1},
        "payload": deep,
    }
    put(aws, key, record)
    assert notify(aws, key) == {"malformed": 1}
    assert marker_state(aws, "markers/alerts/", key) == "done"
    (alert,) = alerts(aws)
    assert "nested too deeply" in alert["Message"]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # the crash comes before any metric
def test_an_unforeseen_crash_before_publishing_never_leaves_the_claim_claimed(aws, monkeypatch):
    from lambda_failures.handlers import failure_processor

    key = async_failure_key("fn", MOMENT, "crash")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"forceError": True}, MOMENT, RuntimeError("x")))
    monkeypatch.setattr(failure_processor, "_message", lambda *a: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(failure_processor.RecordsNotProcessedError):  # retried by Lambda, like any other
        notify(aws, key)
    assert marker_state(aws, "markers/alerts/", key) == "failed"


@pytest.mark.parametrize(
    ("error", "state", "raises"),
    [
        ("ReadTimeoutError", "uncertain", False),
        ("ConnectionClosedError", "uncertain", False),
        ("ServiceException", "uncertain", False),
        ("EndpointConnectionError", "failed", True),
        ("NoCredentialsError", "failed", True),
        ("TooManyRequestsException", "failed", True),
    ],
)
def test_auto_replay_settles_its_claim_on_what_the_error_proves(aws, monkeypatch, error, state, raises):
    from botocore import exceptions

    from lambda_failures.handlers import failure_processor

    errors = {
        "ReadTimeoutError": exceptions.ReadTimeoutError(endpoint_url="http://lambda"),
        "ConnectionClosedError": exceptions.ConnectionClosedError(endpoint_url="http://lambda"),
        "EndpointConnectionError": exceptions.EndpointConnectionError(endpoint_url="http://lambda"),
        "NoCredentialsError": exceptions.NoCredentialsError(),
        "ServiceException": exceptions.ClientError(
            {"Error": {"Code": "ServiceException"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "Invoke"
        ),
        "TooManyRequestsException": exceptions.ClientError(
            {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Invoke"
        ),
    }

    def invoke(**request):
        raise errors[error]

    monkeypatch.setattr(failure_processor.lambda_client, "invoke", invoke)
    monkeypatch.setenv("AUTO_REPLAY", "true")
    key = async_failure_key("fn", MOMENT, "aged")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"a": 1}, MOMENT, None, "EventAgeExceeded", 0, request_id="r-9"))
    if raises:
        with pytest.raises(failure_processor.RecordsNotProcessedError):
            notify(aws, key)
    else:
        assert notify(aws, key) == {"alerted": 1}
    assert marker_state(aws, "markers/auto-replays/", "lambda-failures-test-processor/r-9") == state


def test_an_auto_replay_lambda_throttled_is_redriven_by_the_retried_notification(aws, monkeypatch):
    from botocore.exceptions import ClientError

    from lambda_failures.handlers import failure_processor

    monkeypatch.setenv("AUTO_REPLAY", "true")
    key = async_failure_key("fn", MOMENT, "throttled")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"a": 2}, MOMENT, None, "EventAgeExceeded", 0, request_id="r-7"))
    accepting = failure_processor.lambda_client.invoke

    def throttled(**request):
        raise ClientError(
            {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Invoke"
        )

    monkeypatch.setattr(failure_processor.lambda_client, "invoke", throttled)
    with pytest.raises(failure_processor.RecordsNotProcessedError):
        notify(aws, key)
    monkeypatch.setattr(failure_processor.lambda_client, "invoke", accepting)
    assert notify(aws, key) == {"replayed": 1}  # Lambda's retry: alerted already, replayed now
    assert notify(aws, key) == {"duplicate": 1}
    assert len(aws["invoked"]) == 1 and len(alerts(aws)) == 1


def test_an_unterminated_string_of_escaped_quotes_is_alerted_at_once(aws):
    """The depth check used to rescan the rest of the text from every escaped quote of an
    unterminated string: 60 kB took about a minute, a few hundred kB outlived any Lambda
    timeout, leaving the alert claim `claimed` (uncertain) and no alert sent."""
    import time

    key = async_failure_key("fn", MOMENT, "quotes")
    put(aws, key, '{"payload": "' + '\\"' * 30_000 + "[]" * 300)
    started = time.monotonic()
    assert notify(aws, key) == {"malformed": 1}
    assert time.monotonic() - started < 5


def test_an_object_that_is_not_utf8_is_alerted_as_malformed_once(aws):
    key = async_failure_key("fn", MOMENT, "latin1")
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=b'{"requestContext": {"functionArn": "\xff\xfe"}}')
    assert notify(aws, key) == {"malformed": 1}
    assert notify(aws, key) == {"duplicate": 1}
    assert len(alerts(aws)) == 1


def test_a_notification_for_a_key_outside_the_archive_prefix_is_ignored(aws):
    """Only aws/lambda/ holds failure records: another key (a marker, an upload that reached
    the function by a wider notification) is neither claimed nor alerted."""
    put(aws, "uploads/report.json", {"hello": "world"})
    assert notify(aws, "uploads/report.json", "markers/alerts/x") == {"ignored": 2}
    assert alerts(aws) == []
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="markers/").get("KeyCount", 0)
    assert listed == 0


def test_one_poison_record_of_a_hundred_does_not_stop_the_others(aws, monkeypatch):
    """A record whose handling breaks in a way nobody foresaw is retried on its own; the other
    99 are alerted in the same invocation, and no claim is left `claimed`."""
    from lambda_failures.handlers import failure_processor

    keys = [async_failure_key("fn", MOMENT, f"n{i:03d}") for i in range(100)]
    for i, key in enumerate(keys):
        put(aws, key, async_failure_record(FUNCTION_ARN, {"value": i}, MOMENT, RuntimeError("x")))
    real = failure_processor._message

    def poisoned(bucket, key, body):
        if key == keys[37]:
            raise MemoryError("poison")
        return real(bucket, key, body)

    monkeypatch.setattr(failure_processor, "_message", poisoned)
    with pytest.raises(failure_processor.RecordsNotProcessedError, match="1 object"):
        notify(aws, *keys)
    states = {key: marker_state(aws, "markers/alerts/", key) for key in keys}
    assert states.pop(keys[37]) == "failed" and set(states.values()) == {"done"}
    monkeypatch.setattr(failure_processor, "_message", real)
    assert notify(aws, *keys) == {"alerted": 1, "duplicate": 99}


def test_a_10_mb_record_is_alerted_within_the_sns_limit(aws):
    key = async_failure_key("fn", MOMENT, "huge")
    put(aws, key, async_failure_record(FUNCTION_ARN, {"blob": "x" * 10_000_000}, MOMENT, RuntimeError("x")))
    assert notify(aws, key) == {"alerted": 1}
    (alert,) = alerts(aws)
    assert len(alert["Message"].encode()) <= 256 * 1024


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:eu-west-1:999999999999:function:lambda-failures-test-processor",
        "arn:aws:lambda:us-east-1:123456789012:function:lambda-failures-test-processor",
    ],
    ids=["other-account", "other-region"],
)
def test_auto_replay_never_redrives_a_namesake_of_a_function_elsewhere(aws, monkeypatch, arn):
    """A record naming another account's or region's function is alerted, never re-driven to
    the function of the same name here (the processor invoked by name)."""
    monkeypatch.setenv("AUTO_REPLAY", "true")
    monkeypatch.setenv("ARCHIVE_ACCOUNT", "123456789012")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    key = async_failure_key("lambda-failures-test-processor", MOMENT, "elsewhere")
    put(aws, key, async_failure_record(arn, {"action": "process"}, MOMENT, None, "EventAgeExceeded", 0))
    assert notify(aws, key) == {"alerted": 1}
    assert aws["invoked"] == []
