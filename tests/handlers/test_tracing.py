"""Tracing as Lambda runs it: every handler started the way Lambda starts a Python function
(LAMBDA_TASK_ROOT, a sampled trace header, the X-Ray daemon's address) in a fresh interpreter,
with the variable LambdaFunction sets from the function's tracing mode. The daemon is a UDP
socket here, so what the X-Ray SDK sends is read back as X-Ray would receive it; AWS is a
loopback port that refuses connections, so the steps that call it fail fast and alike in both
modes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
SAMPLED = f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1"
RECORD_KEY = "aws/lambda/async/orders/2026/11/27/00/record.json"
RUN_EVERY_HANDLER = f"""
import json, sys
from lambda_failures.handlers import async_function, compaction, failure_processor, receiver, stream_consumer, tracing

class Context:
    function_name = "orders"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    aws_request_id = "c0ffee"

    def get_remaining_time_in_millis(self):
        return 120_000

def outcome(handler, event):
    try:
        return handler(event, Context())
    except Exception as error:
        return type(error).__name__

notification = {{"Records": [{{"s3": {{"bucket": {{"name": "archive"}}, "object": {{"key": "{RECORD_KEY}"}}}}}}]}}
image = {{"pk": {{"S": "order#1"}}, "amount": {{"N": "5"}}, "status": {{"S": "PAID"}}}}
change = {{"SequenceNumber": "1", "NewImage": image}}
batch = {{"Records": [{{"eventID": "e-1", "eventName": "INSERT", "dynamodb": change}}]}}
print(json.dumps({{
    "async_function": outcome(async_function.handler, {{"action": "process", "value": 2}}),
    "receiver": outcome(receiver.handler, {{"requestContext": {{"condition": "Success", "requestId": "r-1"}}}}),
    "stream_consumer": outcome(stream_consumer.handler, batch),
    "failure_processor": outcome(failure_processor.handler, notification),
    "compaction": outcome(compaction.handler, {{}}),
    "tracer": tracing.tracer is not None,
    "xray_sdk": "aws_xray_sdk" in sys.modules,
}}))
"""


def run_in_lambda(tmp_path: Path, trace_disabled: str) -> tuple[dict, list[dict]]:
    """(what each handler returned or raised, the X-Ray documents the daemon received)."""
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    refusing = socket.socket()  # bound, never listening: every AWS call is refused at once
    with daemon, refusing:
        daemon.bind(("127.0.0.1", 0))
        refusing.bind(("127.0.0.1", 0))
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN"))}
        env = inherited | {
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "AWS_LAMBDA_FUNCTION_NAME": "orders",
            "_X_AMZN_TRACE_ID": SAMPLED,
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{refusing.getsockname()[1]}",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_SERVICE_NAME": "orders",
            "POWERTOOLS_METRICS_NAMESPACE": "lambda-failures-test",
            "POWERTOOLS_TRACE_DISABLED": trace_disabled,
            "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:alerts",
            "ARCHIVE_ACCOUNT": "123456789012",
            "DATABASE": "failures",
            "RAW_TABLE": "failed_events",
            "COMPACTED_TABLE": "failed_events_compacted",
            "WORKGROUP": "failures",
            "ARCHIVE_BUCKET": "archive",
            "FUNCTION_NAMES": '["orders"]',
            "LOOKBACK_DAYS": "1",
        }
        done = subprocess.run(
            [sys.executable, "-c", RUN_EVERY_HANDLER], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        daemon.setblocking(False)
        documents = []
        while True:
            try:
                datagram = daemon.recv(65535).decode()
            except BlockingIOError:
                break
            header, _, body = datagram.partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            documents.append(json.loads(body))
    return json.loads(done.stdout.strip().splitlines()[-1]), documents


@pytest.fixture(scope="module")
def untraced(tmp_path_factory):
    return run_in_lambda(tmp_path_factory.mktemp("passthrough"), "true")


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    return run_in_lambda(tmp_path_factory.mktemp("active"), "false")


def test_a_function_that_does_not_trace_never_loads_the_xray_sdk(untraced):
    outcomes, documents = untraced
    assert outcomes["async_function"] == {"action": "process", "result": 4}
    assert outcomes["receiver"]["request_id"] == "r-1"
    assert outcomes["stream_consumer"] == {"batchItemFailures": []}
    assert (outcomes["tracer"], outcomes["xray_sdk"], documents) == (False, False, [])


def test_tracing_changes_nothing_a_handler_does(untraced, traced):
    without, _ = untraced
    with_tracing, _ = traced
    assert with_tracing.pop("xray_sdk") and with_tracing.pop("tracer")
    assert {k: v for k, v in without.items() if k not in ("xray_sdk", "tracer")} == with_tracing
    # The steps that call AWS ran (and were refused) in both modes.
    assert with_tracing["failure_processor"] == "RecordsNotProcessedError"


def test_an_active_function_sends_each_handler_and_each_aws_step_as_subsegments(traced):
    _, documents = traced
    assert documents and all(d["type"] == "subsegment" and d["trace_id"] == TRACE_ID for d in documents)
    handlers = [d for d in documents if d["name"] == "## handler"]
    assert len(handlers) == 5
    assert all(d["parent_id"] == "53995c3f42cd8ad8" for d in handlers)  # under Lambda's own segment
    assert handlers[0]["annotations"] == {"ColdStart": True, "Service": "orders"}
    assert all(d["annotations"]["ColdStart"] is False for d in handlers[1:])
    # Responses stay out of the trace (a stream batch's failures would not fit a datagram).
    assert not any("handler response" in json.dumps(d.get("metadata", {})) for d in handlers)

    by_id = {d["id"]: d for d in documents}
    step = next(d for d in documents if d["name"].endswith("failure_processor.process_object"))
    assert by_id[step["parent_id"]]["name"] == "## handler" and step["fault"] is True
    (claim,) = [d for d in documents if d.get("parent_id") == step["id"]]
    assert (claim["namespace"], claim["aws"]["operation"]) == ("aws", "PutObject")
    assert claim["aws"]["key"] == f"markers/alerts/{RECORD_KEY}"
    compaction_steps = [d for d in documents if d["name"].endswith("compaction.compact_day")]
    assert compaction_steps and all(by_id[d["parent_id"]]["name"] == "## handler" for d in compaction_steps)


def test_a_powertools_without_the_private_rule_still_decides_and_never_fails(monkeypatch):
    """Powertools' rule is a private method; a release that renames it must leave the decision
    to the Tracer it builds, not break every handler's import."""
    from aws_lambda_powertools import Tracer

    from lambda_failures.handlers import tracing

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert tracing.tracing_disabled() is True
    monkeypatch.delattr(Tracer, "_is_tracer_disabled")
    assert tracing.tracing_disabled() is False
