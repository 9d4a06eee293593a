"""The consumer's partial batch responses: exact batchItemFailures for every batch shape."""

import json

import pytest
import stream_consumer
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from stream_consumer import InvalidOrderError, MissingImageError, ProcessedRecords
from stream_events import event, order, record


class FakeContext:
    function_name = "lambda-failures-test-stream-consumer"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:lambda-failures-test-stream-consumer"
    aws_request_id = "7d2f0000-0000-4000-8000-000000000000"


@pytest.fixture(autouse=True)
def fresh_container(monkeypatch):
    """Each test is a new container: nothing processed yet."""
    monkeypatch.setattr(stream_consumer, "processed", ProcessedRecords())


def run(batch):
    return stream_consumer.handler(batch, FakeContext())


def failures(response):
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_good_batch_of_insert_modify_remove_reports_no_failures():
    batch = event(
        record(1, "INSERT", new=order("1")),
        record(2, "MODIFY", new=order("1", status="PAID"), old=order("1")),
        record(3, "REMOVE", old=order("1", status="PAID")),
    )
    assert run(batch) == {"batchItemFailures": []}


@pytest.mark.parametrize(
    ("bad_record", "reason"),
    [
        (record(2, "INSERT", new=order("2", amount=-5)), "amount must be greater than 0"),
        (record(2, "INSERT", new=order("2", amount=0)), "greater than 0"),
        (record(2, "MODIFY", new=order("2", status="LOST"), old=order("2")), "status must be one of"),
        (record(2, "INSERT", new={"pk": "order#2", "amount": "ten", "status": "PAID"}), "amount must be a number"),
        (record(2, "INSERT", new={"pk": "customer#2", "amount": 1, "status": "PAID"}), "pk must look like"),
    ],
)
def test_one_bad_record_in_a_mixed_batch_is_the_only_failure(bad_record, reason, caplog):
    batch = event(record(1, "INSERT", new=order("1")), bad_record, record(3, "INSERT", new=order("3")))
    assert failures(run(batch)) == ["000000000000000000002"]
    (rejected,) = [r for r in caplog.records if r.getMessage() == "record rejected"]
    assert rejected.error_type == "InvalidOrderError" and reason in rejected.reason


def test_several_bad_records_are_each_reported_by_sequence_number():
    batch = event(
        record(1, "INSERT", new=order("1", amount=-1)),
        record(2, "INSERT", new=order("2")),
        record(3, "MODIFY", new=order("3", status="?"), old=order("3")),
    )
    assert failures(run(batch)) == ["000000000000000000001", "000000000000000000003"]


def test_all_bad_batch_raises_so_lambda_retries_and_bisects():
    """Powertools raises BatchProcessingError when every record fails (its documented default)."""
    batch = event(record(1, "INSERT", new=order("1", amount=-1)), record(2, "INSERT", new=order("2", amount=-2)))
    with pytest.raises(BatchProcessingError):
        run(batch)


def test_record_without_new_image_is_a_named_failure():
    bad = record(1, "INSERT")
    with pytest.raises(MissingImageError):
        stream_consumer.handle_record(stream_consumer.DynamoDBRecord(bad))


def test_validate_order_names_the_rule():
    with pytest.raises(InvalidOrderError, match="order#7: amount must be greater than 0, got -3"):
        stream_consumer.validate_order(order("7", amount=-3))


def test_a_redelivered_good_record_is_not_processed_twice(caplog):
    good = record(1, "INSERT", new=order("1"))
    run(event(good, record(2, "INSERT", new=order("2", amount=-1))))
    caplog.clear()
    assert failures(run(event(good, record(2, "INSERT", new=order("2"))))) == []
    processed_again = [r for r in caplog.records if r.getMessage() == "record already processed, skipped"]
    assert [r.event_id for r in processed_again] == ["event-1"]


def test_processed_records_forget_the_oldest_beyond_the_limit():
    seen = ProcessedRecords(limit=2)
    for record_id in ("a", "b", "c"):
        seen.add(record_id)
    assert [seen.seen(x) for x in ("a", "b", "c")] == [False, True, True]


def test_metrics_are_emitted_once_per_batch(capsys):
    batch = event(*[record(i, "INSERT", new=order(str(i), amount=-1 if i == 3 else 5)) for i in range(1, 6)])
    run(batch)
    (blob,) = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = json.loads(blob)
    assert (metrics["ProcessedRecords"], metrics["RejectedRecords"]) == ([4.0], [1.0])
