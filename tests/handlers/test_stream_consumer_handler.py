"""The consumer's partial batch responses: exact batchItemFailures for every batch shape."""

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hypothesis import given, settings
from hypothesis import strategies as st
from support.lambda_context import LambdaContext
from support.stream_events import _image, event, order, record

from lambda_failures.handlers import stream_consumer
from lambda_failures.handlers.stream_consumer import (
    InvalidBatchError,
    InvalidOrderError,
    MalformedRecordError,
    MissingImageError,
    ProcessedRecords,
)

CONTEXT = LambdaContext("lambda-failures-test-stream-consumer")


@pytest.fixture(autouse=True)
def fresh_container(monkeypatch):
    """Each test is a new container: nothing processed yet."""
    monkeypatch.setattr(stream_consumer, "processed", ProcessedRecords())


def run(batch):
    return stream_consumer.handler(batch, CONTEXT)


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
        stream_consumer.handle_record(bad)


def test_validate_order_names_the_rule():
    with pytest.raises(InvalidOrderError, match="order#7: amount must be greater than 0, got -3"):
        stream_consumer.validate_order(_image(order("7", amount=-3)))


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


@pytest.mark.parametrize(
    ("bad_image", "reason"),
    [
        ({"pk": {"S": "order#2"}, "amount": {"N": "NaN"}, "status": {"S": "PAID"}}, "finite number"),
        ({"pk": {"S": "order#2"}, "amount": {"N": "Infinity"}, "status": {"S": "PAID"}}, "finite number"),
        ({"pk": {"S": "order#2"}, "amount": {"N": "1e"}, "status": {"S": "PAID"}}, "must be a number"),
        ({"pk": {"S": "order#2"}, "amount": {"S": "5"}, "status": {"S": "PAID"}}, "a DynamoDB S"),
        ({"pk": {"N": "2"}, "amount": {"N": "5"}, "status": {"S": "PAID"}}, "pk must look like"),
        ({"pk": "order#2", "amount": {"N": "5"}, "status": {"S": "PAID"}}, "pk must look like"),
    ],
)
def test_malformed_images_fail_only_their_record(bad_image, reason, caplog):
    bad = record(2, "INSERT", new=order("2"))
    bad["dynamodb"]["NewImage"] = bad_image
    batch = event(record(1, "INSERT", new=order("1")), bad)
    assert failures(run(batch)) == ["000000000000000000002"]
    (rejected,) = [r for r in caplog.records if r.getMessage() == "record rejected"]
    assert reason in rejected.reason


@pytest.mark.parametrize("name", ["", None, "UPSERT", 7])
def test_an_unknown_event_name_fails_only_its_record(name):
    bad = record(2, "INSERT", new=order("2"))
    bad["eventName"] = name
    assert failures(run(event(record(1, "INSERT", new=order("1")), bad))) == ["000000000000000000002"]
    with pytest.raises(MalformedRecordError):
        stream_consumer.handle_record(bad)


@pytest.mark.parametrize(
    "batch",
    [None, [], "Records", {"Records": {"a": 1}}, {"Records": [1]}, {"Records": [{"dynamodb": {}}]}],
)
def test_a_batch_lambda_could_not_have_sent_is_a_named_error(batch):
    with pytest.raises(InvalidBatchError):
        run(batch)


def test_wide_images_decode_only_what_the_rules_read():
    wide = order("1") | {f"extra{i}": {"M": {"deep": {"L": [{"N": "NaN"}]}}} for i in range(15)}
    image = _image(order("1")) | {k: v for k, v in wide.items() if k.startswith("extra")}
    good = record(1, "INSERT", new=order("1"))
    good["dynamodb"]["NewImage"] = image
    assert failures(run(event(good, record(2, "INSERT", new=order("2", amount=-1))))) == ["000000000000000000002"]


_attribute = st.dictionaries(st.sampled_from(["S", "N", "BOOL", "M", "L", "NULL"]), st.text(max_size=8), max_size=2)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "eventName": st.one_of(st.sampled_from(["INSERT", "MODIFY", "REMOVE", ""]), st.none(), st.integers()),
                "image": st.dictionaries(st.sampled_from(["pk", "amount", "status"]), _attribute | st.text()),
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_records_give_a_partial_batch_response_or_a_whole_batch_retry(specs):
    batch_records = []
    for seq, spec in enumerate(specs, start=1):
        raw = record(seq, "INSERT", new=order(str(seq)))
        raw["eventName"] = spec["eventName"]
        raw["dynamodb"]["NewImage"] = spec["image"]
        raw["dynamodb"]["Keys"] = spec["image"]
        batch_records.append(raw)
    stream_consumer.processed = ProcessedRecords()
    try:
        response = run(event(*batch_records))
    except BatchProcessingError:
        return  # every record failed: Lambda retries and bisects the batch
    reported = failures(response)
    assert set(reported) <= {r["dynamodb"]["SequenceNumber"] for r in batch_records}
    json.dumps(response, allow_nan=False)
