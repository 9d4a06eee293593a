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


def test_records_are_stamped_in_utc_on_a_machine_that_is_not(tmp_path):
    """Lambda writes UTC with `Z`; a machine in another zone must not shift the stamps."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import json, time\n"
        "from datetime import datetime, timedelta, timezone\n"
        "from failctl.emulation.lambda_writer import async_failure_record, stream_failure_record\n"
        "assert time.localtime(0).tm_gmtoff == 19800, 'the child is not in +05:30'\n"
        "moment = datetime(2026, 11, 18, 9, 30, tzinfo=timezone(timedelta(hours=-5)))\n"
        "item = {'dynamodb': {'SequenceNumber': '1', 'ApproximateCreationDateTime': 1795000000}}\n"
        "batch = stream_failure_record('arn:fn', 'arn:stream', 'shard', [item], moment, 1)\n"
        "single = async_failure_record('arn:fn', {}, moment, None)\n"
        "print(json.dumps([single['timestamp'], batch['timestamp'], batch['DDBStreamBatchInfo']]))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=os.environ | {"TZ": "Asia/Kolkata", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    single, batch, info = json.loads(result.stdout)
    assert single == batch == "2026-11-18T14:30:00.000Z"  # 09:30 at -05:00
    assert info["approximateArrivalOfFirstRecord"] == "2026-11-18T11:06:40Z"  # epoch 1795000000
