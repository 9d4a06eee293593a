"""Stream consumer throughput on a 10,000-record batch (the largest a DynamoDB mapping sends),
next to an inline loop applying the same rules (event name, image, pk, amount, status, one
record id seen once), on narrow and wide images. Both must reject the same records; ours and
the floor alternate."""

from decimal import Decimal, InvalidOperation

from common import alternating, pair
from support.stream_events import event, order, record

BATCH = 10_000
STATUSES = frozenset(("PENDING", "PAID", "SHIPPED", "CANCELLED"))
EVENT_NAMES = frozenset(("INSERT", "MODIFY", "REMOVE"))


class Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench"


def batch_of(width: int) -> dict:
    """One bad record in a hundred; `width` attributes per image (3 are the order's own)."""
    records = []
    for i in range(1, BATCH + 1):
        raw = record(i, "INSERT", new=order(str(i), amount=-1 if i % 100 == 0 else 10 + i % 7))
        for extra in range(width - 3):
            raw["dynamodb"]["NewImage"][f"note{extra}"] = {"M": {"text": {"S": "x" * 20}, "n": {"N": str(extra)}}}
        records.append(raw)
    return event(*records)


def _typed(image, name: str, type_: str):
    attribute = image.get(name)
    return attribute.get(type_) if isinstance(attribute, dict) and len(attribute) == 1 else None


def inline_rules(batch: dict) -> list[str]:
    """The floor: the consumer's rules written as one plain loop, no library, no logging."""
    failures, seen = [], set()
    for raw in batch["Records"]:
        change = raw.get("dynamodb")
        record_id = raw.get("eventID") or change["SequenceNumber"]
        if record_id in seen:
            continue
        ok = raw.get("eventName") in EVENT_NAMES
        image = change.get("NewImage") if isinstance(change, dict) else None
        if ok and raw["eventName"] == "REMOVE":
            keys = change.get("Keys")
            ok = isinstance(keys, dict) and isinstance(_typed(keys, "pk", "S"), str)
        elif ok:
            pk = _typed(image, "pk", "S") if isinstance(image, dict) else None
            text = _typed(image, "amount", "N") if pk else None
            ok = isinstance(pk, str) and pk.startswith("order#") and pk != "order#" and isinstance(text, str)
            try:
                amount = Decimal(text) if ok else None
            except InvalidOperation:
                amount = None
            ok = amount is not None and amount.is_finite() and amount > 0
            ok = ok and _typed(image, "status", "S") in STATUSES
        if ok:
            seen.add(record_id)
        else:
            failures.append(change["SequenceNumber"])
    return failures


def main() -> None:
    from lambda_failures.handlers import stream_consumer

    print(f"stream consumer, {BATCH}-record batch with 1% bad records (5 runs each, alternating)")
    for width in (3, 15):
        batch = batch_of(width)
        expected = [r["dynamodb"]["SequenceNumber"] for r in batch["Records"][99::100]]
        assert inline_rules(batch) == expected

        def handler(batch=batch, expected=expected):
            stream_consumer.processed = stream_consumer.ProcessedRecords()  # a fresh container each run
            response = stream_consumer.handler(batch, Context())
            assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == expected

        def floor(batch=batch, expected=expected):
            assert len(inline_rules(batch)) == len(expected)

        print(pair(f"handler, {width}-attribute images", *alternating(handler, floor)))


if __name__ == "__main__":
    main()
