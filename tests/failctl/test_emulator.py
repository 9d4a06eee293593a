"""Lambda's failure semantics as emulated offline."""

import json

import boto3
import pytest
from moto import mock_aws
from support.stream_events import order, record

from failctl.emulation.emulator import AsyncFunctionEmulator, InProcessLambda, StreamMappingEmulator

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:fn"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket="emulated-archive", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def test_async_failure_is_retried_then_archived_with_the_invoke_count(s3):
    calls = []

    def handler(event, context):
        calls.append(event)
        raise ValueError("bad")

    outcome = AsyncFunctionEmulator(handler, "fn", ARN, 2, s3, "emulated-archive").invoke_event({"x": 1})
    assert len(calls) == 3 and outcome.attempts == 3
    assert outcome.record_key.startswith("aws/lambda/async/fn/")
    record = json.loads(s3.get_object(Bucket="emulated-archive", Key=outcome.record_key)["Body"].read())
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "ValueError" and record["requestPayload"] == {"x": 1}


def test_async_success_writes_nothing(s3):
    outcome = AsyncFunctionEmulator(lambda e, c: {"ok": True}, "fn", ARN, 2, s3, "emulated-archive").invoke_event({})
    assert outcome.attempts == 1 and outcome.record_key is None
    assert s3.list_objects_v2(Bucket="emulated-archive")["KeyCount"] == 0


def test_stream_function_error_bisects_and_archives_each_bad_record(s3):
    def handler(event, context):
        raise RuntimeError("all bad")

    emulator = StreamMappingEmulator(handler, "fn", ARN, "arn:stream", "shard-1", "uuid-1", 1, s3, "emulated-archive")
    outcome = emulator.deliver([record(1, "INSERT", new=order("1")), record(2, "INSERT", new=order("2"))])
    assert outcome.bisections == 1 and len(outcome.record_keys) == 2
    first = json.loads(s3.get_object(Bucket="emulated-archive", Key=outcome.record_keys[0])["Body"].read())
    assert first["DDBStreamBatchInfo"]["batchSize"] == 1
    assert json.loads(first["payload"])["Records"][0]["eventID"] == "event-1"


def test_stream_partial_failure_checkpoints_records_before_the_failure(s3):
    def handler(event, context):
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][-1]["dynamodb"]["SequenceNumber"]}]}

    emulator = StreamMappingEmulator(handler, "fn", ARN, "arn:stream", "shard-1", "uuid-1", 2, s3, "emulated-archive")
    outcome = emulator.deliver([record(i, "INSERT", new=order(str(i))) for i in (1, 2, 3)])
    assert outcome.checkpointed == 2 and outcome.invocations == 3 and len(outcome.record_keys) == 1


def test_in_process_lambda_answers_invoke_as_replay_reads_it():
    """A handler's response, its error as FunctionError, and 202 for an asynchronous invoke."""

    def accept(event, context):
        return {"batchItemFailures": [], "seen": len(event["Records"])}

    def reject(event, context):
        raise ValueError("bad batch")

    lambda_ = InProcessLambda({"ok": (accept, "arn:ok"), "bad": (reject, "arn:bad")})
    answer = lambda_.invoke(FunctionName="ok", InvocationType="RequestResponse", Payload='{"Records": [1, 2]}')
    assert "FunctionError" not in answer and json.loads(answer["Payload"].read()) == {
        "batchItemFailures": [],
        "seen": 2,
    }
    failed = lambda_.invoke(FunctionName="bad", InvocationType="RequestResponse", Payload='{"Records": []}')
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read()) == {"errorType": "ValueError", "errorMessage": "bad batch"}
    assert lambda_.invoke(FunctionName="ok", InvocationType="Event", Payload='{"Records": []}')["StatusCode"] == 202
