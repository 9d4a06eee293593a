"""Stream consumer throughput on a 10,000-record batch (the largest a DynamoDB mapping sends),
next to a bare loop doing the same decoding and validation, on narrow and wide images."""

from common import min_and_median, pair
from support.stream_events import event, order, record

BATCH = 10_000


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


def main() -> None:
    from lambda_failures.handlers import stream_consumer

    print(f"stream consumer, {BATCH}-record batch with 1% bad records (5 runs)")
    for width in (3, 15):
        batch = batch_of(width)

        def bare_loop(batch=batch):
            rejected = 0
            for raw in batch["Records"]:
                try:
                    stream_consumer.handle_record(raw)
                except stream_consumer.OrderRecordError:
                    rejected += 1
            return rejected

        def handler(batch=batch):
            stream_consumer.processed = stream_consumer.ProcessedRecords()  # a fresh container each run
            response = stream_consumer.handler(batch, Context())
            assert len(response["batchItemFailures"]) == BATCH // 100

        ours = min_and_median(handler)
        floor = min_and_median(bare_loop)
        print(pair(f"handler, {width}-attribute images", ours, floor))


if __name__ == "__main__":
    main()
