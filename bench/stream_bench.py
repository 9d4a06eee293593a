"""Stream consumer throughput on a 10,000-record batch (the largest a DynamoDB mapping sends)."""

from common import median_seconds, row
from support.stream_events import event, order, record

BATCH = 10_000


class Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench"


def main() -> None:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from lambda_failures.handlers import stream_consumer

    # One bad record in a hundred, as a realistic mixed batch.
    records = [
        record(i, "INSERT", new=order(str(i), amount=-1 if i % 100 == 0 else 10 + i % 7)) for i in range(1, BATCH + 1)
    ]
    batch = event(*records)

    def bare_loop():
        return sum(1 for r in records if r["dynamodb"]["NewImage"]["amount"]["N"] != "-1")

    def domain_loop():
        for raw in records:
            try:
                stream_consumer.handle_record(DynamoDBRecord(raw))
            except stream_consumer.OrderRecordError:
                pass

    def handler():
        stream_consumer.processed = stream_consumer.ProcessedRecords()  # a fresh container each run
        response = stream_consumer.handler(batch, Context())
        assert len(response["batchItemFailures"]) == BATCH // 100

    print(f"stream consumer, {BATCH}-record batch with 1% bad records (median of 5 runs)")
    base = BATCH / median_seconds(bare_loop)
    print(row("bare loop over the same records", base / 1000, "krec/s"))
    print(row("handle_record loop (image deserialization)", BATCH / median_seconds(domain_loop) / 1000, "krec/s"))
    full = BATCH / median_seconds(handler) / 1000
    print(row("handler (BatchProcessor, partial response)", full, "krec/s"))
    print(f"  the handler runs at {full / (base / 1000):.3f}x the bare loop's rate")


if __name__ == "__main__":
    main()
