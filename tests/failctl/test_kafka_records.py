"""A Kafka mapping's failure record (MSK or self-managed), as Lambda writes it to an S3
on-failure destination: read as a stream failure, alerted with its topic-partition and offset,
and replayed with the Kafka event its function takes."""

from __future__ import annotations

import json

from failctl.archive import replay
from failctl.archive.stores import FolderStore
from failctl.emulation.emulator import InProcessLambda
from lambda_failures.archive_format import parse_record, summarize
from lambda_failures.handlers.alerts import alert

CLUSTER = "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/7c2b1a3e-1111-2222-3333-444455556666-2"
FUNCTION = "ledger"
KEY = "aws/lambda/0b9f2c4e-1111-4000-8000-000000000003/payments-0/2026/11/29/2026-11-29T10.00.00-8c1d"
EVENT = {
    "eventSource": "aws:kafka",
    "eventSourceArn": CLUSTER,
    "bootstrapServers": "b-1.orders.kafka.eu-west-1.amazonaws.com:9098",
    "records": {
        "payments-0": [
            {"topic": "payments", "partition": 0, "offset": 41, "timestamp": 1764410400000, "value": "e30="},
            {"topic": "payments", "partition": 0, "offset": 42, "timestamp": 1764410400001, "value": "e30="},
        ]
    },
}


def kafka_record(payload=EVENT) -> dict:
    """The shape the Lambda Developer Guide gives for a Kafka on-failure record."""
    record = {
        "requestContext": {
            "requestId": "e4b46cbf-b738-4880-8880-a18cdf61200e",
            "functionArn": f"arn:aws:lambda:eu-west-1:123456789012:function:{FUNCTION}:$LATEST",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-29T10:00:00.000Z",
        "KafkaBatchInfo": {
            "batchSize": 2,
            "eventSourceArn": CLUSTER,
            "bootstrapServers": EVENT["bootstrapServers"],
            "payloadSize": 1162,
            "recordInfo": {"offset": "41", "timestamp": "2026-11-29T10:00:00.000Z"},
        },
    }
    if payload is not None:
        record["payload"] = payload
    return record


def test_a_kafka_record_is_a_stream_failure_with_its_partition_offset_and_event():
    summary = summarize(KEY, parse_record(json.dumps(kafka_record()).encode()))
    assert (summary.kind, summary.function, summary.condition) == ("stream", FUNCTION, "RetryAttemptsExhausted")
    assert (summary.shard_id, summary.sequence_range, summary.batch_size) == ("payments-0", "offset 41", 2)
    assert summary.source_arn == CLUSTER and summary.replay_event == EVENT and summary.record_count == 2
    subject, message = alert(summary, "archive")
    assert subject == f"[{FUNCTION}] stream failure: RetryAttemptsExhausted"
    assert "payments-0 sequence offset 41 (2 records)" in message and CLUSTER in message


def test_a_kafka_payload_given_as_text_or_left_out_is_still_read():
    assert summarize(KEY, kafka_record(json.dumps(EVENT))).replay_event == EVENT
    bare = summarize(KEY, kafka_record(payload=None))  # a batch too large to keep: no payload
    assert bare.kind == "stream" and bare.event is None and bare.shard_id is None


def test_a_kafka_record_is_replayed_with_the_kafka_event(tmp_path):
    (tmp_path / KEY).parent.mkdir(parents=True)
    (tmp_path / KEY).write_text(json.dumps(kafka_record()))
    store = FolderStore(tmp_path)
    received = []

    def handler(event, context):
        received.append(event)
        return {"batchItemFailures": []}

    report = replay.ReplayReport()
    plan = list(replay.select(store, replay.Selection(key=KEY), report))
    assert [p.target for p in plan] == [f"{FUNCTION} (RequestResponse, 2 records)"]
    replay.execute(store, InProcessLambda({FUNCTION: (handler, "arn")}), plan, report, progress=False)
    assert received == [EVENT]
    assert [(o.status, o.detail) for o in report.outcomes] == [("replayed", f"batch of 2 accepted by {FUNCTION}")]
